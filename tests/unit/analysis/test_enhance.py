"""Enhancement derived from picture statistics."""

from raybatch.analysis.enhance import derive_enhancement


def test_enhancement_lifts_dark_flat_footage_and_leaves_good_footage_alone():
    dark = {"brightness": 45, "contrast": 18, "saturation": 30, "sharpness": 300, "noise": 4.0}
    good = {"brightness": 115, "contrast": 55, "saturation": 100, "sharpness": 400, "noise": 0.8}
    lifted = derive_enhancement(dark, "general")
    assert lifted.gamma > 1.2 and lifted.contrast > 1.1 and lifted.saturation > 1.0
    assert lifted.denoise > 0 and lifted.sharpen == 0  # noisy: denoise, never sharpen noise
    left = derive_enhancement(good, "general")
    assert (left.gamma, left.contrast, left.saturation, left.denoise, left.sharpen) == (1, 1, 1, 0, 0)
    assert derive_enhancement(good, "educational").voice_highpass_hz == 80
