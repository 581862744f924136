"""The edit never cuts a word, however far the speaker sits from the microphone: generated
lessons (synthetic voices at known times, a second quieter speaker talking over the first, room
reverberation and noise) go through the whole pipeline, and every placed phrase is in the
edited video, where the speech detector hears it again."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from raybatch import run_batch
from raybatch.analysis.edl import Edl, intersect
from raybatch.analysis.speech import detect_speech
from tests.helpers import batch_config
from tests.synthetic_speech import ROOMS, make_speech_clip

#: The hardest rooms of ``scripts/bench/edit_quality.py`` (which measures every level).
CLIPS = {"very_far": ("very_far", True), "meeting": ("meeting", True)}


@pytest.fixture(scope="module")
def edited(ray_session, tmp_path_factory):
    videos = tmp_path_factory.mktemp("far_in")
    clips = {
        name: make_speech_clip(videos / f"{name}.mp4", ROOMS[room], second_speaker=second, seed=3, phrases=5)
        for name, (room, second) in CLIPS.items()
    }
    out = tmp_path_factory.mktemp("far_out")
    result = run_batch(batch_config(videos, out, "ray", content_type="educational", mode="fast"))
    assert result.ok, result.failed
    return clips, out


@pytest.mark.parametrize("name", CLIPS)
def test_every_placed_phrase_is_kept(edited, name):
    clips, out = edited
    clip = clips[name]
    edl = Edl.from_dict(json.loads((out / name / "metadata" / "edl.json").read_text()))
    kept = edl.kept_spans_s()
    recall = sum(b - a for a, b in intersect(clip.truth, kept)) / clip.speech_s()
    assert recall >= 0.99, (name, recall)
    for start, end in clip.phrases:
        assert sum(b - a for a, b in intersect([(start, end)], kept)) >= end - start - 0.02, (start, end)
    assert edl.cuts, "nothing was cut: the test would not show that cuts spare the words"


@pytest.mark.parametrize("name", CLIPS)
def test_the_edited_sound_holds_every_phrase(edited, name):
    from raybatch.models.vad import SpeechModel

    clips, out = edited
    edl = Edl.from_dict(json.loads((out / name / "metadata" / "edl.json").read_text()))
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out / name / "video" / f"enhanced_{name}.mp4"),
         "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    heard = detect_speech(SpeechModel(prefer_gpu=False), np.frombuffer(raw, np.float32), 16000).vad_spans
    for start, end in clips[name].phrases:
        begin, finish = edl.to_output_times([start, end - 0.02])
        covered = sum(b - a for a, b in intersect([(begin, finish)], heard))
        assert covered >= 0.8 * (finish - begin), (name, start, end, heard)
