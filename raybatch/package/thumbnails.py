"""Thumbnail choice: which real frames are worth showing, and where to crop them.

Pure functions on numbers and ``[h, w, 3]`` uint8 RGB arrays; rendering lives in
:mod:`raybatch.package.render`. Frames are judged at the analysis's statistics scale (short side
270 px), so a sample from the analysis decode and a frame extracted at full resolution score alike.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from raybatch.analysis.edl import Span, complement, intersect, merge_spans
from raybatch.analysis.picture import (
    BLACK_LUMA,
    colourfulness,
    laplacian_variance,
    luma,
    rgb_to_hsv,
)

#: Nothing within this many seconds of a cut, a fade or the video's ends is ever picked.
TRANSITION_MARGIN_S = 0.5
#: Mean luma above which a frame is washed out, and the contrast a bright frame needs anyway.
WASHED_OUT_LUMA = 225.0
BRIGHT_LUMA, BRIGHT_MIN_CONTRAST = 190.0, 22.0
#: Laplacian variance (at 270 px) below which a frame is blurry whatever the video looks like,
#: and the fraction of the video's typical sharpness a candidate must reach.
BLUR_FLOOR = 12.0
BLUR_RELATIVE = 0.35
#: Candidates from the same shot are at least this far apart.
MIN_SEPARATION_S = 2.0
SCALE_SHORT_SIDE = 270

WEIGHTS = {
    "sharpness": 0.30,
    "exposure": 0.20,
    "contrast": 0.15,
    "colour": 0.15,
    "distance": 0.10,
    "face": 0.10,
}


@dataclass(frozen=True)
class FrameQuality:
    """What a frame looks like, on the analysis's 270 px scale."""

    brightness: float
    contrast: float
    saturation: float
    sharpness: float
    colourfulness: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in asdict(self).items()}


def downscale(rgb: np.ndarray, short_side: int = SCALE_SHORT_SIDE) -> np.ndarray:
    """``rgb`` with its short side at most ``short_side`` (box filter), for scale-fair scoring."""
    height, width = rgb.shape[:2]
    factor = short_side / min(height, width)
    if factor >= 1:
        return rgb
    from PIL import Image

    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))


def frame_quality(rgb: np.ndarray) -> FrameQuality:
    """The quality measures of one RGB frame (downscaled to the scoring scale first)."""
    small = downscale(rgb)
    y = luma(small)
    return FrameQuality(
        brightness=float(y.mean()),
        contrast=float(y.std()),
        saturation=float(rgb_to_hsv(small)[..., 1].mean()),
        sharpness=laplacian_variance(y),
        colourfulness=colourfulness(small),
    )


def blur_floor(typical_sharpness: float | None) -> float:
    """The sharpness a candidate needs: an absolute floor, raised for a sharp video."""
    if not typical_sharpness:
        return BLUR_FLOOR
    return max(BLUR_FLOOR, BLUR_RELATIVE * typical_sharpness)


def rejection(quality: FrameQuality, typical_sharpness: float | None = None) -> str | None:
    """Why a frame can never be a thumbnail (``None`` when it can)."""
    if quality.brightness < BLACK_LUMA:
        return "black"
    if quality.brightness > WASHED_OUT_LUMA or (
        quality.brightness > BRIGHT_LUMA and quality.contrast < BRIGHT_MIN_CONTRAST
    ):
        return "washed out"
    if quality.sharpness < blur_floor(typical_sharpness):
        return "blurry"
    return None


def typical_sharpness(qualities: list[FrameQuality]) -> float | None:
    """The video's median sharpness over frames that are not black."""
    usable = [q.sharpness for q in qualities if q.brightness >= BLACK_LUMA]
    return float(np.median(usable)) if usable else None


def avoid_zones(
    duration_s: float,
    boundaries_s: list[float],
    transitions_s: list[Span],
    margin_s: float = TRANSITION_MARGIN_S,
) -> list[Span]:
    """Where no thumbnail may come from: around every shot boundary, over every transition
    (fades, dissolves, dips to black) and at the video's two ends, each widened by ``margin_s``."""
    spans = [(0.0, margin_s), (max(0.0, duration_s - margin_s), duration_s)]
    spans += [(t - margin_s, t + margin_s) for t in boundaries_s]
    spans += [(a - margin_s, b + margin_s) for a, b in transitions_s]
    return merge_spans(spans)


def free_spans(kept: list[Span], avoid: list[Span]) -> list[Span]:
    """The parts of the kept ranges outside every zone to avoid, longest first."""
    end = max((b for _, b in kept), default=0.0)
    return sorted(intersect(kept, complement(avoid, end)), key=lambda span: span[0] - span[1])


def spread(spans: list[Span], count: int) -> list[float]:
    """``count`` times spread over ``spans`` in proportion to their lengths (each span gets at
    least one, the longest first), each in the middle of its share."""
    total = sum(b - a for a, b in spans)
    times: list[float] = []
    for start, end in spans:
        if len(times) >= count or total <= 0:
            break
        share = max(1, round(count * (end - start) / total))
        step = (end - start) / share
        times += [start + (k + 0.5) * step for k in range(share)]
    return times[:count]


def inside(time_s: float, spans: list[Span]) -> bool:
    return any(a <= time_s <= b for a, b in spans)


@dataclass
class Candidate:
    """One frame that may become a thumbnail, with why it scores what it does."""

    time_s: float
    shot: int
    quality: FrameQuality
    distance_s: float = 0.0
    face_fraction: float = 0.0
    faces: list[list[int]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.scores.get("total", 0.0)


def score(quality: FrameQuality, reference_sharpness: float, distance_s: float, face_fraction: float) -> dict:
    """Component scores in ``[0, 1]`` and their weighted total."""
    reference = max(reference_sharpness, BLUR_FLOOR)
    parts = {
        "sharpness": min(1.0, math.log1p(quality.sharpness) / math.log1p(reference)),
        # Mid-grey exposure scores best; the ends of the range fall off.
        "exposure": max(0.0, 1.0 - abs(quality.brightness - 125.0) / 110.0),
        "contrast": min(1.0, quality.contrast / 60.0),
        "colour": min(1.0, quality.colourfulness / 80.0),
        "distance": min(1.0, distance_s / 3.0),
        # A face of ~5% of the picture (a head-and-shoulders shot) is what a thumbnail wants.
        "face": min(1.0, math.sqrt(face_fraction / 0.05)) if face_fraction > 0 else 0.0,
    }
    parts["total"] = sum(WEIGHTS[name] * value for name, value in parts.items())
    return {k: round(v, 4) for k, v in parts.items()}


def distance_to(time_s: float, boundaries_s: list[float]) -> float:
    return min((abs(time_s - b) for b in boundaries_s), default=float("inf"))


def shot_index(time_s: float, boundaries_s: list[float]) -> int:
    """Which shot ``time_s`` falls in, boundaries being the starts of shots 1, 2, ..."""
    return int(np.searchsorted(np.asarray(sorted(boundaries_s)), time_s, side="right"))


def eligible(
    times_s: list[float],
    qualities: list[FrameQuality],
    *,
    kept: list[Span],
    avoid: list[Span],
    typical: float | None,
) -> list[tuple[int, str | None]]:
    """For each sampled frame: its index and why it is excluded (``None``: it is a candidate)."""
    verdicts = []
    for index, (time_s, quality) in enumerate(zip(times_s, qualities, strict=True)):
        reason = None
        if not inside(time_s, kept):
            reason = "removed by the edit"
        elif inside(time_s, avoid):
            reason = "near a cut or transition"
        else:
            reason = rejection(quality, typical)
        verdicts.append((index, reason))
    return verdicts


def choose(
    candidates: list[Candidate], count: int, min_separation_s: float = MIN_SEPARATION_S
) -> list[Candidate]:
    """The best ``count`` candidates, one per shot first (diversity), then the next best that
    are at least ``min_separation_s`` from every pick."""
    ranked = sorted(candidates, key=lambda c: (-c.score, c.time_s))
    picked: list[Candidate] = []
    shots: set[int] = set()
    for candidate in ranked:
        if len(picked) == count:
            return picked
        if candidate.shot not in shots:
            picked.append(candidate)
            shots.add(candidate.shot)
    for candidate in ranked:
        if len(picked) == count:
            break
        if candidate not in picked and all(
            abs(candidate.time_s - p.time_s) >= min_separation_s for p in picked
        ):
            picked.append(candidate)
    return sorted(picked, key=lambda c: -c.score)


Box = tuple[int, int, int, int]  # left, top, right, bottom


def aspect_box(
    width: int, height: int, aspect: float, centre: tuple[float, float] | None = None, scale: float = 1.0
) -> Box:
    """The largest box of ``aspect`` inside ``width`` x ``height`` (times ``scale``), centred on
    ``centre`` (the frame's centre by default) and moved inside the frame."""
    box_w = min(width, height * aspect) * scale
    box_h = box_w / aspect
    cx, cy = centre or (width / 2, height / 2)
    left = min(max(0.0, cx - box_w / 2), width - box_w)
    top = min(max(0.0, cy - box_h / 2), height - box_h)
    return round(left), round(top), round(left + box_w), round(top + box_h)


def closeup_box(width: int, height: int, focus: Box, aspect: float, min_fraction: float = 0.35) -> Box:
    """A tight ``aspect`` crop around ``focus`` (a face: head room above, shoulders below), no
    smaller than ``min_fraction`` of the frame's width so the close-up stays sharp when scaled."""
    left, top, right, bottom = focus
    face_w, face_h = right - left, bottom - top
    # A face reads best at about a third of the crop's height, slightly above the centre.
    want_h = max(face_h * 2.8, face_w * 2.8 / aspect)
    scale = min(1.0, max(min_fraction, want_h * aspect / min(width, height * aspect)))
    centre = ((left + right) / 2, (top + bottom) / 2 + face_h * 0.35)
    return aspect_box(width, height, aspect, centre, scale)


def saliency_map(rgb: np.ndarray, size: int = 64) -> np.ndarray:
    """Spectral-residual saliency (Hou and Zhang, 2007) on a ``size`` x ``size`` grey image,
    returned at that size in ``[0, 1]``: where the picture holds something unexpected."""
    from PIL import Image

    grey = np.asarray(
        Image.fromarray(rgb).convert("L").resize((size, size), Image.Resampling.BOX), np.float32
    )
    spectrum = np.fft.fft2(grey)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6)
    phase = np.angle(spectrum)
    padded = np.pad(log_amplitude, 1, mode="edge")
    average = sum(padded[dy : dy + size, dx : dx + size] for dy in range(3) for dx in range(3)) / 9.0
    residual = log_amplitude - average
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    blurred = np.asarray(Image.fromarray(saliency.astype(np.float32)).resize((size, size)), np.float32)
    peak = blurred.max()
    return blurred / peak if peak > 0 else blurred


def salient_box(rgb: np.ndarray, aspect: float, scale: float = 0.6) -> Box:
    """The ``aspect`` crop of ``scale`` times the largest one that holds the most saliency."""
    height, width = rgb.shape[:2]
    saliency = saliency_map(rgb)
    size = saliency.shape[0]
    integral = np.pad(saliency.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    left, top, right, bottom = aspect_box(width, height, aspect, scale=scale)
    box_w = max(1, round((right - left) * size / width))
    box_h = max(1, round((bottom - top) * size / height))
    sums = (
        integral[box_h:, box_w:]
        - integral[:-box_h, box_w:]
        - integral[box_h:, :-box_w]
        + integral[:-box_h, :-box_w]
    )
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    centre = ((x + box_w / 2) * width / size, (y + box_h / 2) * height / size)
    return aspect_box(width, height, aspect, centre, scale)


def still_time(samples: dict[str, list[float]] | None, kept: list[Span]) -> float | None:
    """Where to take a still picture's frame when no frame passed the rules (a flat slide, a
    podcast cover): the kept sample nearest the middle that is not black; the kept middle when
    nothing was sampled; ``None`` when every kept sample is black."""
    if not kept:
        return None
    middle = (kept[0][0] + kept[-1][1]) / 2
    table = samples or {}
    if not table.get("time_s"):
        return middle
    usable = [
        t
        for t, brightness in zip(table["time_s"], table["brightness"], strict=True)
        if inside(t, kept) and brightness >= BLACK_LUMA
    ]
    return min(usable, key=lambda t: abs(t - middle)) if usable else None
