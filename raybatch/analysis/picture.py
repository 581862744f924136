"""Picture statistics from decoded frames (uint8 RGB arrays)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: Mean luma below which a frame counts as black (0-255 scale, studio black is 16).
BLACK_LUMA = 24.0
#: Mean absolute luma change between consecutive frames below which the picture is frozen.
FROZEN_DIFF = 0.35

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec.601 luma of ``[..., 3]`` uint8 RGB, as float32."""
    return rgb.astype(np.float32) @ _LUMA


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """HSV on OpenCV's scale (H 0-180, S and V 0-255) for ``[..., 3]`` uint8 RGB, float32."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    spread = v - x.min(axis=-1)
    s = np.where(v > 0, 255.0 * spread / np.maximum(v, 1e-6), 0.0)
    safe = np.maximum(spread, 1e-6)
    h = np.where(
        v == r,
        60.0 * (g - b) / safe,
        np.where(v == g, 120.0 + 60.0 * (b - r) / safe, 240.0 + 60.0 * (r - g) / safe),
    )
    h = np.where(spread > 0, np.mod(h, 360.0), 0.0) / 2.0
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def content_differences(frames: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Per-frame content change: the mean absolute HSV difference to the previous frame,
    averaged over the three channels (the signal PySceneDetect's content detectors use).
    ``frames`` is ``[n, h, w, 3]`` RGB; the first value compares with ``previous`` (0 if none)."""
    hsv = rgb_to_hsv(frames)
    if previous is not None:
        hsv = np.concatenate([rgb_to_hsv(previous[None]), hsv])
    diffs = np.abs(np.diff(hsv, axis=0)).mean(axis=(1, 2, 3))
    return diffs if previous is not None else np.concatenate([[0.0], diffs]).astype(np.float32)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler and Süsstrunk's colourfulness (0 for grey; ~100 for vivid pictures)."""
    x = rgb.astype(np.float32)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


def laplacian_variance(gray: np.ndarray) -> float:
    """Sharpness: the variance of the 4-neighbour Laplacian (higher is sharper)."""
    g = gray.astype(np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def noise_sigma(gray: np.ndarray) -> float:
    """Immerkær's fast noise estimate: the standard deviation of Gaussian noise (0-255 scale)
    from a mask that cancels image structure up to second order."""
    g = gray.astype(np.float32)
    h, w = g.shape
    if h < 3 or w < 3:
        return 0.0
    conv = (
        g[:-2, :-2] - 2 * g[:-2, 1:-1] + g[:-2, 2:]
        - 2 * g[1:-1, :-2] + 4 * g[1:-1, 1:-1] - 2 * g[1:-1, 2:]
        + g[2:, :-2] - 2 * g[2:, 1:-1] + g[2:, 2:]
    )  # fmt: skip
    return float(np.sqrt(np.pi / 2.0) * np.abs(conv).sum() / (6.0 * (w - 2) * (h - 2)))


@dataclass(frozen=True)
class FrameStats:
    """What one sampled frame looks like."""

    time_s: float
    brightness: float  # mean luma, 0-255
    contrast: float  # luma standard deviation
    saturation: float  # mean HSV saturation, 0-255
    sharpness: float  # variance of the Laplacian
    noise: float  # estimated noise sigma, 0-255
    colourfulness: float = 0.0  # Hasler and Süsstrunk

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


def frame_stats(rgb: np.ndarray, time_s: float) -> FrameStats:
    """Statistics of one ``[h, w, 3]`` RGB frame."""
    y = luma(rgb)
    return FrameStats(
        time_s=time_s,
        brightness=float(y.mean()),
        contrast=float(y.std()),
        saturation=float(rgb_to_hsv(rgb)[..., 1].mean()),
        sharpness=laplacian_variance(y),
        noise=noise_sigma(y),
        colourfulness=colourfulness(rgb),
    )


def summarise_stats(samples: list[FrameStats]) -> dict[str, float]:
    """Medians over the sampled frames that are not black (black frames say nothing about
    exposure or noise), with the 10th/90th brightness percentiles for the exposure decision."""
    usable = [s for s in samples if s.brightness >= BLACK_LUMA] or samples
    if not usable:
        return {}
    table = np.array([[s.brightness, s.contrast, s.saturation, s.sharpness, s.noise] for s in usable])
    median = np.median(table, axis=0)
    return {
        "frames_sampled": len(samples),
        "brightness": round(float(median[0]), 2),
        "brightness_p10": round(float(np.percentile(table[:, 0], 10)), 2),
        "brightness_p90": round(float(np.percentile(table[:, 0], 90)), 2),
        "contrast": round(float(median[1]), 2),
        "saturation": round(float(median[2]), 2),
        "sharpness": round(float(median[3]), 2),
        "noise": round(float(median[4]), 3),
    }


def stretches(mask: np.ndarray, fps: float, min_s: float) -> list[tuple[int, int]]:
    """``[start, end)`` frame runs where ``mask`` holds for at least ``min_s`` seconds."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, flag in enumerate([*mask.tolist(), False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if (index - start) / fps >= min_s:
                runs.append((start, index))
            start = None
    return runs
