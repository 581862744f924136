"""Dissolves as the picture scan sees them, before the shot model runs: stretches where the
picture moves steadily from one picture to another, each frame a blend of the two.

On the coarse colour grid (``raybatch.analysis.motion``) a dissolve is a straight path: every
step points the same way (from the first picture towards the second), the steps stand out from
the picture's own change beside the stretch, and every frame on the way lies near the line
between its two ends. Titles fading in or out over a shot are blends too: segment seams keep
out of them as well. The shot model's all-frames head, which runs later, remains the source of
``analysis.json``'s transitions; these spans only keep the seams out (a dissolve over a busy
picture can break the path, and then only the shot model finds it).
"""

from __future__ import annotations

import numpy as np

from raybatch.analysis.edl import Span
from raybatch.analysis.motion import PictureMotion
from raybatch.analysis.wipes import MIN_WIPE_FRAMES, joins_two_pictures

#: Consecutive steps of a blend point the same way: their cosine is at least this.
MIN_STEP_COSINE = 0.7
#: A blend's step is at least this (colour levels per grid cell) and this many times the
#: picture's own change beside it (the median over 55 frames either side, the calmer side).
MIN_STEP, MIN_STEP_OVER_LEVEL = 0.5, 2.0
LEVEL_NEAR, LEVEL_FAR = 5, 60
#: Steady runs this close are one blend (a busy picture breaks a long one into pieces).
JOIN_GAP = 4
#: Frames of a blend lie this near (a share of the distance between its ends) to the line.
MAX_BLEND_RESIDUAL = 0.2


def steps_of(grid: np.ndarray) -> np.ndarray:
    """``[T-1, D]``: how the coarse grid changes from each frame to the next."""
    flat = grid.reshape(len(grid), -1).astype(np.float32)
    return np.diff(flat, axis=0)


def calm_level(sizes: np.ndarray) -> np.ndarray:
    """Each step's typical size beside it: the smaller of the medians of the steps 5 to 60
    frames before and 5 to 60 frames after (a long blend fills one side, not both); the first
    and last steps stand in for those beyond the video's ends."""
    count, width = len(sizes), LEVEL_FAR - LEVEL_NEAR
    padded = np.pad(sizes.astype(np.float32), LEVEL_FAR, mode="edge")
    medians = np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
    before, after = medians[:count], medians[LEVEL_FAR + LEVEL_NEAR : LEVEL_FAR + LEVEL_NEAR + count]
    return np.minimum(before, after)


def steady_runs(steps: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end]`` frames over which every step is large and points as the one before;
    runs a few frames apart that continue one another (same way, steps of a size) are one."""
    sizes = np.linalg.norm(steps, axis=1) / np.sqrt(steps.shape[1])
    large = (sizes >= MIN_STEP) & (sizes >= MIN_STEP_OVER_LEVEL * calm_level(sizes))
    norms = np.linalg.norm(steps, axis=1) + 1e-6
    cosine = np.sum(steps[1:] * steps[:-1], axis=1) / (norms[1:] * norms[:-1])
    agree = np.r_[False, (cosine >= MIN_STEP_COSINE) & large[1:] & large[:-1], False]
    # Steps i-1 and i agree: frames i-1 to i+1 are on the way. A run of agreeing i from A to B
    # rises at A-1 and falls at B, so its frames are the rise to the fall plus one.
    edges = np.flatnonzero(np.diff(agree.astype(np.int8)))
    runs = [(int(rise), int(fall) + 1) for rise, fall in zip(edges[::2], edges[1::2], strict=True)]
    runs = [(a, b) for a, b in runs if b - a >= MIN_WIPE_FRAMES]
    joined: list[tuple[int, int]] = []
    for run in runs:
        if joined and continues(steps, joined[-1], run):
            joined[-1] = (joined[-1][0], run[1])
        else:
            joined.append(run)
    return joined


def continues(steps: np.ndarray, before: tuple[int, int], after: tuple[int, int]) -> bool:
    """Whether ``after`` carries on the blend of ``before`` across a short gap: the same way,
    in steps of a similar size."""
    if after[0] - before[1] > JOIN_GAP:
        return False
    first, second = steps[before[0] : before[1]], steps[after[0] : after[1]]
    way_a, way_b = first.sum(axis=0), second.sum(axis=0)
    cosine = float(way_a @ way_b / (np.linalg.norm(way_a) * np.linalg.norm(way_b) + 1e-6))
    size_a, size_b = (float(np.median(np.linalg.norm(part, axis=1))) for part in (first, second))
    return cosine >= MIN_STEP_COSINE and max(size_a, size_b) <= 2 * min(size_a, size_b)


def blend_residual(grid: np.ndarray, start: int, end: int) -> float:
    """How far the frames between ``start`` and ``end`` lie from the line joining the two, as a
    share of the distance between them."""
    flat = grid[start : end + 1].reshape(end + 1 - start, -1).astype(np.float32)
    first, direction = flat[0], flat[-1] - flat[0]
    length = float(np.linalg.norm(direction))
    if length == 0.0:
        return float("inf")
    between = flat[1:-1]
    along = np.clip((between - first) @ direction / length**2, 0.0, 1.0)
    off_line = np.linalg.norm(between - (first + along[:, None] * direction), axis=1)
    return float(off_line.mean() / length) if len(between) else 0.0


def blend_spans(motion: PictureMotion, fps: float) -> list[Span]:
    """Dissolves (and titles fading in or out) the picture scan sees, in seconds."""
    grid = motion.grid
    if len(grid) <= MIN_WIPE_FRAMES + 1:
        return []
    return [
        (start / fps, end / fps)
        for start, end in steady_runs(steps_of(grid))
        if blend_residual(grid, start, end) <= MAX_BLEND_RESIDUAL and joins_two_pictures(grid, start, end)
    ]
