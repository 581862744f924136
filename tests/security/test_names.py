"""Any name a filesystem allows is processed: bytes that are not UTF-8, 250-byte names, names
that differ only in case. And raybatch's own output goes through raybatch again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_av
from tests.helpers import assert_verified_output, load_report
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.security

FAST = ["--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar"]
NOT_UTF8 = os.fsdecode(b"caf\xe9 \xff.mp4")  # Latin-1 bytes, as an old camera or zip names them
LONG = "L" * 246 + ".mp4"  # 250 bytes: enhanced_ and a temporary suffix would pass 255


def test_hostile_names_are_processed_into_distinct_bounded_folders(tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "Talk.mp4", duration=1.0)
    for name in ("talk.MP4", NOT_UTF8, LONG):
        shutil.copy(videos / "Talk.mp4", os.path.join(videos, name))
    out = tmp_path / "out"
    result = raybatch("batch", "process", str(videos), "--output", str(out), "--no-analysis", *FAST)
    assert result.returncode == 0, result.stderr
    assert "4 done, 0 failed" in result.stdout
    folders = [p.name for p in out.iterdir() if p.name not in ("summary", ".raybatch")]
    assert len({f.casefold() for f in folders}) == 4, folders
    for folder in folders:
        assert folder == os.fsdecode(os.fsencode(folder)).encode("utf-8", "strict").decode()  # UTF-8
        (video,) = (out / folder / "video").iterdir()
        assert len(os.fsencode(video.name)) <= 255
        assert_verified_output(video, expected_duration=1.0, fps="25/1", has_audio=True)
    assert "caf_xe9 _xff" in folders
    # Every JSON file is strict UTF-8 JSON, and the manifest gives the original bytes back.
    manifest = next((out / ".raybatch" / "jobs").glob("*/manifest.json"))
    sources = {v["source"] for v in json.loads(manifest.read_bytes().decode("utf-8"))["videos"].values()}
    assert os.path.join(str(videos), NOT_UTF8) in sources
    assert load_report(out)["totals"]["done"] == 4


def test_raybatch_output_goes_through_raybatch_again(tmp_path):
    """Idempotence: a processed video, processed again, verifies and stays on target."""
    first_in, again_in = tmp_path / "in", tmp_path / "again"
    first_in.mkdir()
    again_in.mkdir()
    make_av(first_in / "clip.mp4", duration=1.0)
    out = tmp_path / "out"
    assert raybatch("batch", "process", str(first_in), "--output", str(out), *FAST).returncode == 0
    shutil.copy(out / "clip" / "video" / "enhanced_clip.mp4", again_in / "clip.mp4")
    second = raybatch("batch", "process", str(again_in), "--output", str(tmp_path / "out2"), *FAST)
    assert second.returncode == 0, second.stderr
    (video,) = load_report(tmp_path / "out2")["videos"]
    after = video["loudness"]["after"]
    assert abs(after["integrated_lufs"] - video["loudness"]["target_lufs"]) <= 0.5
    assert after["true_peak_dbtp"] <= video["loudness"]["true_peak_ceiling_dbtp"]
    assert_verified_output(Path(video["output"]), expected_duration=1.0, fps="25/1", has_audio=True)
