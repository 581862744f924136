"""Loudness normalisation: gain correction and limiter decisions, and the true-peak ceiling
held on real AAC encodes of inputs whose codec overshoot passes the limiter's headroom."""

from pathlib import Path

import pytest

from raybatch.config.presets import resolve_preset
from raybatch.media.audio import _PeakPlan, limiter_ceiling, next_gain, normalise_audio
from raybatch.media.commands import loudness_measure_args
from raybatch.media.loudness import measure_loudness
from raybatch.media.probe import probe_media
from tests.conftest import ffmpeg


def test_gain_correction_accounts_for_limiter_slope():
    assert next_gain(10.0, -15.0, -14.0) == 11.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.5) == 14.0
    assert next_gain(10.0, -16.0, -14.0, slope=0.0) < 24.0  # clamped: never divides by ~0


def test_limiter_only_when_peaks_would_pass_ceiling():
    assert limiter_ceiling(-20.0, 10.0, -1.5) is None
    assert limiter_ceiling(-9.0, 8.0, -1.5) == -2.5


def test_an_overshooting_encode_lowers_the_limiter_and_engages_it_if_it_was_off():
    assert limiter_ceiling(-6.0, 0.0, -1.5) is None
    assert limiter_ceiling(-6.0, 0.0, -1.5, cut_db=4.0) == -6.5
    plan = _PeakPlan(input_true_peak=-6.0, ceiling_dbtp=-1.5)
    before = plan.max_gain()
    plan.deepen(1.0)
    assert plan.limiter(0.0) is None and plan.max_gain() == before - 1.0
    plan.deepen(3.0)
    assert plan.limiter(0.0) == -6.5  # limiting depth stays bounded as the limiter drops


def test_an_encode_overshooting_a_render_under_the_limiter_puts_the_limiter_under_its_peak():
    """A steady chord 5.4 dB under the ceiling came back from AAC 0.8 dB over it: lowering the
    limiter by the overshoot left it above the render's peaks, and three renders were the same."""
    plan = _PeakPlan(input_true_peak=-6.0, ceiling_dbtp=-1.5)
    assert plan.limiter(0.64) is None  # the render peaks at -5.36 dBTP
    plan.deepen(1.0, rendered_peak_dbtp=-5.36)
    assert plan.limiter(0.64) == pytest.approx(-6.36)


def _with_video(path: Path, audio_source: list[str]) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:duration=1", *audio_source,
        "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path),
    )  # fmt: skip
    return path


def _true_peak(path: Path, preset) -> float:
    rate = preset.audio_sample_rate
    args = loudness_measure_args(str(path), 2, rate)
    measured, _ = measure_loudness(args, rate, 2, timeout_s=60, what="check")
    return measured["input_tp"]


@pytest.mark.parametrize(
    ("source", "content_type"),
    [("sine=frequency=440", "general"), ("anoisesrc=color=pink:amplitude=0.3:seed=7", "educational")],
)
def test_one_second_audio_meets_the_ceiling_and_again_when_reprocessed(tmp_path, source, content_type):
    """The 1-second tone's second pass and the pink noise's first pass overshot -1.5 dBTP
    after every corrective encode, and were delivered over it."""
    preset = resolve_preset("medium", "balanced", content_type)
    clip = _with_video(tmp_path / "clip.mp4", ["-f", "lavfi", "-i", source])
    for attempt in range(2):
        sound = tmp_path / f"sound{attempt}.m4a"
        outcome = normalise_audio(str(clip), str(sound), probe_media(str(clip)), preset, timeout_s=60)
        assert outcome.output_loudness["input_tp"] <= preset.true_peak_dbtp
        assert _true_peak(sound, preset) <= preset.true_peak_dbtp  # measured afresh on the file
        if not outcome.target_reachable:
            assert "overshot" in outcome.note
        clip = _with_video(tmp_path / f"again{attempt}.mp4", ["-i", str(sound)])


@pytest.mark.parametrize("sampled", [False, True])
def test_a_track_of_several_chunks_lands_on_target_under_the_ceiling_and_leaves_no_work_files(
    tmp_path, monkeypatch, sampled
):
    """Quiet pink noise in four chunks: every try renders in parallel, a sample of the loudest
    chunk shows what AAC does, and the one encode that counts is on target; also when the
    corrections are tried on a sample of the chunks."""
    from raybatch.media import audio_render

    monkeypatch.setattr(audio_render, "MIN_CHUNK_S", 10.0)
    monkeypatch.setattr(audio_render, "MIN_SAMPLED_CHUNKS", 4 if sampled else 8)
    sample_tries = []
    render_sample = audio_render.FittedTrack.render_sample

    def counted(track, chain):  # the real render, counted
        sample_tries.append(chain)
        return render_sample(track, chain)

    monkeypatch.setattr(audio_render.FittedTrack, "render_sample", counted)
    preset = resolve_preset("low", "fast", "general")
    clip = tmp_path / "talk.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=160x90:rate=5:duration=40",
        "-f", "lavfi", "-i", "anoisesrc=d=40:c=pink:r=48000:a=0.2:seed=11",
        "-af", "volume='0.5+0.45*sin(t/2)':eval=frame", "-ac", "2",
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip),
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    sound = work / "audio.m4a"
    outcome = normalise_audio(str(clip), str(sound), probe_media(str(clip)), preset, timeout_s=120)
    assert outcome.target_reachable, outcome.note
    delivered = _true_peak(sound, preset)
    assert delivered <= preset.true_peak_dbtp
    assert abs(outcome.output_loudness["input_i"] - preset.loudness_target_lufs) <= 0.5
    assert sorted(p.name for p in work.iterdir()) == ["audio.m4a"]
    assert bool(sample_tries) == sampled
