"""The live progress view through the CLI: plain lines when the output is not a terminal, the
panel in a real terminal (tmux), and ``status --watch`` mirroring it from a second terminal."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ffmpeg

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FLAGS = ("--executor", "local", "--quality", "low", "--mode", "fast")
TMUX = shutil.which("tmux")


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """Three 6 s clips and a file that is not a video."""
    root = tmp_path_factory.mktemp("live_in")
    for name in ("a", "b", "c"):
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
               "sine=duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
               str(root / f"{name}.mp4"))  # fmt: skip
    (root / "broken.mp4").write_bytes(b"not a video\n" * 40)
    return root


def test_plain_progress_lines(batch, tmp_path):
    started = time.monotonic()
    out = tmp_path / "out"
    # The input as a relative path, as users type it: the job records where it really is.
    command = [sys.executable, "-m", "raybatch", "batch", "process", batch.name, "--output", str(out), *FLAGS]
    run = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=batch.parent
    )
    lines: list[tuple[float, str]] = []
    for line in run.stderr:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    assert run.wait(timeout=300) == 1  # broken.mp4 failed
    first_at, first = lines[0]
    assert first.startswith("🎬 raybatch job batch_") and "4 video(s) to process" in first
    assert first_at < 10, f"the first line came after {first_at:.1f} s"
    text = [line for _, line in lines]
    assert any(line.startswith("⏳ Queued: a.mp4, b.mp4, broken.mp4") for line in text)
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        processing = next(i for i, line in enumerate(text) if line.startswith(f"🔄 Processing: {name} ("))
        completed = next(i for i, line in enumerate(text) if line.startswith(f"✅ Completed: {name} ("))
        assert processing < completed
        assert sum(line.startswith(f"✅ Completed: {name} ") for line in text) == 1  # once per change
    failed = [line for line in text if line.startswith("❌ Failed: broken.mp4 — ")]
    assert len(failed) == 1 and "see summary/error_log.json" in failed[0]
    summaries = [line for line in text if line.startswith("📊 ")]
    assert summaries and summaries[-1].startswith("📊 4/4 videos · average ")

    job_id = re.search(r"raybatch job (\S+):", first).group(1)
    status = [sys.executable, "-m", "raybatch", "batch", "status", "--job-id", job_id, "--output", str(out)]
    shown = subprocess.run([*status, "--json"], capture_output=True, text=True, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert job["input"] == str(batch) and job["state"] == "completed_with_errors"
    assert job["live"]["finished"] == 4 and len(job["live"]["videos"]) == 4
    assert job["live"]["memory_peak_bytes"] > 100 * 1024**2  # recorded by the run for --watch


def _pane(session: str, history: bool = False) -> str:
    """The pane's screen (with ``history``, its scrollback too)."""
    since = ["-S", "-2000"] if history else []
    return subprocess.run(
        ["tmux", "capture-pane", "-p", *since, "-t", session], capture_output=True, text=True, check=True
    ).stdout


def _wait_for(session: str, pattern: str, timeout: float) -> str:
    """The pane once ``pattern`` shows in it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pane = _pane(session)
        if re.search(pattern, pane):
            return pane
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never showed; the pane:\n{_pane(session)}")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (scripts/test.sh installs it)")
def test_live_view_in_a_terminal_and_status_watch(batch, tmp_path):
    out, run_session, watch_session = tmp_path / "out", f"rb-run-{id(tmp_path)}", f"rb-watch-{id(tmp_path)}"
    raybatch = f"{sys.executable} -m raybatch"
    # On Ray, with every log line (Ray's own included) printed while the panel is live.
    flags = "--quality low --mode fast --verbose"
    command = f"cd {REPO} && {raybatch} batch process {batch} --output {out} {flags}; sleep 600"
    size = ["-x", "150", "-y", "40"]
    subprocess.run(["tmux", "new-session", "-d", "-s", run_session, *size, command], check=True)
    try:
        mid = _wait_for(run_session, r"🔄 Processing: \w\.mp4", 120)
        # The first line may have scrolled off under the log lines: read the scrollback too.
        job_id = re.search(r"raybatch job (batch_\d+_\d+)", _pane(run_session, history=True)).group(1)
        watch = f"cd {REPO} && {raybatch} batch status --job-id {job_id} --output {out} --watch; sleep 600"
        subprocess.run(["tmux", "new-session", "-d", "-s", watch_session, *size, watch], check=True)
        assert "🎬 Batch Processing Progress" in mid and "⏳ Queued: " in mid
        watched = _wait_for(watch_session, r"🔄 Processing: |✅ Completed: ", 60)
        assert "🎬 Batch Processing Progress" in watched
        end = _wait_for(run_session, rf"Job {job_id}: 3 done, 1 failed", 240)
        for line in (
            "✅ Completed: a.mp4 (",
            "✅ Completed: c.mp4 (",
            "❌ Failed: broken.mp4 — ",
            "100% 4/4 videos",
        ):
            assert line in end, end
        scrollback = _pane(run_session, history=True)
        assert " DEBUG raybatch." in scrollback and " INFO " in scrollback  # the logs, above the panel
        assert scrollback.count("🎬 Batch Processing Progress") == 1  # never torn into copies
        final = _wait_for(watch_session, r"100% 4/4 videos", 30)  # the watch saw the end too
        assert "❌ Failed: broken.mp4" in final
    finally:
        for session in (run_session, watch_session):
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
