"""What one low-resolution decode of a video yields, and the picture analysis made from it.

The decode (``raybatch.media.frames``) hands over every frame of the constant-rate timeline at
48x27 (content change, brightness, and later the shot model's input) and every few frames at a
larger size (exposure, colour, sharpness, noise). :class:`PictureScan` accumulates both in
bounded memory; :func:`describe_picture` turns the result into the stored analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from raybatch.analysis.blends import blend_spans
from raybatch.analysis.motion import MotionTrack, PictureMotion
from raybatch.analysis.picture import (
    BLACK_LUMA,
    FROZEN_DIFF,
    FrameStats,
    content_differences,
    frame_stats,
    luma,
    stretches,
    summarise_stats,
)
from raybatch.analysis.shots import STATIC_WINDOW_CHANGE, FusionSettings, content_cuts
from raybatch.analysis.transitions import fade_spans
from raybatch.analysis.wipes import wipe_spans

#: The shot model's input size (width, height).
SMALL_SIZE = (48, 27)
#: Short side of the frames whose statistics are measured.
STATS_SHORT_SIDE = 270
#: Frames measured per second of video.
STATS_PER_SECOND = 2

#: Settings the stored picture analysis depends on (its cache key).
PICTURE_SETTINGS = {
    "small": SMALL_SIZE,
    "stats": STATS_PER_SECOND,
    "fusion": FusionSettings().__dict__,
    "samples": 2,  # per-sample table with colourfulness
    "fades": 1,  # fades through black, for segment seams
    "wipes": 1,  # wipes and slides, for segment seams
    "dissolves": 1,  # steady blends, for segment seams
}
#: Settings the stored shot analysis depends on (its cache key).
SHOT_SETTINGS = {
    **PICTURE_SETTINGS,
    "model": "transnetv2",
    "static_gate": STATIC_WINDOW_CHANGE,
    "transitions": 3,
}


def stats_interval(fps: str) -> int:
    """Every how many frames one is measured."""
    return max(1, round(Fraction(fps) / STATS_PER_SECOND))


@dataclass
class PictureSignals:
    """Content change, brightness and motion of every frame, and the sampled frames' statistics."""

    content: np.ndarray
    brightness: np.ndarray
    samples: list[FrameStats]
    motion: PictureMotion

    @property
    def frames(self) -> int:
        return len(self.content)


@dataclass
class PictureScan:
    """Accumulates a decode's frames as they arrive, chunk by chunk."""

    fps: str
    _diffs: list[np.ndarray] = field(default_factory=list)
    _lumas: list[np.ndarray] = field(default_factory=list)
    _samples: list[FrameStats] = field(default_factory=list)
    _motion: MotionTrack = field(default_factory=MotionTrack)
    _previous: np.ndarray | None = None

    def add_small(self, frames: np.ndarray) -> None:
        """``[n, 27, 48, 3]`` RGB frames, in order."""
        self._diffs.append(content_differences(frames, self._previous))
        self._lumas.append(luma(frames).mean(axis=(1, 2)))
        self._motion.add(frames)
        self._previous = frames[-1]

    def add_sample(self, frame: np.ndarray) -> None:
        """The next measured ``[h, w, 3]`` RGB frame."""
        time_s = float(len(self._samples) * stats_interval(self.fps) / Fraction(self.fps))
        self._samples.append(frame_stats(frame, time_s))

    def signals(self) -> PictureSignals:
        empty = np.zeros(0, np.float32)
        return PictureSignals(
            content=np.concatenate(self._diffs) if self._diffs else empty,
            brightness=np.concatenate(self._lumas) if self._lumas else empty,
            samples=self._samples,
            motion=self._motion.motion(),
        )


def sample_table(samples: list[FrameStats]) -> dict[str, list[float]]:
    """Sampled frame statistics as columns (compact in JSON)."""
    names = ("time_s", "brightness", "contrast", "saturation", "sharpness", "colourfulness")
    return {name: [round(getattr(s, name), 3) for s in samples] for name in names}


def describe_picture(signals: PictureSignals, fps: str) -> dict[str, Any]:
    """The stored picture analysis: hard cuts, black and frozen stretches, fades through black,
    wipes and dissolves (seconds: known before the shot model runs, so segment seams keep out
    of them), the statistics the enhancement is derived from, and every sample (thumbnail
    candidates)."""
    rate = float(Fraction(fps))
    brightness = signals.brightness
    luma_change = np.abs(np.diff(brightness, prepend=brightness[:1])) if len(brightness) else brightness
    return {
        "frames": signals.frames,
        "fps": fps,
        "content_cuts": content_cuts(signals.content, brightness, FusionSettings()),
        "black": [[a / rate, b / rate] for a, b in stretches(brightness < BLACK_LUMA, rate, 0.5)],
        "frozen": [[a / rate, b / rate] for a, b in stretches(luma_change < FROZEN_DIFF, rate, 2.0)],
        "fades": [[round(a, 3), round(b, 3)] for a, b in fade_spans(brightness, rate)],
        "wipes": [[round(a, 3), round(b, 3)] for a, b in wipe_spans(signals.motion, rate)],
        "dissolves": [[round(a, 3), round(b, 3)] for a, b in blend_spans(signals.motion, rate)],
        "statistics": summarise_stats(signals.samples),
        "samples": sample_table(signals.samples),
    }
