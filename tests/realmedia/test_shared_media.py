"""A batch over real recordings from ../shared/media (skipped when the folder is absent)."""

from __future__ import annotations

import json
import shutil

import pytest

from raybatch.package.thumbnails import BLUR_FLOOR
from tests.conftest import SHARED_MEDIA
from tests.helpers import (
    assert_thumbnails_obey_the_rules,
    assert_valid_chapters,
    assert_verified_output,
    load_report,
)

pytestmark = [
    pytest.mark.realmedia,
    pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is not present"),
]

#: A short mix: rotation, SAR, 4:2:2, HEVC, subtitles/attachments, VFR, late start, no container
#: duration, audio shorter than video, alpha, and files with no real video stream. Real speech
#: (auto-editor/example.mp4) has its own, stricter test: test_edit_real_speech.py.
DECODABLE = [
    "auto-editor/SAR-2by3.mp4",
    "auto-editor/test_yuv422p.mp4",
    "auto-editor/testsrc-hevc.mp4",
    "auto-editor/mov_text.mp4",
    "auto-editor/testsrc_with_attachment.mkv",
    "moviepy/fire2.mp4",
    "moviepy/no_duration.webm",
    "moviepy/transparent.webm",
    "moviepy/video_with_failing_audio.mp4",
    "pyscenedetect/delayed_start.mp4",
    "pyscenedetect/goldeneye-vfr-drop3.mp4",
    "pyscenedetect/issue-134-rotate.mp4",
    "moviepy/big_buck_bunny_0_30.webm",
]
NOT_VIDEO = ["moviepy/with-attached-pic.mp3", "auto-editor/aac.m4a"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, ray_session):
    from raybatch import load_config, run_batch

    src = tmp_path_factory.mktemp("real_in")
    for rel in DECODABLE + NOT_VIDEO:
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_MEDIA / rel, target)
    out = tmp_path_factory.mktemp("real_out")
    config = load_config(
        None,
        {
            "input": str(src),
            "batch": {"recursive": True},
            "processing": {"quality": "low", "mode": "fast"},
            "output": {"directory": str(out)},
            "monitoring": {"enable_progress_tracking": False},
        },
    )
    return run_batch(config), out


def test_every_decodable_video_is_verified(real_run):
    _, out = real_run
    report = load_report(out)
    for rel in DECODABLE:
        entry = next(v for v in report["videos"] if v["source"].endswith(rel))
        assert entry["status"] == "done", (rel, entry.get("error"))
        media = entry["source_video"]
        assert_verified_output(
            out / entry["output"].split(str(out), 1)[1].lstrip("/"),
            expected_duration=entry["kept_duration_s"],  # the EDL's (general: long silences cut)
            fps=media["fps"],
            has_audio=entry["has_audio"],
        )
        if entry["has_audio"] and entry["loudness"]["after"]:
            peak = entry["loudness"]["after"]["true_peak_dbtp"]
            assert peak is None or peak <= -1.5  # silence has no peak (-inf): null in JSON


def test_only_long_silences_are_cut_in_general_videos(real_run):
    _, out = real_run
    for entry in load_report(out)["videos"]:
        if entry["status"] == "done":
            assert entry["content_type"] == "general"
            assert entry["kept_duration_s"] <= entry["input_duration_s"] + 0.05  # whole frames
            assert entry["kept_duration_s"] >= 0.25 * entry["input_duration_s"]


def test_rotation_and_sar_are_applied(real_run):
    _, out = real_run
    report = load_report(out)
    rotate = next(v for v in report["videos"] if v["source"].endswith("issue-134-rotate.mp4"))
    assert rotate["output_resolution"] == [544, 1280]
    sar = next(v for v in report["videos"] if v["source"].endswith("SAR-2by3.mp4"))
    assert sar["output_resolution"] == [428, 360]


def test_files_without_video_are_clear_errors(real_run):
    result, out = real_run
    assert not result.ok
    errors = json.loads((out / "summary" / "error_log.json").read_text())["errors"]
    assert len(errors) == len(NOT_VIDEO)
    messages = {e["file"].rsplit("/", 1)[1]: e["message"] for e in errors}
    assert "only cover art" in messages["with-attached-pic.mp3"]
    assert "streams found: audio" in messages["aac.m4a"]


def assert_title_on_a_still_or_card(folder, entry: dict, all_black: bool) -> None:
    assert sorted(p.name for p in (folder / "thumbnails").iterdir()) == ["thumbnails.json", "title.jpg"]
    (made,) = json.loads((folder / "thumbnails" / "thumbnails.json").read_text())["thumbnails"]
    assert made["strategy"] == "title" and made["text"]
    if all_black:
        assert made["source_time_s"] is None and "plain card" in made["fallback"]
    assert any(w.startswith("thumbnails: no") and made["fallback"] in w for w in entry["warnings"])


def test_every_video_gets_thumbnails_and_long_ones_chapters(real_run):
    _, out = real_run
    report = load_report(out)
    for entry in (v for v in report["videos"] if v["status"] == "done"):
        folder = out / entry["video"]
        analysis = json.loads((folder / "metadata" / "analysis.json").read_text())
        black = sum(b - a for a, b in analysis["picture"]["black"])
        detail = analysis["picture"]["statistics"]["sharpness"]
        if black >= analysis["duration_s"] - 0.1 or detail < BLUR_FLOOR:
            # Nothing but black (no_duration.webm) or a flat field (delayed_start.mp4): no frame
            # passes the rules, so the one thumbnail is the title on the still picture (never a
            # black one) or on a card, and both the index and the report say why.
            assert_title_on_a_still_or_card(folder, entry, all_black=black >= analysis["duration_s"] - 0.1)
            continue
        assert_thumbnails_obey_the_rules(folder)
        metadata = json.loads((folder / "metadata" / "metadata.json").read_text())
        if metadata["duration_s"] >= 30:
            assert_valid_chapters(metadata)
        else:
            assert metadata["chapters"] == [], entry["video"]
    bunny = json.loads((out / "big_buck_bunny_0_30" / "metadata" / "metadata.json").read_text())
    assert len(bunny["chapters"]) == 3
