"""Applying an EDL to sound: lengths kept, joins crossfaded."""

import numpy as np
import pytest

from raybatch.media.splice import frames_to_samples, splice


def test_splice_keeps_length_and_crossfades_quietly():
    rate = 48000
    t = np.arange(rate * 3) / rate
    source = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None]
    keep = frames_to_samples([(0, 25), (50, 75)], 25.0, rate)
    out = splice(source, keep, fade=960)
    assert len(out) == sum(b - a for a, b in keep)
    # No sample jumps at the join more than the sine itself can move between two samples.
    step = np.abs(np.diff(out[:, 0])).max()
    assert step <= 2 * np.pi * 440 / rate * 0.5 * 1.5


@pytest.mark.parametrize("rf64", [False, True])
def test_float_wav_reads_back_sample_for_sample(tmp_path, monkeypatch, rf64):
    """The edited sound is a float WAV; past a WAV's 4 GiB it is RF64 (forced here on a small
    file by lowering the limit), and the data offset is found in both."""
    import soundfile

    from raybatch.media import splice as splice_module

    if rf64:
        monkeypatch.setattr(splice_module, "WAV_MAX_DATA_BYTES", 16)
    samples = np.random.default_rng(1).uniform(-1, 1, (4800, 2)).astype(np.float32)
    path = str(tmp_path / "sound.wav")
    splice_module.write_float_wav(path, samples, 48000)
    with open(path, "rb") as handle:
        assert handle.read(4) == (b"RF64" if rf64 else b"RIFF")
    mapped = np.memmap(path, dtype="<f4", mode="r", offset=splice_module.wav_data_offset(path))
    assert np.array_equal(mapped[: samples.size].reshape(-1, 2), samples)
    read, rate = soundfile.read(path, dtype="float32")
    assert rate == 48000 and np.array_equal(read, samples)
