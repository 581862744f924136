"""Dissolves as the picture scan sees them (steady blends on the coarse colour grid), on 48x27
frames made here; and the changes that are not blends."""

from __future__ import annotations

import numpy as np
import pytest

from raybatch.analysis.blends import blend_residual, blend_spans, continues
from tests.unit.analysis.test_wipes import FPS, assert_one_span_near, motion_of, picture, with_grain


def dissolve(a: np.ndarray, b: np.ndarray, frames: int) -> list[np.ndarray]:
    """The frames strictly between ``a`` and ``b`` of a ``frames``-frame dissolve."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    return [a32 + (b32 - a32) * step / frames for step in range(1, frames)]


def found_frames(video: np.ndarray) -> list[tuple[int, int]]:
    return [(round(a * FPS), round(b * FPS)) for a, b in blend_spans(motion_of(video), FPS)]


@pytest.mark.parametrize("frames", [5, 12, 25, 50])
def test_a_dissolve_is_one_blend_with_both_ends_within_two_frames(frames):
    a, b = picture(1), picture(2)
    video = with_grain(np.stack([a] * 70 + dissolve(a, b, frames) + [b] * 70))
    assert_one_span_near(found_frames(video), (69, 69 + frames))


def test_a_cut_a_wipe_and_a_slow_drift_are_not_blends():
    a, b = picture(1), picture(2)
    wipe = []
    for step in range(1, 20):
        frame = a.copy()
        frame[:, : round(48 * step / 20)] = b[:, : round(48 * step / 20)]
        wipe.append(frame)
    drift = [np.clip(b.astype(np.float32) + step * 0.3, 0, 255) for step in range(200)]  # light rising
    video = with_grain(np.stack([a] * 60 + [b] * 60 + wipe[::-1] + [a] * 40 + drift))
    assert found_frames(video) == []


def test_frames_on_the_way_lie_on_the_line_between_its_ends():
    a, b = picture(1), picture(2)
    blend = np.stack([a, *dissolve(a, b, 10), b]).astype(np.float32)
    assert blend_residual(motion_of(blend.astype(np.uint8)).grid, 0, 10) < 0.05
    detour = np.stack([a, *[picture(3)] * 9, b])
    assert blend_residual(motion_of(detour).grid, 0, 10) > 0.2


def test_pieces_of_one_blend_join_but_not_a_blend_and_a_different_move():
    steps = np.zeros((40, 6), np.float32)
    steps[0:10] = [1, 1, 0, 0, 0, 0]
    steps[12:20] = [1, 1, 0, 0, 0, 0]
    steps[22:30] = [0, 0, 5, 5, 0, 0]
    assert continues(steps, (0, 10), (12, 20))
    assert not continues(steps, (12, 20), (22, 30))  # another way, and five times the step
    assert not continues(steps, (0, 10), (22, 30))  # too far apart
