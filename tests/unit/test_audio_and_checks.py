import math

from raybatch.media.audio import limiter_ceiling, next_gain
from raybatch.media.loudness import decode_errors, is_silent, parse_loudnorm_json
from raybatch.stages.media_stages import check_durations, check_loudness

LOUDNORM_STDERR = """
[Parsed_loudnorm_0 @ 0x55] [info]
{
	"input_i" : "-21.99",
	"input_tp" : "-9.21",
	"input_lra" : "9.00",
	"input_thresh" : "-32.39",
	"output_i" : "-13.88",
	"output_tp" : "-1.50",
	"output_lra" : "5.90",
	"output_thresh" : "-24.18",
	"normalization_type" : "dynamic",
	"target_offset" : "-0.12"
}
"""


def test_parse_loudnorm_json():
    values = parse_loudnorm_json("noise\n" + LOUDNORM_STDERR)
    assert values["input_i"] == -21.99 and values["input_tp"] == -9.21


def test_silence_detection():
    assert is_silent({"input_i": -math.inf})
    assert is_silent(parse_loudnorm_json(LOUDNORM_STDERR.replace('"-21.99"', '"-inf"')))
    assert is_silent({"input_i": -45.7})  # room tone: nothing to normalise
    assert not is_silent({"input_i": -40.0})
    assert not is_silent({"input_i": -23.0})


def test_gain_correction_accounts_for_limiter_slope():
    assert next_gain(10.0, -15.0, -14.0) == 11.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.5) == 14.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.0) < 24.0  # clamped: never divides by ~0


def test_limiter_only_when_peaks_would_pass_ceiling():
    assert limiter_ceiling(-20.0, 10.0, -1.5) is None
    assert limiter_ceiling(-9.0, 8.0, -1.5) == -2.5


def test_duration_and_sync_checks():
    frame = 1 / 25
    assert check_durations(10.0, 10.0, 10.01, frame) == []
    assert "expected 10.000" in check_durations(10.0, 9.9, 9.9, frame)[0]
    assert "out of sync" in check_durations(10.0, 10.0, 9.5, frame)[0]


def test_loudness_gate():
    assert check_loudness({"input_i": -14.3, "input_tp": -2.0}, -14, -1.5) == []
    problems = check_loudness({"input_i": -15.0, "input_tp": -1.0}, -14, -1.5)
    assert len(problems) == 2


def test_decode_errors_only_error_level():
    stderr = "[h264 @ 0x1] [warning] odd\n[h264 @ 0x1] [error] corrupt macroblock\n[info] fine"
    assert decode_errors(stderr) == ["[h264 @ 0x1] [error] corrupt macroblock"]
