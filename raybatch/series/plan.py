"""The series a job's videos make, fixed when the run starts: its name and each video's episode.

Known before any video is processed (the file names are all it needs), so every stage of the run
can title and number its episode; resume and retry see the same plan, since it depends on the
job's whole list of videos, not on the ones a run takes.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from raybatch.package.writers import series_and_episode, title_case
from raybatch.series.episodes import Episode, order_episodes


@dataclass(frozen=True)
class SeriesPlan:
    """The series' name and its episodes by video key, in order."""

    name: str
    episodes: dict[str, Episode] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.episodes)

    def episode_of(self, key: str) -> Episode | None:
        return self.episodes.get(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "episodes": {key: episode.to_dict() for key, episode in self.episodes.items()},
        }


def series_name(relative_paths: list[str], input_uri: str | None) -> str:
    """A name for a series nobody named: the words before the episode marks when most files
    share them (``python_tutorial_ep03`` -> Python Tutorial), else the input folder's name."""
    named = Counter(series_and_episode(posixpath.basename(p))[0] for p in relative_paths)
    named.pop(None, None)
    if named:
        name, count = named.most_common(1)[0]
        if count * 2 > len(relative_paths):
            return name
    folder = posixpath.basename((input_uri or "").rstrip("/").split("://")[-1])
    words = " ".join(folder.replace("_", " ").replace("-", " ").split())
    return title_case(words) if words else "Series"


def plan_series(
    videos: dict[str, dict[str, Any]], *, name: str | None, explicit: list[str] | None, input_uri: str | None
) -> SeriesPlan:
    """The series plan of a job's ``videos`` (its manifest's entries, by key)."""
    by_path = {video["relative_path"]: key for key, video in videos.items()}
    episodes = order_episodes(list(by_path), explicit)
    return SeriesPlan(
        name=name or series_name(list(by_path), input_uri),
        episodes={by_path[episode.relative_path]: episode for episode in episodes},
    )
