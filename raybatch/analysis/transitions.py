"""Where the picture is between shots: gradual transitions (dissolves, fades through black,
wipes, slides) as spans with a start and an end. Thumbnails, chapters and segment seams never
fall inside one.

TransNetV2's all-frames head marks every frame of a dissolve (its single-frame head only the
middle); a fade through black shows as two halves around the dark frames, which the luma ramps
join; wipes and slides, which the model does not see, come from the picture's motion
(``raybatch.analysis.wipes``). ``scripts/bench/edit_quality.py`` scores the spans against
generated transitions.
"""

from __future__ import annotations

from collections.abc import Sequence

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


#: The all-frames head's probability over which a frame is inside a transition.
TRANSITION_THRESHOLD = 0.3
#: Shorter runs are hard cuts (a shot boundary, in ``shots``), not gradual transitions.
MIN_TRANSITION_FRAMES = 3


def probability_spans(
    probabilities: np.ndarray, fps: float, threshold: float = TRANSITION_THRESHOLD
) -> list[Span]:
    """The frames a shot model saw as part of a transition (a gradual one spans many)."""
    return [(a / fps, b / fps) for a, b in stretches(np.asarray(probabilities) >= threshold, fps, 0.0)]


def transition_spans(
    transition_probabilities: np.ndarray,
    brightness: np.ndarray,
    fps: float,
    wipes: Sequence[tuple[float, float]] = (),
) -> list[Span]:
    """Gradual transitions (seconds): the all-frames head's runs joined with the fades through
    black and the ``wipes`` (``raybatch.analysis.wipes``) that hold them; hard cuts (runs
    under ``MIN_TRANSITION_FRAMES``) left out."""
    found = probability_spans(transition_probabilities, fps) + fade_spans(brightness, fps)
    spans = merge_spans(found + [(float(a), float(b)) for a, b in wipes])
    return [(a, b) for a, b in spans if round((b - a) * fps) >= MIN_TRANSITION_FRAMES]
