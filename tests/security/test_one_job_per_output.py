"""One job at a time per output location: a second job is refused while the first runs (its
outputs and report stay the first's), and a job that was killed leaves a lock the next one
takes over; ``status`` shows the killed job as interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_av
from tests.helpers import assert_verified_output, load_report
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.security

FAST = ["--executor", "local", "--quality", "low", "--mode", "fast", "--no-analysis", "--no-progress-bar"]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "raybatch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(folder: Path, pattern: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        assert time.monotonic() < deadline, f"{folder}/{pattern} never appeared"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def long_input(tmp_path_factory) -> Path:
    """A 40 s talk: long enough for a second job to start while the first encodes."""
    root = tmp_path_factory.mktemp("long")
    make_av(root / "talk.mp4", size="640x360", duration=40.0)
    return root


def test_a_second_job_into_the_same_output_is_refused(long_input, tmp_path):
    out = tmp_path / "out"
    first = start("batch", "process", str(long_input), "--output", str(out), *FAST)
    wait_for(out, ".raybatch/lock.json")
    second = raybatch("batch", "process", str(long_input), "--output", str(out), *FAST)
    assert second.returncode == 2, second.stderr
    holder = json.loads((out / ".raybatch" / "lock.json").read_text())
    assert f"in use by job {holder['job_id']}" in second.stderr and "another --output" in second.stderr
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert not (out / ".raybatch" / "lock.json").exists()
    report = load_report(out)
    assert report["job_id"] == holder["job_id"] and report["totals"]["done"] == 1
    assert [p.name for p in (out / ".raybatch" / "jobs").iterdir()] == [holder["job_id"]]
    assert_verified_output(
        out / "talk/video/enhanced_talk.mp4", expected_duration=40.0, fps="25/1", has_audio=True
    )


def test_a_killed_job_is_interrupted_and_its_lock_is_taken_over(long_input, tmp_path):
    out = tmp_path / "out"
    first = start("batch", "process", str(long_input), "--output", str(out), *FAST)
    wait_for(out, ".raybatch/jobs/*/manifest.json")  # killed once it has a job to show
    killed_job = json.loads((out / ".raybatch" / "lock.json").read_text())["job_id"]
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    status = raybatch("batch", "status", "--job-id", killed_job, "--output", str(out))
    assert status.returncode == 0 and "interrupted" in status.stdout, status.stdout
    resumed = raybatch("batch", "resume", "--job-id", killed_job, "--output", str(out), "--no-progress-bar")
    assert resumed.returncode == 0, resumed.stderr
    assert f"job {killed_job}" in resumed.stderr and "takes it over" in resumed.stderr
    assert load_report(out)["totals"]["done"] == 1


@pytest.mark.parametrize(
    "lock",
    [
        b"\x00garbage",
        b'{"job_id": "x", "host": "h", "pid": "1; rm", "heartbeat": "now", "token": "t"}',  # wrong types
    ],
)
def test_an_unreadable_lock_is_taken_over(tmp_path, lock):
    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "clip.mp4", duration=1.0)
    out = tmp_path / "out"
    (out / ".raybatch").mkdir(parents=True)
    (out / ".raybatch" / "lock.json").write_bytes(lock)
    result = raybatch("batch", "process", str(videos), "--output", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    assert "not a lock raybatch can read" in result.stderr
    assert not (out / ".raybatch" / "lock.json").exists() and load_report(out)["totals"]["done"] == 1
