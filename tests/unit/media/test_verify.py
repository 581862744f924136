"""Verification's duration, sync and loudness checks."""

from raybatch.media.verify import check_durations, check_loudness


def test_duration_and_sync_checks():
    frame = 1 / 25
    assert check_durations(10.0, 10.0, 10.01, frame) == []
    assert "expected 10.000" in check_durations(10.0, 9.9, 9.9, frame)[0]
    assert "out of sync" in check_durations(10.0, 10.0, 9.5, frame)[0]


def test_loudness_gate():
    assert check_loudness({"input_i": -14.3, "input_tp": -2.0}, -14, -1.5) == []
    problems = check_loudness({"input_i": -15.0, "input_tp": -1.0}, -14, -1.5)
    assert len(problems) == 2
