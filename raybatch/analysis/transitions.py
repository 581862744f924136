"""Where the picture is between shots: fades through black and a shot model's transition
spans. Thumbnails never come from there."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.edl import Span, merge_spans
from raybatch.analysis.picture import BLACK_LUMA, stretches


def fade_spans(
    brightness: np.ndarray, fps: float, dark_luma: float = BLACK_LUMA, max_s: float = 3.0
) -> list[Span]:
    """Fades to and from black, from per-frame mean luma: every dark run widened over the
    monotonic ramps that lead into and out of it (at most ``max_s`` each side)."""
    dark = brightness < dark_luma
    spans: list[Span] = []
    limit = max(1, round(max_s * fps))
    index, count = 0, len(brightness)
    while index < count:
        if not dark[index]:
            index += 1
            continue
        end = index
        while end < count and dark[end]:
            end += 1
        start = index
        steps = 0
        while start > 0 and steps < limit and brightness[start - 1] >= brightness[start] + 0.5:
            start -= 1
            steps += 1
        stop, steps = end, 0
        while stop < count and steps < limit and brightness[stop] >= brightness[stop - 1] + 0.5:
            stop += 1
            steps += 1
        spans.append((start / fps, stop / fps))
        index = end
    return merge_spans(spans)


def probability_spans(probabilities: np.ndarray, fps: float, threshold: float = 0.1) -> list[Span]:
    """The frames a shot model saw as part of a transition (a gradual one spans many)."""
    return [(a / fps, b / fps) for a, b in stretches(np.asarray(probabilities) >= threshold, fps, 0.0)]
