"""How the picture moves from frame to frame, measured on the 48x27 frames of the analysis decode:
where it changes (per column and per row) and how far it shifts as a whole (sideways and up or
down), and a coarse colour grid of each frame. Wipes and slides are read off these
(``raybatch.analysis.wipes``), and so are dissolves before the shot model runs
(``raybatch.analysis.blends``).

Accumulated chunk by chunk as the decode delivers frames: a few numbers per frame, whatever the
video's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Frame bands averaged into the profiles a shift is measured on (detail across the motion).
PROFILE_BANDS = 3
#: A shift is measured up to this fraction of the frame's width (or height) per frame.
MAX_SHIFT_FRACTION = 1 / 3
#: A profile whose matching error barely depends on the shift (a flat picture) has no shift.
MIN_SHIFT_CONTRAST = 0.1
#: Rows and columns of the coarse colour grid that tells two pictures apart.
GRID = (3, 6)


@dataclass
class PictureMotion:
    """Per frame (the first frame's entries are zero): mean absolute change from the frame
    before in each column ``[T, W]`` and each row ``[T, H]``, and the whole picture's shift from
    the frame before in pixels of the small frame (``NaN`` where the picture has too little
    detail to tell, or moved further than can be measured); and each frame's mean colour on a
    3x6 grid ``[T, 3, 6, 3]``, which tells whether two frames far apart show the same picture."""

    columns: np.ndarray
    rows: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    grid: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.columns)


def colour_grid(frames: np.ndarray) -> np.ndarray:
    """``[n, 3, 6, 3]``: the mean colour of each cell of a coarse grid over ``[n, H, W, 3]``."""
    count, height, width, _ = frames.shape
    rows, columns = GRID
    cropped = frames[:, : height - height % rows, : width - width % columns].astype(np.float32)
    return cropped.reshape(count, rows, height // rows, columns, width // columns, 3).mean(axis=(2, 4))


def band_profiles(frames: np.ndarray, axis: str) -> np.ndarray:
    """``[n, L, D]``: each column (``axis="x"``) or row (``"y"``) of ``[n, H, W, 3]`` frames as
    the mean colour of ``PROFILE_BANDS`` bands across it."""
    frames = frames.astype(np.float32)
    count, height, width, _ = frames.shape
    if axis == "x":
        usable = height - height % PROFILE_BANDS
        banded = frames[:, :usable].reshape(count, PROFILE_BANDS, -1, width, 3).mean(axis=2)
        return banded.transpose(0, 2, 1, 3).reshape(count, width, -1)
    usable = width - width % PROFILE_BANDS
    banded = frames[:, :, :usable].reshape(count, height, PROFILE_BANDS, -1, 3).mean(axis=3)
    return banded.reshape(count, height, -1)


def profile_shifts(profiles: np.ndarray) -> np.ndarray:
    """Shift of each profile from the one before (``[n+1, L, D]`` in, ``n`` out): the offset
    ``d`` minimising ``|p[t][x] - p[t-1][x + d]|`` over the overlap, refined to a fraction of a
    pixel on the error's parabola; ``NaN`` where the error hardly varies with the offset or the
    best offset is the largest measured."""
    current, previous = profiles[1:], profiles[:-1]
    length = profiles.shape[1]
    reach = max(1, int(length * MAX_SHIFT_FRACTION))
    offsets = np.arange(-reach, reach + 1)

    def error(d: int) -> np.ndarray:
        now = current[:, max(0, -d) : length - max(0, d)]
        before = previous[:, max(0, d) : length - max(0, -d)]
        return np.abs(now - before).mean(axis=(1, 2))

    errors = np.stack([error(d) for d in offsets], axis=1)
    best = errors.argmin(axis=1)
    inner = np.clip(best, 1, len(offsets) - 2)
    rows = np.arange(len(best))
    below, at, above = errors[rows, inner - 1], errors[rows, inner], errors[rows, inner + 1]
    curvature = below - 2 * at + above
    fraction = np.where(curvature > 1e-6, 0.5 * (below - above) / np.maximum(curvature, 1e-6), 0.0)
    shift = offsets[best] + np.where(best == inner, fraction, 0.0)
    contrast = (errors.mean(axis=1) - errors.min(axis=1)) / (errors.mean(axis=1) + 1.0)
    unknown = (contrast < MIN_SHIFT_CONTRAST) | (best == 0) | (best == len(offsets) - 1)
    return np.where(unknown, np.nan, shift).astype(np.float32)


@dataclass
class MotionTrack:
    """Accumulates :class:`PictureMotion` over frames arriving in chunks, in order."""

    _columns: list[np.ndarray] = field(default_factory=list)
    _rows: list[np.ndarray] = field(default_factory=list)
    _shift_x: list[np.ndarray] = field(default_factory=list)
    _shift_y: list[np.ndarray] = field(default_factory=list)
    _grid: list[np.ndarray] = field(default_factory=list)
    _previous: np.ndarray | None = None

    def add(self, frames: np.ndarray) -> None:
        """``[n, H, W, 3]`` frames, the next ones of the video."""
        if not len(frames):
            return
        joined = frames if self._previous is None else np.concatenate([self._previous[None], frames])
        change = np.abs(np.diff(joined.astype(np.int16), axis=0)).astype(np.float32)
        first = self._previous is None
        if first:  # the first frame changes from nothing
            change = np.concatenate([np.zeros((1, *change.shape[1:]), np.float32), change])
        # float16: a change image of a two-hour video stays a few tens of MB.
        self._columns.append(change.mean(axis=(1, 3)).astype(np.float16))
        self._rows.append(change.mean(axis=(2, 3)).astype(np.float16))
        for axis, out in (("x", self._shift_x), ("y", self._shift_y)):
            shifts = profile_shifts(band_profiles(joined, axis))
            out.append(np.concatenate([[np.nan], shifts]).astype(np.float32) if first else shifts)
        self._grid.append(colour_grid(frames).astype(np.float16))
        self._previous = frames[-1]

    def motion(self) -> PictureMotion:
        """What the frames added so far show (empty arrays before any frame)."""

        def joined(parts: list[np.ndarray], *shape: int) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros((0, *shape), np.float32)

        return PictureMotion(
            columns=joined(self._columns, 0),
            rows=joined(self._rows, 0),
            shift_x=joined(self._shift_x),
            shift_y=joined(self._shift_y),
            grid=joined(self._grid, *GRID, 3),
        )
