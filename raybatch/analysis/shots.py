"""Shot boundaries: TransNetV2's windowing, and its fusion with a content-difference signal.

TransNetV2 sees 100-frame windows that advance by 50 frames and keeps the middle 50 predictions
of each (its authors' scheme): the clip is padded with 25 copies of its first frame and enough
copies of its last to fill the final window. The model alone misses very short shots and some
gradual transitions; a cut that the HSV content difference shows plainly (a spike far above its
neighbours) is added even when the model's probability is low.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

WINDOW = 100
STRIDE = 50
CONTEXT = 25  # frames of context on each side of the 50 a window predicts


def padded_length(frame_count: int) -> tuple[int, int]:
    """Frames of padding (before, after) so that windows of 100 advancing by 50 cover every
    frame's prediction exactly once."""
    remainder = frame_count % STRIDE
    return CONTEXT, CONTEXT + STRIDE - (remainder if remainder else STRIDE)


def window_starts(frame_count: int) -> list[int]:
    """Start offsets (into the padded sequence) of the windows covering ``frame_count`` frames."""
    before, after = padded_length(frame_count)
    total = before + frame_count + after
    return list(range(0, total - WINDOW + 1, STRIDE))


class WindowStream:
    """TransNetV2's windows over frames that arrive in chunks, with memory bounded by one
    window: the end padding depends on the total count, known only at :meth:`finish`."""

    def __init__(self) -> None:
        self._buffer: np.ndarray | None = None  # padded frames from the next window's start on
        self.frames_seen = 0

    def push(self, frames: np.ndarray) -> list[np.ndarray]:
        """Add ``[k, h, w, 3]`` frames; return the windows that are now complete."""
        if len(frames) == 0:
            return []
        if self._buffer is None:
            self._buffer = np.repeat(frames[:1], CONTEXT, 0)
        self._buffer = np.concatenate([self._buffer, frames])
        self.frames_seen += len(frames)
        self._last = frames[-1:]
        return self._drain()

    def finish(self) -> list[np.ndarray]:
        """The remaining windows, the last padded with copies of the final frame."""
        if self._buffer is None:
            return []
        _, after = padded_length(self.frames_seen)
        self._buffer = np.concatenate([self._buffer, np.repeat(self._last, after, 0)])
        windows = self._drain()
        self._buffer = None
        return windows

    def _drain(self) -> list[np.ndarray]:
        windows = []
        assert self._buffer is not None
        while len(self._buffer) >= WINDOW:
            windows.append(self._buffer[:WINDOW].copy())
            self._buffer = self._buffer[STRIDE:]
        return windows


def iter_window_batches(frames: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """``[b, 100, h, w, 3]`` batches of windows over ``[n, h, w, 3]`` frames, in order."""
    stream = WindowStream()
    windows = stream.push(frames) + stream.finish()
    for i in range(0, len(windows), batch_size):
        yield np.stack(windows[i : i + batch_size])


def stitch_predictions(window_predictions: list[np.ndarray], frame_count: int) -> np.ndarray:
    """Per-frame predictions from per-window ``[b, 100]`` outputs: the middle 50 of each."""
    middles = [p[:, CONTEXT : CONTEXT + STRIDE] for p in window_predictions]
    return np.concatenate(middles, axis=0).reshape(-1)[:frame_count]


def boundaries_from_probabilities(probabilities: np.ndarray, threshold: float = 0.5) -> list[int]:
    """First frames of new shots from per-frame transition probabilities: every run of
    frames above ``threshold`` is one transition, and the shot after it starts where the run
    ends (TransNetV2's own ``predictions_to_scenes`` rule)."""
    above = probabilities > threshold
    starts = []
    for index in range(1, len(above)):
        if above[index - 1] and not above[index]:
            starts.append(index)
    return starts


#: Mean absolute RGB change between consecutive 48x27 frames (0-255) under which a window is
#: static. Camera noise averages out at that size (about 0.1-0.3); the slowest fade or dissolve
#: the model is meant to find changes the picture by well over 1 per frame.
STATIC_WINDOW_CHANGE = 0.5


def is_static_window(window: np.ndarray) -> bool:
    """Whether no frame of a ``[100, h, w, 3]`` window differs visibly from the one before."""
    steps = np.abs(np.diff(window.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    return bool(steps.max() < STATIC_WINDOW_CHANGE) if len(steps) else True


def adaptive_ratio(diffs: np.ndarray, window: int = 2) -> np.ndarray:
    """Each frame's content change over the mean change of its ``window`` neighbours on each
    side (PySceneDetect's AdaptiveDetector score): a cut is a spike, motion is a plateau."""
    n = len(diffs)
    ratio = np.zeros(n, dtype=np.float32)
    for i in range(n):
        neighbours = [diffs[j] for j in range(max(0, i - window), min(n, i + window + 1)) if j != i]
        mean = float(np.mean(neighbours)) if neighbours else 0.0
        ratio[i] = diffs[i] / mean if mean > 1e-6 else (255.0 if diffs[i] > 1e-6 else 0.0)
    return ratio


@dataclass(frozen=True)
class FusionSettings:
    """Thresholds of the combined detector (content values on the 0-255 HSV scale)."""

    model_threshold: float = 0.5
    #: A content spike this many times its neighbours, this large, is a cut on its own.
    strong_ratio: float = 3.0
    strong_content: float = 20.0
    #: A weaker spike counts when the model also leans towards a transition there.
    weak_ratio: float = 2.0
    weak_content: float = 10.0
    weak_model: float = 0.1
    #: Two boundaries closer than this are one transition.
    min_gap_frames: int = 3


def fuse_boundaries(
    probabilities: np.ndarray, diffs: np.ndarray, settings: FusionSettings = FusionSettings()
) -> list[int]:
    """Shot starts from TransNetV2's probabilities combined with the content signal."""
    model = boundaries_from_probabilities(probabilities, settings.model_threshold)
    ratio = adaptive_ratio(diffs)
    extra = []
    for i in range(1, len(diffs)):
        strong = ratio[i] >= settings.strong_ratio and diffs[i] >= settings.strong_content
        near_model = float(probabilities[max(0, i - 2) : i + 2].max()) if len(probabilities) else 0.0
        weak = (
            ratio[i] >= settings.weak_ratio
            and diffs[i] >= settings.weak_content
            and near_model >= settings.weak_model
        )
        if strong or weak:
            extra.append(i)
    merged: list[int] = []
    # Model boundaries first: they place gradual transitions better than a single spike does.
    for frame in sorted(model):
        merged.append(frame)
    for frame in extra:
        if all(abs(frame - m) >= settings.min_gap_frames for m in merged):
            merged.append(frame)
    return sorted(merged)


def f1_score(predicted: list[int], truth: list[int], tolerance: int = 2) -> dict[str, float]:
    """Precision, recall and F1 of boundary frames, each truth matched at most once within
    ``tolerance`` frames."""
    unmatched = sorted(truth)
    hits = 0
    for frame in sorted(predicted):
        match = next((t for t in unmatched if abs(t - frame) <= tolerance), None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    precision = hits / len(predicted) if predicted else (1.0 if not truth else 0.0)
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}
