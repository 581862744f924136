"""The shapes of analysis results as the cache stores them.

A cache entry is read back from disk, where anyone may have edited it: an entry that does not
fit its shape is a miss (the video is analysed again), never a crash or a wrong edit later.
Only what the edit and the reports read is checked; the rest passes through.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Span = tuple[Seconds, Seconds]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class _Shot(_Entry):
    frame: Annotated[int, Field(ge=0)]
    time_s: Seconds


class ShotsEntry(_Entry):
    """What shot detection stores."""

    shots: list[_Shot]
    transitions: list[Span] = []


class PictureEntry(_Entry):
    """What the picture analysis stores."""

    frames: Annotated[int, Field(ge=0)]
    content_cuts: list[Annotated[int, Field(ge=0)]] = []
    black: list[Span] = []
    frozen: list[Span] = []
    fades: list[Span] = []
    wipes: list[Span] = []
    dissolves: list[Span] = []
    statistics: dict[str, float | int | None] | None = None


class SoundEntry(_Entry):
    """What the sound analysis stores."""

    has_audio: bool
    speech: list[Span] = []
    silences: list[Span] = []
    loudnorm: dict[str, float | None] | None = None


def entry_problem(entry: dict[str, Any], shape: type[BaseModel]) -> str | None:
    """Why ``entry`` does not fit ``shape`` (the first field and what is wrong), or ``None``."""
    try:
        shape.model_validate(entry)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        return f"{field}: {problem['msg']}"
    return None


check_shots = partial(entry_problem, shape=ShotsEntry)
check_picture = partial(entry_problem, shape=PictureEntry)
check_sound = partial(entry_problem, shape=SoundEntry)
