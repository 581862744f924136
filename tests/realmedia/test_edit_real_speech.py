"""The edit on real speech (auto-editor/example.mp4) and on near-silence (man-on-green-screen):
long pauses go, every word stays, and a video with no speech is not cut to nothing."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from raybatch.analysis.edl import Edl
from tests.conftest import SHARED_MEDIA
from tests.helpers import batch_config

pytestmark = [
    pytest.mark.realmedia,
    pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is not present"),
]


def speech_in(path) -> list[tuple[float, float]]:
    """Silero VAD on a file's audio (16 kHz mono decoded by ffmpeg)."""
    from raybatch.models.vad import SpeechModel

    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return SpeechModel().speech(np.frombuffer(raw, np.float32))


@pytest.fixture(scope="module")
def educational_run(tmp_path_factory):
    from raybatch import run_batch

    src = tmp_path_factory.mktemp("speech_in")
    for name in ("example.mp4", "only-video/man-on-green-screen.mp4"):
        shutil.copy(SHARED_MEDIA / "auto-editor" / name, src / name.rsplit("/", 1)[-1])
    out = tmp_path_factory.mktemp("speech_out")
    config = batch_config(src, out, "local", content_type="educational", mode="balanced")
    result = run_batch(config)
    assert result.ok, result.failed
    return src, out


def test_long_silences_go_and_every_word_stays(educational_run):
    src, out = educational_run
    edl = Edl.from_dict(json.loads((out / "example" / "metadata" / "edl.json").read_text()))
    assert edl.kept_seconds() < 42.5 - 15, "the long pauses were not cut"
    before = speech_in(src / "example.mp4")
    after = speech_in(out / "example" / "video" / "enhanced_example.mp4")
    fps = 30
    for start, end in before:
        # Every speech frame of the input survives the EDL ...
        frames = range(int(start * fps), int(end * fps))
        assert all(edl.to_output_frame(f) is not None for f in frames), (start, end)
    # ... and the output, listened to again, holds as much speech as the input did.
    spoken_before = sum(b - a for a, b in before)
    spoken_after = sum(b - a for a, b in after)
    assert spoken_after >= 0.95 * spoken_before, (before, after)


def test_near_silent_video_is_not_cut_to_nothing(educational_run):
    _, out = educational_run
    edl = json.loads((out / "man-on-green-screen" / "metadata" / "edl.json").read_text())
    assert edl["kept_duration_s"] >= 0.25 * edl["source_duration_s"]
    assert "nothing is cut" in edl["decision"]
