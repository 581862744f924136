"""Picture statistics on frames with known looks."""

import numpy as np

from raybatch.analysis.picture import content_differences, frame_stats, noise_sigma, rgb_to_hsv


def test_picture_statistics_see_what_they_should():
    rng = np.random.default_rng(0)
    flat = np.full((90, 160, 3), 40, np.uint8)
    noisy = np.clip(flat.astype(int) + rng.normal(0, 8, flat.shape), 0, 255).astype(np.uint8)
    assert noise_sigma(flat[..., 0]) < 0.5 < 4 < noise_sigma(noisy[..., 0].astype(float))
    stats = frame_stats(flat, 0.0)
    assert round(stats.brightness, 3) == 40 and stats.contrast < 1e-3 and stats.saturation == 0
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    assert rgb_to_hsv(red)[0, 0].tolist() == [0.0, 255.0, 255.0]
    cut = np.concatenate([np.zeros((3, 9, 16, 3), np.uint8), np.full((3, 9, 16, 3), 255, np.uint8)])
    diffs = content_differences(cut)
    assert diffs[0] == 0 and diffs[3] > 50 and diffs[1] == diffs[4] == 0
