"""Verification's duration, sync and loudness checks."""

from raybatch.config.presets import resolve_preset
from raybatch.media.loudness import audio_stream_hash
from raybatch.media.probe import probe_media
from raybatch.media.verify import check_durations, check_loudness, delivered_loudness
from tests.conftest import ffmpeg


def test_duration_and_sync_checks():
    frame = 1 / 25
    assert check_durations(10.0, 10.0, 10.01, frame) == []
    assert "expected 10.000" in check_durations(10.0, 9.9, 9.9, frame)[0]
    assert "out of sync" in check_durations(10.0, 10.0, 9.5, frame)[0]


def test_loudness_gate():
    assert check_loudness({"input_i": -14.3, "input_tp": -2.0}, -14, -1.5) == []
    problems = check_loudness({"input_i": -15.0, "input_tp": -1.0}, -14, -1.5)
    assert len(problems) == 2


def test_the_audio_pass_measurement_stands_only_for_the_very_same_packets(tmp_path):
    """A muxed copy of the sound carries the audio pass's hash and is not decoded again; a
    re-encoded one (same sound, other packets) is decoded and measured afresh."""
    preset = resolve_preset("low", "fast", "general")
    clip = tmp_path / "clip.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ac", "2",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip),
    )  # fmt: skip
    sound = tmp_path / "sound.m4a"
    ffmpeg("-i", str(clip), "-map", "0:a", "-c", "copy", str(sound))
    media = probe_media(str(clip))
    stream_hash, _ = audio_stream_hash(str(sound), 60)
    claimed = {"stream_hash": stream_hash, "output_loudness": {"input_i": -99.0, "input_tp": -99.0}}

    loudness, runs = delivered_loudness(str(clip), media, claimed, preset, 60)
    assert loudness["input_i"] == -99.0 and len(runs) == 1  # the hash run only

    recoded = tmp_path / "recoded.mp4"
    ffmpeg("-i", str(clip), "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", str(recoded))
    loudness, _ = delivered_loudness(str(recoded), media, claimed, preset, 60)
    assert -25 < loudness["input_i"] < -10  # a full-scale-ish sine, measured for real
