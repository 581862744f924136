"""One look for the series: each episode's exposure pulled toward the series' median brightness,
so a darker (or brighter) episode does not stand out beside the others.

Each episode's own enhancement already corrects what is wrong with it, but only partway (a dark
recording is lifted, not made bright) and by its own measure. Once every episode is analysed,
the series' median of the brightness those enhancements would deliver becomes every episode's
goal, and the gamma of an episode that would sit far from it is set to reach it. Gamma moves the
median luma exactly (it is a monotone curve) and clips nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any

#: The band a series' brightness goal is kept in (median luma): a series of dark films stays
#: dark, but not murky; a bright one stays bright, but not washed out.
GOAL_BAND = (85.0, 170.0)
#: How far (luma) from the goal an episode may sit before its exposure is pulled to it.
STANDS_OUT_LUMA = 8.0
#: The most a series pull may bend an episode's gamma either way.
GAMMA_RANGE = (0.6, 2.0)


def predicted_brightness(brightness: float, enhancement: dict[str, Any]) -> float:
    """The median luma an episode of median luma ``brightness`` gets from ``enhancement``
    (ffmpeg's ``eq``: contrast about mid-grey, then the brightness offset, then gamma)."""
    value = (brightness / 255.0 - 0.5) * enhancement.get("contrast", 1.0) + 0.5
    value = min(1.0, max(1e-4, value + enhancement.get("brightness", 0.0)))
    return 255.0 * value ** (1.0 / enhancement.get("gamma", 1.0))


def gamma_for(brightness: float, enhancement: dict[str, Any], goal: float) -> float:
    """The gamma that brings the median luma to ``goal`` under the rest of ``enhancement``."""
    value = (brightness / 255.0 - 0.5) * enhancement.get("contrast", 1.0) + 0.5
    value = min(0.999, max(1e-3, value + enhancement.get("brightness", 0.0)))
    gamma = math.log(value) / math.log(goal / 255.0)
    return min(GAMMA_RANGE[1], max(GAMMA_RANGE[0], gamma))


@dataclass(frozen=True)
class SeriesLook:
    """The series' brightness goal and, per episode, its enhancement after the pull."""

    goal: float
    enhancements: dict[str, dict[str, Any]]
    report: dict[str, dict[str, float | bool]]


def harmonise(brightness: dict[str, float], enhancements: dict[str, dict[str, Any]]) -> SeriesLook | None:
    """Each episode's enhancement pulled toward the series' median brightness. ``brightness``
    is each episode's source median luma, by video key; ``None`` with fewer than two episodes."""
    keys = [key for key in brightness if key in enhancements]
    if len(keys) < 2:
        return None
    predicted = {key: predicted_brightness(brightness[key], enhancements[key]) for key in keys}
    goal = min(GOAL_BAND[1], max(GOAL_BAND[0], median(predicted.values())))
    pulled, report = {}, {}
    for key in keys:
        own = enhancements[key]
        moved = abs(predicted[key] - goal) > STANDS_OUT_LUMA
        if moved:
            gamma = round(gamma_for(brightness[key], own, goal), 3)
            reason = f"series look: median luma {predicted[key]:.0f} -> {goal:.0f} (gamma {gamma:.2f})"
            own = {**own, "gamma": gamma, "reasons": [*own.get("reasons", []), reason]}
        pulled[key] = own
        report[key] = {
            "source_brightness": round(brightness[key], 1),
            "own_brightness": round(predicted[key], 1),
            "series_brightness": round(predicted_brightness(brightness[key], own), 1),
            "pulled": moved,
        }
    return SeriesLook(goal=round(goal, 1), enhancements=pulled, report=report)
