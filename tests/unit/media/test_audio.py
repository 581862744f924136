"""Loudness normalisation's gain correction and limiter decisions."""

from raybatch.media.audio import limiter_ceiling, next_gain


def test_gain_correction_accounts_for_limiter_slope():
    assert next_gain(10.0, -15.0, -14.0) == 11.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.5) == 14.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.0) < 24.0  # clamped: never divides by ~0


def test_limiter_only_when_peaks_would_pass_ceiling():
    assert limiter_ceiling(-20.0, 10.0, -1.5) is None
    assert limiter_ceiling(-9.0, 8.0, -1.5) == -2.5
