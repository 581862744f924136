"""TransNetV2 in bfloat16 (used on CPUs with bfloat16 units) finds the same cuts as in float32."""

from __future__ import annotations

import numpy as np
import pytest

from raybatch.models.transnet import ShotModel, cpu_has_bfloat16_units


def hard_cuts(colours: list[tuple[int, int, int]], frames_each: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    shots = []
    for colour in colours:
        base = np.full((frames_each, 27, 48, 3), colour, dtype=np.int16)
        shots.append(np.clip(base + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8))
    return np.concatenate(shots)


@pytest.mark.skipif(
    not cpu_has_bfloat16_units(),
    reason="this CPU has no bfloat16 units: the model runs in float32 here, and emulated bfloat16 "
    "3-D convolutions take minutes",
)
def test_bfloat16_finds_the_same_cuts_as_float32():
    frames = hard_cuts([(200, 30, 30), (30, 200, 60), (40, 40, 220)], frames_each=60)
    model = ShotModel(threads=2, prefer_gpu=False)
    model.bfloat16 = False
    exact = model.predict(frames)
    model.bfloat16 = True
    fast = model.predict(frames)
    assert np.abs(exact - fast).max() < 0.02
    for probabilities in (exact, fast):
        assert list(np.flatnonzero(probabilities[:, 0] > 0.5)) == [59, 119]  # last frame of a shot
