"""Which episode each video of a series is: the episode marks in file names (``S01E02``,
``ep 3``, ``part three``, ``lesson 4``, ``course_01``, a leading ``10 - ``, a date), the order
they give, and the numbers the series uses.

Pure: names in, episodes out. The numbers follow the marks when every episode has one and no two
share it; otherwise episodes are numbered 1, 2, 3... in natural order of their names (``ep2``
before ``ep10``), and an explicit ``series.episodes`` list overrides both.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass

from raybatch.jobs.discover import natural_key

#: Numbers written as words after an episode word ("part three").
_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
NUMBER_WORDS = {word: value for value, word in enumerate(_WORDS)}
_EPISODE_WORDS = r"ep|episode|part|pt|lesson|lecture|chapter|module|unit|session|class|day|week|no|number"
_NUMBER = r"\d{1,4}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
# Underscores separate words in file names: no letter or digit may touch a mark ("python_ep03").
_SEASON_EPISODE = re.compile(
    r"(?<![a-z])s(?P<season>\d{1,2})[\s._-]*e(?P<episode>\d{1,4})(?!\d)", re.IGNORECASE
)
_WORD_EPISODE = re.compile(
    rf"(?<![a-z])(?:{_EPISODE_WORDS})[\s._#-]*(?P<episode>{_NUMBER})(?![a-z0-9])", re.IGNORECASE
)
# A bare number leads or ends the name ("10 - wrap up", "course_01"); four digits are a year.
_LEADING = re.compile(r"^\s*(?P<episode>\d{1,3})(?=[\s._-]|$)")
_TRAILING = re.compile(r"(?<=[A-Za-z][\s._-])(?P<episode>\d{1,3})$")
_DATE = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})[-_.]?(?P<month>[01]\d)[-_.]?(?P<day>[0-3]\d)(?!\d)")


@dataclass(frozen=True)
class EpisodeMark:
    """What a file name says about its place in a series."""

    season: int | None = None
    episode: int | None = None
    date: str | None = None  # YYYY-MM-DD

    @property
    def sort_key(self) -> tuple:
        return (self.season or 0, self.episode if self.episode is not None else -1, self.date or "")


def find_mark(text: str) -> tuple[EpisodeMark, int, int] | None:
    """The episode mark in ``text`` (a file name's words) and where it stands, if any."""
    text = unicodedata.normalize("NFKC", text)
    date = _DATE.search(text)
    iso = f"{date['year']}-{date['month']}-{date['day']}" if date else None
    # The date blanked out (not removed: the mark's place must stay a place in ``text``).
    searched = text if not date else text[: date.start()] + " " * len(date[0]) + text[date.end() :]
    found = _SEASON_EPISODE.search(searched)
    if found:
        return EpisodeMark(int(found["season"]), int(found["episode"]), iso), found.start(), found.end()
    for pattern in (_WORD_EPISODE, _LEADING, _TRAILING):
        found = pattern.search(searched.rstrip())
        if found:
            value = found["episode"].casefold()
            number = int(value) if value.isdigit() else NUMBER_WORDS[value]
            return EpisodeMark(None, number, iso), found.start(), found.end()
    return (EpisodeMark(date=iso), date.start(), date.end()) if date else None


def episode_mark(name: str) -> EpisodeMark:
    """The episode mark in a file name or path (its last part); an empty mark if none."""
    stem = posixpath.splitext(posixpath.basename(name.replace("\\", "/")))[0]
    found = find_mark(stem)
    return found[0] if found else EpisodeMark()


@dataclass(frozen=True)
class Episode:
    """One video's place in the series: its 1-based position and the number it goes by."""

    relative_path: str
    position: int
    number: int
    season: int | None = None

    def to_dict(self) -> dict:
        return {
            "path": self.relative_path,
            "position": self.position,
            "episode": self.number,
            "season": self.season,
        }


def order_episodes(relative_paths: list[str], explicit: list[str] | None = None) -> list[Episode]:
    """The videos in series order, numbered.

    ``explicit`` (``series.episodes``) lists file names or relative paths first to last; the
    videos it does not name follow in their natural order."""
    marks = {path: episode_mark(path) for path in relative_paths}
    if explicit:
        ranked = {name: index for index, name in enumerate(explicit)}

        def place(path: str) -> tuple:
            rank = ranked.get(path, ranked.get(posixpath.basename(path)))
            return (0, rank, []) if rank is not None else (1, 0, natural_key(path))

        ordered = sorted(relative_paths, key=place)
    elif all(m.episode is not None or m.date for m in marks.values()):
        ordered = sorted(relative_paths, key=lambda p: (marks[p].sort_key, natural_key(p)))
    else:
        ordered = sorted(relative_paths, key=natural_key)
    numbered = not explicit and unique_marks([marks[p] for p in ordered])
    any_season = any(marks[p].season is not None for p in ordered)
    return [
        Episode(
            relative_path=path,
            position=index,
            number=marks[path].episode if numbered else index,  # type: ignore[arg-type]
            season=marks[path].season if numbered and any_season else None,
        )
        for index, path in enumerate(ordered, start=1)
    ]


def unique_marks(marks: list[EpisodeMark]) -> bool:
    """Whether every mark has an episode number and no two share season and number."""
    keys = [(m.season, m.episode) for m in marks]
    return all(m.episode is not None for m in marks) and len(set(keys)) == len(keys)
