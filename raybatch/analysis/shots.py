"""Shot boundaries: TransNetV2's windowing, and its fusion with a content-difference signal.

TransNetV2 sees 100-frame windows that advance by 50 frames and keeps the middle 50 predictions
of each (its authors' scheme): the clip is padded with 25 copies of its first frame and enough
copies of its last to fill the final window. The model alone misses very short shots and some
gradual transitions; a hard cut that the HSV content difference shows plainly (an isolated
spike far above its neighbours) is added even when the model's probability is low, and places
the model's own cuts on their exact frame. ``scripts/bench/shots.py`` measures the result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from raybatch.analysis.picture import BLACK_LUMA
from raybatch.analysis.transitions import transition_spans

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
    """Per-frame predictions from per-window ``[b, 100, ...]`` outputs: the middle 50 of each
    (``[n, ...]``: one value per frame, or one per head)."""
    middles = [p[:, CONTEXT : CONTEXT + STRIDE] for p in window_predictions]
    stitched = np.concatenate(middles, axis=0)
    return stitched.reshape(-1, *stitched.shape[2:])[:frame_count]


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
    #: A hard cut in the content signal: a change this many times its neighbours' mean...
    cut_ratio: float = 8.0
    #: ...and at least this large.
    cut_content: float = 20.0
    #: Mean luma under which a frame is dark: a jump between two dark frames is a fade's first
    #: step out of black (hue and saturation appear from nothing), not a cut.
    dark_luma: float = BLACK_LUMA
    #: A model boundary this close to a content cut is that cut, placed on the exact frame.
    snap_frames: int = 2
    #: Two boundaries closer than this are one transition.
    min_gap_frames: int = 3
    #: Two gradual (model-only) boundaries this close with a dark frame between them are one
    #: fade through black: the model often marks its fade-out and its fade-in separately.
    dip_frames: int = 30


def content_cuts(diffs: np.ndarray, brightness: np.ndarray, settings: FusionSettings) -> list[int]:
    """Frames whose content change is an isolated spike: the picture is stable before and
    after and jumps at once. Fades and motion change over several frames and do not qualify."""
    ratio = adaptive_ratio(diffs)
    cuts = []
    for i in range(1, len(diffs)):
        if ratio[i] < settings.cut_ratio or diffs[i] < settings.cut_content:
            continue
        if brightness[i - 1] < settings.dark_luma and brightness[i] < settings.dark_luma:
            continue
        cuts.append(i)
    return cuts


def fuse_boundaries(
    probabilities: np.ndarray,
    diffs: np.ndarray,
    brightness: np.ndarray,
    settings: FusionSettings | None = None,
) -> list[int]:
    """Shot starts from TransNetV2's probabilities combined with the content signal.

    The model finds gradual transitions and most cuts; the content signal places hard cuts on
    their exact frame and adds the very short shots the model misses. Two model boundaries
    around one dip to black become one, at the darkest frame.
    """
    settings = settings or FusionSettings()
    cuts = content_cuts(diffs, brightness, settings)
    boundaries: dict[int, bool] = {}  # frame -> is a content cut
    for frame in boundaries_from_probabilities(probabilities, settings.model_threshold):
        near = [c for c in cuts if abs(c - frame) <= settings.snap_frames]
        if near:
            boundaries[min(near, key=lambda c: abs(c - frame))] = True
        else:
            boundaries[frame] = False
    for cut in cuts:
        if all(abs(cut - b) >= settings.min_gap_frames for b in boundaries):
            boundaries[cut] = True
    merged: list[int] = []
    for frame in sorted(boundaries):
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and not boundaries[frame]
            and not boundaries[previous]
            and frame - previous <= settings.dip_frames
            and float(brightness[previous:frame].min()) < settings.dark_luma
        ):
            darkest = previous + int(np.argmin(brightness[previous:frame]))
            boundaries[darkest] = False
            merged[-1] = darkest
            continue
        merged.append(frame)
    return merged


class WindowModel(Protocol):
    """A shot model: ``[b, 100, 2]`` probabilities for 100-frame windows (a shot changes at
    the frame; the frame is inside a transition)."""

    def predict_windows(self, windows: list[np.ndarray]) -> list[np.ndarray]: ...


@dataclass
class ShotDetection:
    """TransNetV2's per-frame probabilities over a whole video: that a shot changes at the
    frame, and that the frame is inside a transition."""

    probabilities: np.ndarray
    transition_probabilities: np.ndarray
    windows_run: int
    windows_skipped: int
    model_s: float

    def model_shots(self) -> list[int]:
        """Shot starts from TransNetV2 alone."""
        return boundaries_from_probabilities(self.probabilities)

    def shots(self, content: np.ndarray, brightness: np.ndarray) -> list[int]:
        """Shot starts from TransNetV2 fused with the content signal of the same frames."""
        return fuse_boundaries(self.probabilities, content, brightness)


def detect_shots(model: WindowModel, chunks: Iterable[np.ndarray]) -> ShotDetection:
    """Run the shot model over frames arriving in chunks, window by window (memory bounded by
    one chunk and one window); a window whose picture never changes skips the model."""
    windows = WindowStream()
    predictions: list[np.ndarray] = []
    skipped = 0
    model_s = 0.0

    def run_model(batch: list[np.ndarray]) -> None:
        nonlocal skipped, model_s
        static = [is_static_window(w) for w in batch]
        moving = [w for w, still in zip(batch, static, strict=True) if not still]
        started = time.monotonic()
        outputs = iter(np.concatenate(model.predict_windows(moving)) if moving else [])
        for window, still in zip(batch, static, strict=True):
            if still:
                predictions.append(np.zeros((1, len(window), 2), np.float32))
                skipped += 1
            else:
                predictions.append(next(outputs)[None])
        model_s += time.monotonic() - started

    for chunk in chunks:
        run_model(windows.push(chunk))
    run_model(windows.finish())
    count = windows.frames_seen
    heads = stitch_predictions(predictions, count) if count else np.zeros((0, 2), np.float32)
    return ShotDetection(
        probabilities=heads[:, 0],
        transition_probabilities=heads[:, 1],
        windows_run=len(predictions) - skipped,
        windows_skipped=skipped,
        model_s=model_s,
    )


def describe_shots(
    detection: ShotDetection,
    content: np.ndarray,
    brightness: np.ndarray,
    fps: float,
    wipes: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    """The stored shot analysis: fused shot starts, the model's own, and the transition spans
    (dissolves, fades, dips to black, and the ``wipes`` the picture scan found) where the
    picture is between shots."""
    transitions = transition_spans(detection.transition_probabilities, brightness, fps, wipes)
    shots = with_wipe_shots(detection.shots(content, brightness), wipes, fps)
    return {
        "shots": [{"frame": f, "time_s": round(f / fps, 3)} for f in shots],
        "shots_model_only": detection.model_shots(),
        "transitions": [[round(a, 3), round(b, 3)] for a, b in transitions],
        "model_windows": {"run": detection.windows_run, "skipped_static": detection.windows_skipped},
    }


def with_wipe_shots(shots: list[int], wipes: Sequence[tuple[float, float]], fps: float) -> list[int]:
    """Shot starts with one in the middle of each wipe (seconds) that holds none: the shot
    model rarely sees a wipe or a slide, but the shot changes there all the same."""
    added = []
    for start_s, end_s in wipes:
        start, end = round(start_s * fps), round(end_s * fps)
        if not any(start <= shot <= end for shot in shots):
            added.append((start + end + 1) // 2)
    return sorted(shots + added)


def f1_score(
    predicted: list[int], truth: Sequence[int | tuple[int, int]], tolerance: int = 2
) -> dict[str, float]:
    """Precision, recall and F1 of boundary frames. A truth is a cut (its first new frame) or
    a gradual transition (its first and last frame); a prediction within ``tolerance`` frames
    of it matches, and each truth is matched at most once."""
    unmatched = sorted((t, t) if isinstance(t, int) else tuple(t) for t in truth)
    hits = 0
    for frame in sorted(predicted):
        match = next((t for t in unmatched if t[0] - tolerance <= frame <= t[1] + tolerance), None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    return _scores(hits, len(predicted), len(truth))


def span_f1(
    predicted: list[tuple[int, int]], truth: list[tuple[int, int]], tolerance: int = 2
) -> dict[str, float]:
    """Precision, recall and F1 of transition spans (``[start, end)`` frames): a found span
    matches a true one when both its ends are within ``tolerance`` frames, each at most once."""
    unmatched = list(truth)
    hits = 0
    for start, end in sorted(predicted):
        near = (t for t in unmatched if abs(t[0] - start) <= tolerance and abs(t[1] - end) <= tolerance)
        match = next(near, None)
        if match is not None:
            unmatched.remove(match)
            hits += 1
    return _scores(hits, len(predicted), len(truth))


def _scores(hits: int, found: int, truths: int) -> dict[str, float]:
    precision = hits / found if found else (1.0 if not truths else 0.0)
    recall = hits / truths if truths else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "matched": hits}
