"""The guide's custom output organisation, through the CLI: every file where its pattern says,
thumbnails.json naming the published files, and a retry that finds the done episodes' files
under their custom names when it writes the series files again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ffmpeg
from tests.helpers import assert_verified_output
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e

#: The guide's block, as shipped.
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "custom_output.yaml"
EPISODES = ("course_10.mp4", "course_2.mp4", "course_1.mp4")
BROKEN = "course_3.mp4"
VOICE_GATE = "volume='if(lt(mod(t,2),1.2),0.4,0)':eval=frame"


def _episode(path: Path, hue: int) -> None:
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration=6,hue=h={hue}",
        "-f", "lavfi", "-i", f"sine=frequency=300:duration=6,{VOICE_GATE}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(path),
    )  # fmt: skip


@pytest.fixture(scope="module")
def custom_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("course_videos")
    for number, name in enumerate(EPISODES):
        _episode(root / name, number * 90)
    (root / BROKEN).write_text("not a video yet")
    out = tmp_path_factory.mktemp("course_output")
    result = raybatch(
        "batch", "process", str(root), "--config", str(CONFIG), "--series-name", "Python Basics",
        "--output", str(out), "--executor", "local", "--quality", "low", "--mode", "fast",
        "--no-progress-bar",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # the broken episode failed; the rest is done
    return root, out


def _episodes(out: Path) -> list[dict]:
    document = json.loads((out / "series_coordination" / "series_metadata.json").read_text())
    return document["episodes"]


def test_every_file_lands_where_its_pattern_says(custom_run):
    _, out = custom_run
    series = out / "Python Basics"
    for number, stem in ((1, "course_1"), (2, "course_2"), (10, "course_10")):
        metadata_file = series / "metadata" / stem / f"Python Basics_E{number:02d}_metadata.json"
        metadata = json.loads(metadata_file.read_text())
        (video,) = (series / f"{number:02d}_{stem}").glob("*.mp4")
        assert video.name == f"Python Basics_E{number:02d}_{metadata['title']}.mp4".replace("/", "_")
        assert_verified_output(video, expected_duration=6.0, fps="25/1", has_audio=True)
        assert (series / "metadata" / stem / f"Python Basics_E{number:02d}_metadata.edl.json").is_file()
        thumbs = series / "thumbnails" / stem
        index = json.loads((thumbs / f"Python Basics_E{number:02d}_thumb_index.json").read_text())
        for entry in index["thumbnails"]:
            assert entry["file"].startswith(f"Python Basics_E{number:02d}_thumb_"), entry
            assert (thumbs / entry["file"]).is_file()
        assert (thumbs / f"Python Basics_E{number:02d}_thumb_title.jpg").is_file()
    # Nothing in the default places, nothing outside the patterns' folders.
    assert sorted(p.name for p in out.iterdir()) == [
        ".raybatch",
        "Python Basics",
        "series_coordination",
        "summary",
    ]
    report = json.loads((out / "summary" / "batch_report.json").read_text())
    for entry in report["videos"]:
        assert all((out / path).is_file() for path in entry.get("files", {}).values()), entry


def test_retry_finds_the_done_episodes_under_their_custom_names(custom_run):
    root, out = custom_run
    done = {e["video"]: e["output"] for e in _episodes(out) if e["status"] == "done"}
    assert len(done) == 3
    stamps = {key: Path(path).stat().st_mtime_ns for key, path in done.items()}
    _episode(root / BROKEN, 45)
    job_id = next((out / ".raybatch" / "jobs").iterdir()).name
    result = raybatch("batch", "retry", "--job-id", job_id, "--no-progress-bar")
    assert result.returncode == 0, result.stderr
    episodes = _episodes(out)
    assert [e["episode"] for e in episodes] == [1, 2, 3, 10]
    assert all(e["status"] == "done" and Path(e["output"]).is_file() for e in episodes)
    assert "/03_course_3/Python Basics_E03_" in episodes[2]["output"]
    # The earlier episodes were not made again, and the series step found their files.
    assert {k: Path(done[k]).stat().st_mtime_ns for k in done} == stamps
    branding = json.loads((out / "series_coordination" / "unified_branding" / "branding.json").read_text())
    assert len(branding["episodes"]) == 4
    for episode in branding["episodes"].values():
        assert (out / episode["title_thumbnail"]).is_file()
