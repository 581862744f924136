"""Wipes and slides: transitions where a straight edge crosses the frame, found as spans from the
picture's motion (``raybatch.analysis.motion``). The shot model sees neither: on generated 5 to
50-frame wipes its all-frames head stays under 0.06 for the long ones.

- A **wipe** leaves a line in the change image (time against column, or against row): each
  column changes once, sharply, when the edge passes it, and the edge passes the columns in
  order at a steady speed, from one side of the frame to the other. The search tries every line
  from edge to edge of 4 frames to ``MAX_TRANSITION_S`` long.
- A **slide** (a push) moves the whole picture one frame's width (or height) at a steady speed,
  starting and stopping at once: a run of equal shifts adding up to the frame.

Either must join two different pictures: the frames on both sides of the span differ much more
than the picture changes over as many frames on either side (a bar crossing a still background
draws the same line, and leaves the picture as it was).
"""

from __future__ import annotations

import numpy as np

from raybatch.analysis.edl import Span, merge_spans
from raybatch.analysis.motion import PictureMotion

#: Longest transition searched for.
MAX_TRANSITION_S = 3.0
#: Shorter lines are hard cuts (a cut fills every column of one frame).
MIN_WIPE_FRAMES = 4
#: A column "changes" at a frame where its change is this many times its local level.
CHANGE_OVER_LEVEL = 3.0
#: Added to a column's local level (pixel values): a still column's tiny changes stay small.
LEVEL_FLOOR = 2.0
#: Frames over which a column's local level of change is its median.
LEVEL_BLOCK, LEVEL_BLOCKS = 10, 5
#: A wipe's line: the share of columns changing on it (within a frame), and at most the share
#: changing three frames off it (a dissolve or a busy picture changes everywhere).
MIN_ON_LINE, MAX_OFF_LINE = 0.8, 0.3
#: A slide: at least this shift per frame (pixels of the small frame), steady within this spread,
#: adding up to a frame's length within these bounds.
MIN_SLIDE_SPEED, MAX_SLIDE_SPREAD, SLIDE_TRAVEL = 0.3, 0.3, (0.8, 1.25)
#: Frames a slow slide may stand still for (it moves less than a pixel now and then).
SLIDE_PAUSE = 2
#: The pictures either side of a span differ this many times more than the picture changes
#: over as many frames (at most 10) beside it, and by at least this much (colour levels).
MIN_CONTRAST, MIN_DIFFERENCE = 3.0, 12.0
#: Inside a wipe, this share of the cells that tell its ends apart match one end or the other
#: (within this share of the difference between the ends).
MIN_SPLIT_SHARE, MATCH_SHARE = 0.6, 0.25


def local_level(change: np.ndarray) -> np.ndarray:
    """Each column's typical change around each frame: the median of 10-frame block medians over
    about two seconds (a running median, at a fiftieth of its cost)."""
    count, width = change.shape
    blocks = -(-count // LEVEL_BLOCK)
    padded = np.pad(change.astype(np.float32), ((0, blocks * LEVEL_BLOCK - count), (0, 0)), mode="edge")
    block_median = np.median(padded.reshape(blocks, LEVEL_BLOCK, width), axis=1)
    half = LEVEL_BLOCKS // 2
    around = np.pad(block_median, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(around, LEVEL_BLOCKS, axis=0)
    return np.repeat(np.median(windows, axis=-1), LEVEL_BLOCK, axis=0)[:count]


def shifted(values: np.ndarray, offset: int) -> np.ndarray:
    """``values[t + offset]`` at ``t`` (zero past either end)."""
    out = np.zeros_like(values)
    if abs(offset) >= len(values):
        return out
    if offset >= 0:
        out[: len(values) - offset] = values[offset:]
    else:
        out[-offset:] = values[: len(values) + offset]
    return out


def crossing_offsets(width: int, frames: int, forwards: bool) -> np.ndarray:
    """The frame (1 to ``frames``) at which an edge sweeping the frame in ``frames`` frames
    passes each column."""
    position = (np.arange(width) + 0.5) / width
    return np.floor((position if forwards else 1 - position) * frames).astype(int) + 1


def wipe_lines(change: np.ndarray, max_frames: int) -> list[tuple[float, float, int, int]]:
    """Every edge-to-edge line through the change image ``[T, W]`` with enough columns changing
    on it and few off it: ``(on - off, strength, start frame, frames)``."""
    ratio = change.astype(np.float32) / (local_level(change) + LEVEL_FLOOR)
    hit = (ratio >= CHANGE_OVER_LEVEL).astype(np.float32)
    near = np.maximum(hit, np.maximum(shifted(hit, 1), shifted(hit, -1)))  # a frame either way
    count, width = change.shape
    lines = []
    for frames in range(MIN_WIPE_FRAMES, max_frames + 1):
        for forwards in (True, False):
            offsets = crossing_offsets(width, frames, forwards)
            on = sum(shifted(near[:, x], o) for x, o in enumerate(offsets)) / width
            starts = np.nonzero(on[: max(0, count - frames)] >= MIN_ON_LINE)[0]
            if not len(starts):
                continue
            before, after = np.maximum(starts - 3, 0), np.minimum(starts + 3, count - frames - 1)
            off = sum(0.5 * (hit[before + o, x] + hit[after + o, x]) for x, o in enumerate(offsets)) / width
            strength = sum(ratio[starts + o, x] for x, o in enumerate(offsets)) / width
            for start, off_line, strong in zip(starts, off, strength, strict=True):
                if off_line <= MAX_OFF_LINE:
                    lines.append((float(on[start] - off_line), float(strong), int(start), frames))
    return lines


def strongest_apart(lines: list[tuple[float, float, int, int, int]]) -> list[tuple[int, int, int]]:
    """The best lines (by fit, then strength) that do not overlap, as ``(start, end, axis)``:
    ``[start, end]`` frames and the axis (0 across columns, 1 across rows) the line was drawn
    on."""
    chosen: list[tuple[int, int, int]] = []
    for _, _, start, frames, axis in sorted(lines, key=lambda line: (-line[0], -line[1])):
        end = start + frames
        if all(end < a or start > b for a, b, _ in chosen):
            chosen.append((start, end, axis))
    return sorted(chosen)


def carries_one_frame(shifts: np.ndarray, length: int) -> bool:
    """Whether these per-frame shifts are a slide's: at least ``MIN_WIPE_FRAMES`` of them,
    steady, adding up to one frame's ``length``."""
    shifts = np.nan_to_num(shifts)
    if len(shifts) < MIN_WIPE_FRAMES or not shifts.any():
        return False
    travel = abs(shifts.sum()) / length
    steady = shifts.std() / abs(shifts.mean()) <= MAX_SLIDE_SPREAD
    return bool(steady and SLIDE_TRAVEL[0] <= travel <= SLIDE_TRAVEL[1])


def paused(moving: np.ndarray, index: int, last_moving: int) -> bool:
    """Whether the picture stands still at ``index`` for no longer than a slide may pause."""
    return not moving[index] and index - last_moving <= SLIDE_PAUSE


def slide_runs(shift: np.ndarray, length: int) -> list[tuple[int, int]]:
    """``[start, end]`` frames of steady shifts that carry the picture one frame's ``length``
    (a pause of a frame or two, where a slow slide moves less than a pixel, does not end one)."""
    shift = np.nan_to_num(shift)
    moving = np.where(np.abs(shift) >= MIN_SLIDE_SPEED, np.sign(shift), 0)
    runs = []
    index, count = 1, len(shift)
    while index < count:
        sign = moving[index]
        if not sign:
            index += 1
            continue
        first = last = index
        while index < count and (moving[index] == sign or paused(moving, index, last)):
            last = index if moving[index] == sign else last
            index += 1
        if carries_one_frame(shift[first : last + 1], length):
            runs.append((first - 1, last))
        index = last + 1
    return runs


def joins_two_pictures(grid: np.ndarray, start: int, end: int) -> bool:
    """Whether the frames either side of ``[start, end]`` show different pictures."""
    last = len(grid) - 1
    if start < 0 or end > last:
        return False
    reach = min(10, end - start)

    def difference(a: int, b: int) -> float:
        return float(np.abs(grid[a].astype(np.float32) - grid[b]).mean())

    across = difference(start, end)
    beside = max(difference(max(0, start - reach), start), difference(end, min(last, end + reach)))
    return across >= MIN_DIFFERENCE and across >= MIN_CONTRAST * beside


def splits_in_two(grid: np.ndarray, start: int, end: int) -> bool:
    """Whether the frames inside ``[start, end]`` are each part one end, part the other, as a
    wipe's are (a fade's or a dissolve's lie between the two): at a quarter, half and three
    quarters of the way, most grid cells that differ between the ends match one of them."""
    first, last = grid[start].astype(np.float32), grid[end].astype(np.float32)
    apart = np.abs(last - first).mean(axis=-1)
    telling = apart >= MIN_DIFFERENCE
    if not telling.any():
        return False
    for fraction in (0.25, 0.5, 0.75):
        frame = grid[start + round((end - start) * fraction)].astype(np.float32)
        nearest = np.minimum(np.abs(frame - first).mean(axis=-1), np.abs(frame - last).mean(axis=-1))
        if np.mean(nearest[telling] <= MATCH_SHARE * apart[telling]) < MIN_SPLIT_SHARE:
            return False
    return True


def wipe_spans(motion: PictureMotion, fps: float) -> list[Span]:
    """Wipes and slides (seconds), across the frame either way, horizontal or vertical."""
    max_frames = min(round(MAX_TRANSITION_S * fps), motion.frames - 2)
    lines, slides = [], []
    axes = ((motion.columns, motion.shift_x), (motion.rows, motion.shift_y))
    for axis, (change, shift) in enumerate(axes):
        if len(change) > MIN_WIPE_FRAMES:
            lines += [(*line, axis) for line in wipe_lines(change, max_frames)]
            slides += slide_runs(shift, change.shape[1])
    # A line is a wipe's when the frames on it are split between its ends, and a slide's seam
    # when the picture shifts one frame along it (which tells a slide's start from a moving
    # picture's drift before it, where the run of shifts alone cannot).
    wipes = [
        (start, end)
        for start, end, axis in strongest_apart(lines)
        if splits_in_two(motion.grid, start, end)
        or carries_one_frame(axes[axis][1][start + 1 : end + 1], axes[axis][0].shape[1])
    ]
    found = merge_spans([span for span in wipes + slides if joins_two_pictures(motion.grid, *span)])
    return [(a / fps, b / fps) for a, b in found]
