"""The levelling compressor: when it runs and how hard, and a wide-range programme (quiet
dialogue, loud passages, bangs) brought to the target through it on real encodes."""

from pathlib import Path

from raybatch.config.presets import resolve_preset
from raybatch.media.audio import normalise_audio
from raybatch.media.dynamics import MAX_LIMITING_LEVELLED_DB, limiting_needed, plan_compression
from raybatch.media.probe import probe_media
from tests.conftest import ffmpeg

#: The film trailer of the issue: -32.9 LUFS, 21.7 LU of range, true peak -6.5 dBTP.
TRAILER = {"input_i": -32.9, "input_lra": 21.7, "input_tp": -6.5}


def test_a_programme_gain_and_limiting_reach_gets_no_compressor():
    speech = {"input_i": -24.0, "input_lra": 6.0, "input_tp": -8.0}
    assert plan_compression(speech, -14.0, -1.5, music=False) is None


def test_a_trailer_is_levelled_and_music_more_gently():
    assert limiting_needed(TRAILER, -14.0, -1.5) > 12
    film = plan_compression(TRAILER, -14.0, -1.5, music=False)
    music = plan_compression(TRAILER, -14.0, -1.5, music=True)
    assert film is not None and music is not None
    assert film.ratio > music.ratio and music.release_ms > film.release_ms
    assert film.threshold_db < TRAILER["input_i"]
    assert "limiting" in film.reason
    assert film.filters()[0].name == "acompressor"


def test_an_extreme_range_is_levelled_even_when_the_target_is_reachable():
    wide = {"input_i": -16.0, "input_lra": 24.0, "input_tp": -6.0}
    plan = plan_compression(wide, -14.0, -1.5, music=False)
    assert plan is not None and "range" in plan.reason


def _wide_programme(path: Path) -> Path:
    """A minute of quiet tone ('dialogue') with loud pink-noise passages and short bangs."""
    noise = (
        "anoisesrc=c=pink:a=0.35:d=40:seed=3,"
        "volume='if(lt(mod(t,20),0.05),2.8,if(between(mod(t,20),12,16),0.3,0))':eval=frame"
    )
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=navy:s=160x90:r=25:d=40",
        "-f", "lavfi", "-i", "sine=frequency=300:d=40,volume=-40dB",
        "-f", "lavfi", "-i", noise,
        "-filter_complex", "[1:a][2:a]amix=inputs=2:normalize=0[a]", "-map", "0:v", "-map", "[a]",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "192k", "-t", "40", str(path),
    )  # fmt: skip
    return path


def test_a_wide_range_programme_reaches_the_target_with_bounded_limiting(tmp_path):
    preset = resolve_preset("medium", "balanced", "general")
    clip = _wide_programme(tmp_path / "trailer.mp4")
    outcome = normalise_audio(
        str(clip), str(tmp_path / "sound.m4a"), probe_media(str(clip)), preset, timeout_s=120
    )
    assert outcome.compression is not None
    assert outcome.target_reachable, outcome.note
    assert abs(outcome.output_loudness["input_i"] - preset.loudness_target_lufs) <= 0.5
    assert outcome.output_loudness["input_tp"] <= preset.true_peak_dbtp
    report = outcome.dynamics_report()
    assert report["range_before_lu"] > 0 and report["range_after_lu"] is not None
    assert 0 < report["limiting_db"] <= MAX_LIMITING_LEVELLED_DB
