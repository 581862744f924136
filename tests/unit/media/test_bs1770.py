"""The BS.1770 / EBU R128 meter: the standard's coefficients and test signals (EBU Tech 3341 and
3342), true peak between samples, chunks combined exactly, and agreement with ffmpeg's own
``ebur128`` meter on a real decode."""

import itertools
import math
import re
import subprocess

import numpy as np
import pytest
from scipy import signal as scipy_signal

from raybatch.media.bs1770 import ChunkMeasure, LoudnessMeter, k_weighting, true_peak_filter
from raybatch.media.commands import loudness_measure_args
from raybatch.media.loudness import measure_loudness
from tests.conftest import ffmpeg

RATE = 48_000


def tone(level_dbfs: float, seconds: float, frequency: float = 1000.0, phase: float = 0.0) -> np.ndarray:
    """A stereo sine whose peak is at ``level_dbfs`` in both channels."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = 10 ** (level_dbfs / 20) * np.sin(2 * math.pi * frequency * t + phase)
    return np.stack([mono, mono], axis=1)


def measured(samples: np.ndarray, block: int = 9_600):
    meter = LoudnessMeter(RATE, 2)
    for start in range(0, len(samples), block):
        meter.feed(samples[start : start + block])
    return meter.measure().loudness()


def test_k_weighting_at_48k_is_the_standards_table():
    shelf, highpass = k_weighting(RATE)
    assert shelf[:3] == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-8)
    assert shelf[4:] == pytest.approx([-1.69065929318241, 0.73248077421585], abs=1e-8)
    assert highpass[4:] == pytest.approx([-1.99004745483398, 0.99007225036621], abs=1e-8)


def test_tech_3341_stereo_tone_at_minus_23_reads_minus_23_lufs():
    assert measured(tone(-23.0, 20)).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_the_relative_gate_ignores_quiet_passages():
    """Tech 3341 case 3: -36/-23/-36 dBFS for 10/60/10 s reads -23 LUFS."""
    signal = np.concatenate([tone(-36.0, 10), tone(-23.0, 60), tone(-36.0, 10)])
    assert measured(signal).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_tech_3342_loudness_range_of_two_levels_ten_db_apart():
    loudness = measured(np.concatenate([tone(-20.0, 20), tone(-30.0, 20)]))
    assert loudness.range_lu == pytest.approx(10.0, abs=1.0)


def test_true_peak_finds_the_peak_between_samples():
    """A quarter-rate sine sampled 45 degrees off its crests: samples peak 3 dB under it."""
    signal = tone(-6.0, 2, frequency=RATE / 4, phase=math.pi / 4)
    assert 20 * math.log10(np.abs(signal).max()) == pytest.approx(-9.0, abs=0.05)
    assert measured(signal).true_peak_dbtp == pytest.approx(-6.0, abs=0.15)


def test_silence_is_minus_infinity():
    loudness = measured(np.zeros((RATE * 2, 2)))
    assert loudness.integrated_lufs == -math.inf and loudness.true_peak_dbtp == -math.inf


def test_chunks_with_preroll_combine_to_the_whole_measurement():
    rng = np.random.default_rng(3)
    envelope = np.repeat(rng.uniform(0.01, 0.9, 95), RATE // 5)[:, None]
    signal = rng.standard_normal((len(envelope), 2)) * envelope * 0.2
    whole = measured(signal)
    preroll = RATE // 2
    cuts = [0, 4 * RATE, 11 * RATE + 9_600, len(signal)]  # on the 100 ms grid
    chunks = []
    for start, end in itertools.pairwise(cuts):
        meter = LoudnessMeter(RATE, 2, preroll=min(preroll, start))
        meter.feed(signal[max(0, start - preroll) : end])
        chunks.append(meter.measure())
    combined = ChunkMeasure.combine(chunks).loudness()
    assert combined.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
    assert combined.range_lu == pytest.approx(whole.range_lu, abs=1e-9)
    assert combined.true_peak_dbtp == pytest.approx(whole.true_peak_dbtp, abs=1e-9)


def test_agrees_with_ffmpegs_ebur128_on_a_real_decode(tmp_path):
    clip = tmp_path / "noise.m4a"
    ffmpeg(
        "-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:r=48000:a=0.3:seed=11",
        "-af", "volume='0.5+0.45*sin(t)':eval=frame", "-ac", "2", "-c:a", "aac", str(clip),
    )  # fmt: skip
    ours, _ = measure_loudness(
        loudness_measure_args(str(clip), 2, RATE), RATE, 2, timeout_s=60, what="loudness"
    )
    summary = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(clip), "-af", "ebur128=peak=true",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr.rsplit("Summary:", 1)[1]  # fmt: skip
    theirs = {
        key: float(re.search(rf"{label}:\s+(-?[\d.]+)", summary).group(1))
        for key, label in [("input_i", "I"), ("input_lra", "LRA"), ("input_tp", "Peak")]
    }
    assert ours["input_i"] == pytest.approx(theirs["input_i"], abs=0.1)
    assert ours["input_lra"] == pytest.approx(theirs["input_lra"], abs=0.2)
    assert ours["input_tp"] == pytest.approx(theirs["input_tp"], abs=0.2)


def test_oversampling_only_loud_stretches_finds_the_same_peak_as_oversampling_everything():
    rng = np.random.default_rng(5)
    envelope = np.repeat(rng.uniform(0.0, 1.0, 40), RATE // 10)[:, None] ** 3
    signal_ = rng.standard_normal((len(envelope), 2)) * envelope * 0.3
    everything = scipy_signal.upfirdn(true_peak_filter(), signal_, up=4, axis=0)
    expected = max(np.abs(everything).max(), np.abs(signal_).max())
    assert measured(signal_, block=7_000).true_peak_dbtp == pytest.approx(20 * math.log10(expected), abs=1e-9)
