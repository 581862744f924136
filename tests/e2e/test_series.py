"""A course processed as one series through the CLI, as the guide's pattern example runs it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_av, make_video_only
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """Three lessons named as the guide's `course_*.mp4` pattern expects (given out of order),
    a file the pattern leaves out, and one lesson that is not a video."""
    root = tmp_path_factory.mktemp("course_videos")
    for number in (2, 1, 10):
        make_av(root / f"course_{number:02d}.mp4", size="320x180", duration=2.0)
    make_video_only(root / "trailer.mp4", duration=1.0)
    (root / "course_03.mp4").write_text("not a video\n")
    out = tmp_path_factory.mktemp("course_output")
    result = raybatch(
        "batch", "process", str(root), "--pattern", "course_*.mp4", "--type", "educational",
        "--coordinate-series", "--output", str(out),
        "--executor", "local", "--quality", "low", "--mode", "fast",
    )  # fmt: skip
    return result, out


def test_the_series_lists_its_episodes_in_order_failed_ones_too(course_run):
    result, out = course_run
    assert result.returncode == 1, result.stderr  # course_03.mp4 is not a video
    document = json.loads((out / "series_coordination" / "series_metadata.json").read_text())
    assert document["series"]["name"] == "Course" and document["series"]["episodes"] == 4
    episodes = [(e["path"], e["episode"], e["status"]) for e in document["episodes"]]
    assert episodes == [
        ("course_01.mp4", 1, "done"),
        ("course_02.mp4", 2, "done"),
        ("course_03.mp4", 3, "failed"),
        ("course_10.mp4", 10, "done"),
    ]
    assert document["series"]["failed"] == [document["episodes"][2]["video"]]
    assert document["playlist"]["title"] == "Course – Full Course"
    assert all(
        e["duration_s"] > 1.5 and e["output"].endswith(".mp4")
        for e in document["episodes"]
        if e["status"] == "done"
    )


def test_every_episode_title_carries_the_series_and_its_number(course_run):
    _, out = course_run
    document = json.loads((out / "series_coordination" / "series_metadata.json").read_text())
    for episode in (e for e in document["episodes"] if e["status"] == "done"):
        metadata = json.loads((out / episode["folder"] / "metadata" / "metadata.json").read_text())
        assert metadata["title"].startswith(f"Course – Episode {episode['episode']}"), metadata["title"]
        series = metadata["series"]
        assert (series["name"], series["episode"], series["episodes"]) == ("Course", episode["episode"], 4)
        assert series["description"] == episode["series_description"]
        assert series["description"].startswith(f"Episode {episode['episode']} of 3 in Course")
        assert episode["title"] == metadata["title"]
    # Neighbours are the done episodes: the failed third is skipped.
    second = next(e for e in document["episodes"] if e["episode"] == 2)
    metadata = json.loads((out / second["folder"] / "metadata" / "metadata.json").read_text())
    assert metadata["series"]["previous"]["episode"] == 1 and metadata["series"]["next"]["episode"] == 10
    assert "Next: episode 10" in second["series_description"]
