"""Where a job may write, checked before anything is: an output that cannot be written or
that holds the input is exit 2 with the fix, and nothing is created outside the output."""

from __future__ import annotations

import pytest

from tests.conftest import make_noisy_av, make_video_only
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.security

FAST = ["--executor", "local", "--quality", "low", "--mode", "fast", "--no-analysis", "--no-progress-bar"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("/proc/raybatch-out", "cannot write the output folder there"),
        ("{in}/clip.mp4", "cannot write the output folder there (Not a directory)"),
        ("{in}", "holds the input"),
        ("{root}", "holds the input"),
    ],
)
def test_an_output_that_cannot_take_the_job_is_refused_before_work(tmp_path, output, message):
    videos = tmp_path / "in"
    videos.mkdir()
    make_video_only(videos / "clip.mp4", duration=1.0)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    target = output.format(**{"in": videos, "root": tmp_path})
    result = raybatch("batch", "process", str(videos), "--output", target, *FAST)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing was created


def test_a_listed_file_that_does_not_exist_is_not_found(tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_video_only(videos / "here.mp4", duration=1.0)
    listing = tmp_path / "videos.txt"
    listing.write_text("in/here.mp4\nin/gone.mp4\n")
    result = raybatch("batch", "process-list", str(listing), "--output", str(tmp_path / "out"), *FAST)
    assert result.returncode == 1 and "1 done, 1 failed" in result.stdout
    assert "gone.mp4 was not found" in result.stderr and "permissions" not in result.stderr


def test_a_disk_without_room_for_the_first_video_is_refused_before_work(small_disk, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_noisy_av(videos / "big.mp4", duration=6)
    out = small_disk / "out"
    result = raybatch("batch", "process", str(videos), "--output", str(out), *FAST)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MiB free, but the first video" in result.stderr and "big.mp4" in result.stderr
    assert "fix: free space" in result.stderr and "Traceback" not in result.stderr
    assert not list(out.rglob("*.json"))  # no job began: no manifest, no lock
