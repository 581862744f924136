"""Chapters on the edited timeline that YouTube accepts.

YouTube's rules: the first chapter starts at 0:00, there are at least three, and each lasts at
least 10 seconds. A video too short for three such chapters gets none. Boundaries are chosen from
evidence (shot changes, long pauses, cuts, topic changes in a transcript) near evenly spaced
targets; where the evidence has nothing near a target, the target itself is used.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

MIN_CHAPTER_S = 10.0
MIN_CHAPTERS = 3
MAX_CHAPTERS = 12
#: One chapter per this much video, before the limits above.
SECONDS_PER_CHAPTER = 90.0

#: How much each kind of evidence says "a new part starts here".
STRENGTH = {"topic": 1.0, "pause": 0.7, "cut": 0.6, "shot": 0.5}


@dataclass(frozen=True)
class Boundary:
    """A place on the edited timeline where a chapter could start, and why."""

    time_s: float
    kind: str  # topic | pause | cut | shot

    @property
    def strength(self) -> float:
        return STRENGTH.get(self.kind, 0.3)


@dataclass
class Chapter:
    start_s: float
    end_s: float
    title: str = ""
    evidence: str = "time"

    def to_dict(self) -> dict:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "start": timestamp(self.start_s, self.end_s),
            "title": self.title,
            "evidence": self.evidence,
        }


def chapter_count(duration_s: float) -> int:
    """How many chapters a video of ``duration_s`` gets (0 when three of 10 s do not fit)."""
    if duration_s < MIN_CHAPTERS * MIN_CHAPTER_S:
        return 0
    wanted = round(duration_s / SECONDS_PER_CHAPTER)
    return max(MIN_CHAPTERS, min(MAX_CHAPTERS, wanted, int(duration_s // MIN_CHAPTER_S)))


def plan_chapters(
    duration_s: float,
    boundaries: list[Boundary],
    count: int | None = None,
    transitions: list[tuple[float, float]] = (),
) -> list[Chapter]:
    """Chapter starts for a video of ``duration_s``: ``count`` chapters (by default from the
    duration), each boundary the strongest evidence near an evenly spaced target that keeps every
    chapter at least 10 s long, and none inside a gradual transition (``transitions``, on the
    same timeline). Returns no chapters when the rules cannot be met."""
    count = chapter_count(duration_s) if count is None else count
    if count < MIN_CHAPTERS or duration_s < count * MIN_CHAPTER_S:
        return []
    evidence = sorted(
        (b for b in boundaries if MIN_CHAPTER_S <= b.time_s <= duration_s - MIN_CHAPTER_S),
        key=lambda b: b.time_s,
    )
    starts: list[tuple[float, str]] = [(0.0, "start")]
    spacing = duration_s / count
    for k in range(1, count):
        previous = starts[-1][0]
        # Room for this chapter and every one after it, at 10 s each.
        low = previous + MIN_CHAPTER_S
        high = duration_s - (count - k) * MIN_CHAPTER_S
        if low > high + 1e-9:
            return []
        target = min(max(k * spacing, low), high)
        window = spacing * 0.45
        best, best_value = None, -math.inf
        for boundary in evidence:
            if not low <= boundary.time_s <= high or abs(boundary.time_s - target) > window:
                continue
            value = boundary.strength - 0.5 * abs(boundary.time_s - target) / window
            if value > best_value:
                best, best_value = boundary, value
        starts.append((best.time_s, best.kind) if best else (target, "time"))
    # Whole seconds, as the description shows them (flooring keeps every gap >= 10 s).
    starts = [(float(math.floor(start)), kind) for start, kind in starts]
    starts = clear_of_transitions(starts, transitions, duration_s)
    ends = [s for s, _ in starts[1:]] + [duration_s]
    chapters = [Chapter(start, end, evidence=kind) for (start, kind), end in zip(starts, ends, strict=True)]
    return chapters if not problems(chapters, duration_s) else []


def clear_of_transitions(
    starts: list[tuple[float, str]], transitions: list[tuple[float, float]], duration_s: float
) -> list[tuple[float, str]]:
    """Chapter starts moved out of gradual transitions: to the first whole second after one
    (the new shot in full view), else the last before it, where the 10 s rule allows."""
    moved = list(starts)
    for index in range(1, len(moved)):
        start, kind = moved[index]
        inside = next(((a, b) for a, b in transitions if a < start < b), None)
        if inside is None:
            continue
        low = moved[index - 1][0] + MIN_CHAPTER_S
        high = (moved[index + 1][0] if index + 1 < len(moved) else duration_s) - MIN_CHAPTER_S
        for candidate in (float(math.ceil(inside[1])), float(math.floor(inside[0]))):
            if low <= candidate <= high:
                moved[index] = (candidate, kind)
                break
    return moved


def problems(chapters: list[Chapter], duration_s: float) -> list[str]:
    """What makes ``chapters`` invalid for YouTube (empty when valid; no chapters is valid)."""
    if not chapters:
        return []
    found = []
    if chapters[0].start_s != 0:
        found.append("the first chapter must start at 0:00")
    if len(chapters) < MIN_CHAPTERS:
        found.append(f"at least {MIN_CHAPTERS} chapters are needed, got {len(chapters)}")
    ends = [c.start_s for c in chapters[1:]] + [duration_s]
    for index, (chapter, end) in enumerate(zip(chapters, ends, strict=True), start=1):
        if chapter.start_s >= duration_s:
            found.append(f"chapter {index} starts after the end of the video")
        elif end - chapter.start_s < MIN_CHAPTER_S - 1e-6:
            found.append(
                f"chapter {index} lasts {end - chapter.start_s:.2f} s (at least {MIN_CHAPTER_S:g} s)"
            )
    # The description shows whole seconds: two starts must not read the same.
    shown = [timestamp(c.start_s, duration_s) for c in chapters]
    if len(set(shown)) != len(shown):
        found.append("two chapters start in the same second")
    return found


def timestamp(time_s: float, duration_s: float) -> str:
    """``MM:SS``, or ``H:MM:SS`` for videos of an hour or more (whole seconds, rounded down)."""
    total = int(time_s)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if duration_s >= 3600:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


def chapter_text(chapters: list[Chapter], duration_s: float) -> str:
    """The description-ready list, one ``00:00 Title`` per line."""
    return "\n".join(f"{timestamp(c.start_s, duration_s)} {c.title}" for c in chapters)


_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "all",
        "any",
        "can",
        "her",
        "was",
        "one",
        "our",
        "out",
        "day",
        "get",
        "has",
        "him",
        "his",
        "how",
        "man",
        "new",
        "now",
        "old",
        "see",
        "two",
        "way",
        "who",
        "boy",
        "did",
        "its",
        "let",
        "put",
        "say",
        "she",
        "too",
        "use",
        "that",
        "with",
        "have",
        "this",
        "will",
        "your",
        "from",
        "they",
        "know",
        "want",
        "been",
        "good",
        "much",
        "some",
        "time",
        "very",
        "when",
        "come",
        "here",
        "just",
        "like",
        "long",
        "make",
        "many",
        "more",
        "only",
        "over",
        "such",
        "take",
        "than",
        "them",
        "well",
        "were",
        "what",
        "into",
        "also",
        "back",
        "then",
        "there",
        "their",
        "would",
        "about",
        "which",
        "these",
        "those",
        "could",
        "other",
        "after",
        "first",
        "going",
        "really",
        "thing",
        "things",
        "because",
        "right",
        "yeah",
        "okay",
        "gonna",
        "where",
        "being",
        "does",
        "doing",
        "dont",
        "it's",
        "i'm",
        "we're",
        "you're",
        "that's",
        "let's",
        "here's",
        "there's",
    ]
)


def keywords(text: str, count: int = 8, exclude: frozenset[str] = STOPWORDS) -> list[str]:
    """The most frequent content words of ``text`` (ties in order of first use)."""
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    words = [w for w in words if w not in exclude and len(w) > 2]
    order = {w: i for i, w in reversed(list(enumerate(words)))}
    ranked = sorted(Counter(words).items(), key=lambda kv: (-kv[1], order[kv[0]]))
    return [w for w, _ in ranked[:count]]


def topic_changes(
    segments: list[tuple[float, float, str]], window_s: float = 45.0, step_s: float = 5.0, top: int = 8
) -> list[float]:
    """Where a transcript's vocabulary changes most (TextTiling's lexical cohesion): at each
    step, the cosine similarity of the words in the window before and after; boundaries are the
    deepest valleys, returned as edited-timeline times."""
    if not segments:
        return []
    end = segments[-1][1]
    scores: list[tuple[float, float]] = []
    time_s = window_s
    while time_s < end - window_s / 2:
        before = Counter(_content_words(segments, time_s - window_s, time_s))
        after = Counter(_content_words(segments, time_s, time_s + window_s))
        if before and after:
            dot = sum(before[w] * after[w] for w in before)
            norm = math.sqrt(sum(v * v for v in before.values()) * sum(v * v for v in after.values()))
            scores.append((time_s, dot / norm))
        time_s += step_s
    valleys = [
        (t, s)
        for i, (t, s) in enumerate(scores)
        if 0 < i < len(scores) - 1 and s <= scores[i - 1][1] and s <= scores[i + 1][1]
    ]
    valleys.sort(key=lambda ts: ts[1])
    return sorted(t for t, _ in valleys[:top])


def _content_words(segments: list[tuple[float, float, str]], start: float, end: float) -> list[str]:
    text = " ".join(t for a, b, t in segments if a < end and b > start)
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS]
