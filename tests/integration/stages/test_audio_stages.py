"""The audio's two stages on a generated clip, in this process: ``edit_audio`` hands the audio
pass a cut sound as a file of its own, and the audio pass trusts analysis's measurement only
for the very sound analysis measured."""

from __future__ import annotations

import json

import pytest

from raybatch.analysis.decide import EditFacts
from raybatch.jobs.records import VideoRef
from raybatch.media.probe import probe_media
from raybatch.stages.audio import AudioPassStage
from raybatch.stages.edit_audio import EditAudioStage
from raybatch.stages.rows import AudioRow, SoundRef
from tests.conftest import ffprobe
from tests.unit.stages.test_contract import context

#: What analysis would have measured: far too quiet to be programme audio.
SILENT = {"input_i": -60.0, "input_tp": -50.0, "input_lra": 0.0, "input_thresh": -70.0, "target_offset": 0.0}


def audio_row(path, tmp_path, keep, voice: bool = False) -> AudioRow:
    media = probe_media(str(path))
    enhancement = {"voice_highpass_hz": 80, "voice_denoise": True} if voice else None
    facts = EditFacts("general", 0.0, -14.0, enhancement)
    return AudioRow(
        video=VideoRef("talk", str(path), path.name, path.stat().st_size, "fp"),
        media=media,
        parts=1,
        segments=0,
        edit=facts,
        keep=keep,
        sound=SoundRef(str(path), media, SILENT),
        output_uri=str(tmp_path / "out" / "audio.m4a"),
    )


@pytest.fixture
def stages(tmp_path):
    ctx = context(tmp_path)
    return EditAudioStage(ctx), AudioPassStage(ctx)


def test_a_cut_sound_is_handed_on_as_a_file_and_measured_afresh(media, tmp_path, stages):
    edit, audio = stages
    row = audio_row(media["av"], tmp_path, keep=[(0, 100), (150, 300)])  # 12 s at 25 fps, 2 s cut
    (edited,) = edit.run(row)
    assert edited.error is None and edited.edited
    assert edited.sound.uri == edit.context.layout.edited_sound("talk") and edited.sound.measured is None
    assert float(ffprobe(edited.sound.uri)["format"]["duration"]) == pytest.approx(10.0, abs=0.01)
    (done,) = audio.run(edited)
    result = done.result
    assert result["normalised"] and result["edited"] and result["input_loudness"] != SILENT
    assert abs(result["output_loudness"]["input_i"] + 14.0) <= 0.5
    assert float(ffprobe(done.output_uri)["format"]["duration"]) == pytest.approx(10.0, abs=0.05)
    assert [m["stage"] for m in done.metrics] == ["edit_audio", "audio"]


def test_an_untouched_sound_keeps_the_source_and_analysis_measurement(media, tmp_path, stages):
    edit, audio = stages
    row = audio_row(media["av"], tmp_path, keep=[(0, 300)])
    (same,) = edit.run(row)
    assert same.sound.uri == str(media["av"]) and same.sound.measured == SILENT and not same.edited
    (done,) = audio.run(same)
    # The measurement it was handed says silence: it is trusted, not measured again.
    assert done.result["input_loudness"] == SILENT and not done.result["normalised"]


def test_voice_clean_up_alone_also_makes_a_new_sound(media, tmp_path, stages):
    edit, _ = stages
    (cleaned,) = edit.run(audio_row(media["av"], tmp_path, keep=[(0, 300)], voice=True))
    assert cleaned.voice_cleanup and not cleaned.edited and cleaned.sound.measured is None
    assert json.loads(json.dumps(cleaned.to_row()))["sound"]
