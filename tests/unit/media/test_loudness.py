"""Reading ffmpeg's loudness and decode diagnostics."""

import io
import math

import numpy as np

from raybatch.media.loudness import SampleCollector, decode_errors, is_silent, parse_loudnorm_json

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


def test_decode_errors_only_error_level():
    stderr = "[h264 @ 0x1] [warning] odd\n[h264 @ 0x1] [error] corrupt macroblock\n[info] fine"
    assert decode_errors(stderr) == ["[h264 @ 0x1] [error] corrupt macroblock"]


def test_sample_collector_keeps_every_sample_in_order_even_past_the_length_expected():
    samples = np.arange(3_000_001, dtype="<f4")
    for expected in (len(samples), 1000, 0):
        collector = SampleCollector(expected)
        collector(io.BytesIO(samples.tobytes() + b"\x00\x01"))  # a torn last sample is dropped
        np.testing.assert_array_equal(collector.samples(), samples)
