"""Jobs as a user lives them: status, interrupt, kill, resume, checkpoint, retry, file lists.

Real processes and real signals: the CLI runs as a subprocess (local executor, analysis off, so
each run is quick) and is interrupted or killed while it encodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ffmpeg, make_av, make_noisy_av, make_video_only
from tests.helpers import assert_verified_output, load_report
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e

FAST = ["--executor", "local", "--quality", "low", "--mode", "fast", "--no-analysis", "--no-progress-bar"]


def start(*args: str) -> subprocess.Popen:
    """The CLI in the background, with Ctrl-C's default meaning: a test run started as a
    background job of a script ignores SIGINT, and its children would inherit that."""
    return subprocess.Popen(
        [sys.executable, "-m", "raybatch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def job_id_of(out: Path) -> str:
    (job,) = [p.name for p in (out / ".raybatch" / "jobs").iterdir()]
    return job


def manifest_of(out: Path) -> dict:
    return json.loads((out / ".raybatch" / "jobs" / job_id_of(out) / "manifest.json").read_text())


def wait_for(condition, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def finished_segments(out: Path) -> list[Path]:
    return sorted((out / ".raybatch" / "work").rglob("seg_*.mp4"))


@pytest.fixture(scope="module")
def long_batch(tmp_path_factory):
    """Two 40 s videos that split into four 10 s segments each (a config sets the size)."""
    root = tmp_path_factory.mktemp("long_in")
    make_av(root / "one.mp4", size="320x180", duration=40.0)
    make_av(root / "two.mp4", size="320x180", duration=40.0)
    config = root.parent / f"{root.name}.yaml"
    config.write_text("processing:\n  segment_seconds: 10\n  min_segment_seconds: 10\n")
    return root, config


def test_killed_driver_resumes_without_encoding_finished_segments_again(long_batch, tmp_path):
    videos, config = long_batch
    out = tmp_path / "out"
    proc = start("batch", "process", str(videos), "--output", str(out), "--config", str(config), *FAST)
    wait_for(lambda: len(finished_segments(out)) >= 2, what="two finished segments")
    os.kill(proc.pid, signal.SIGKILL)  # no cleanup, no manifest save: a crash
    proc.wait(timeout=30)
    # (video, segment id): the two inputs have identical content, hence identical segment ids.
    before_kill = {
        (path.parent.name, path.name.split("_", 2)[2].removesuffix(".mp4")) for path in finished_segments(out)
    }
    job_id = job_id_of(out)

    # Its manifest still says running, but no process holds its output: it was interrupted.
    status = raybatch("batch", "status")
    line = next(line for line in status.stdout.splitlines() if line.startswith(job_id))
    assert "interrupted" in line, status.stdout

    result = raybatch("batch", "resume", "--job-id", job_id, "--no-progress-bar")
    assert result.returncode == 0, result.stderr
    for name in ("one", "two"):
        assert_verified_output(
            out / name / "video" / f"enhanced_{name}.mp4", expected_duration=40.0, fps="25/1", has_audio=True
        )
    resumed = pq.read_table(out / "summary" / "metrics" / f"{job_id}.run2.parquet").to_pylist()
    encodes = [r for r in resumed if r["stage"] == "encode"]
    reencoded = {(r["video"], r["segment_id"]) for r in encodes if r["status"] == "ok"}
    reused = {(r["video"], r["segment_id"]) for r in encodes if r["status"] == "reused"}
    assert before_kill <= reused, (before_kill, reused)
    assert not (before_kill & reencoded)
    manifest = manifest_of(out)
    assert manifest["state"] == "completed" and [r["kind"] for r in manifest["runs"]] == ["process", "resume"]
    assert not (out / ".raybatch" / "work" / job_id).exists()


def test_ctrl_c_saves_the_job_and_says_how_to_resume(long_batch, tmp_path):
    videos, config = long_batch
    out = tmp_path / "out"
    proc = start("batch", "process", str(videos), "--output", str(out), "--config", str(config), *FAST)
    wait_for(lambda: len(finished_segments(out)) >= 1, what="a finished segment")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    job_id = job_id_of(out)
    assert f"raybatch batch resume --job-id {job_id}" in stderr
    manifest = manifest_of(out)
    assert manifest["state"] == "interrupted"
    assert any(v["state"] in ("queued", "running") for v in manifest["videos"].values())
    detail = raybatch("batch", "status", "--job-id", job_id)
    assert "interrupted" in detail.stdout and f"resume --job-id {job_id}" in detail.stdout

    # A checkpoint now, then finish the job, then return to the checkpoint: the videos that
    # were unfinished at the checkpoint are processed again.
    assert raybatch("batch", "checkpoint", "--job-id", job_id, "--checkpoint-name", "halfway").returncode == 0
    unfinished_then = sorted(k for k, v in manifest_of(out)["videos"].items() if v["state"] != "done")
    assert raybatch("batch", "resume", "--job-id", job_id, "--no-progress-bar").returncode == 0
    assert manifest_of(out)["state"] == "completed"
    again = raybatch("batch", "resume", "--job-id", job_id, "--from-checkpoint", "--no-progress-bar")
    assert again.returncode == 0, again.stderr
    assert "checkpoint 'halfway'" in again.stdout
    last_run = manifest_of(out)["runs"][-1]
    assert last_run["kind"] == "resume" and sorted(last_run["videos"]) == unfinished_then
    assert manifest_of(out)["state"] == "completed"


def test_process_list_retry_and_status(tmp_path, media):
    good = tmp_path / "in"
    good.mkdir()
    make_video_only(good / "first clip.mp4", duration=2.0)
    make_video_only(good / "second.mp4", duration=1.0)
    broken = good / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    listing = tmp_path / "videos.txt"
    listing.write_text(
        f"# lecture recordings\nin/first clip.mp4\n\n{good / 'second.mp4'}\nin/missing.mp4\nin/broken.mp4\n"
    )
    out = tmp_path / "out"
    result = raybatch("batch", "process-list", str(listing), "--output", str(out), *FAST)
    assert result.returncode == 1
    assert "2 done, 2 failed of 4 videos" in result.stdout
    errors = {e["video"]: e for e in json.loads((out / "summary" / "error_log.json").read_text())["errors"]}
    assert set(errors) == {"missing", "broken"}
    assert "missing.mp4" in errors["missing"]["file"] and errors["missing"]["hint"]
    job_id = job_id_of(out)
    assert f"raybatch batch retry --job-id {job_id}" in result.stderr
    page = out / "summary" / "report.html"
    assert page.read_text().count('<article class="video failed"') == 2

    # The broken file is fixed meanwhile; the missing one appears: retry picks both up.
    make_video_only(broken, duration=1.0)
    make_video_only(good / "missing.mp4", duration=1.0)
    retried = raybatch("batch", "retry", "--job-id", job_id, "--retry-count", "2", "--no-progress-bar")
    assert retried.returncode == 0, retried.stderr
    report = load_report(out)
    assert report["totals"] == {**report["totals"], "videos": 4, "done": 4, "failed": 0}
    manifest = manifest_of(out)
    assert manifest["videos"]["broken"]["attempts"] == 2
    assert manifest["videos"]["first clip"]["attempts"] == 1
    assert [r["kind"] for r in manifest["runs"]] == ["process", "retry"]
    refreshed = page.read_text()  # the page is rewritten by the retry
    assert refreshed.count('<article class="video done"') == 4 and 'class="video failed"' not in refreshed

    listed = raybatch("batch", "status")
    line = next(line for line in listed.stdout.splitlines() if line.startswith(job_id))
    assert "completed" in line and "4/0/0" in line and str(out) in line


def test_two_jobs_in_the_same_second_get_their_own_ids():
    from datetime import datetime

    from raybatch.jobs.ids import claim_job_id

    now = datetime(2026, 1, 2, 3, 4, 5)
    first, second = claim_job_id("/a", now), claim_job_id("/b", now)
    assert first == "batch_20260102_030405" and second == "batch_20260102_030405_2"


def test_resume_reports_a_changed_input(tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "talk.mp4", size="320x180", duration=2.0)
    make_video_only(videos / "bad.mp4", duration=1.0)
    out = tmp_path / "out"
    # Stop on the first failure: "bad" is truncated, "talk" is never reached.
    (videos / "bad.mp4").write_bytes((videos / "bad.mp4").read_bytes()[:2000])
    (videos / "bad.mp4").rename(videos / "a_bad.mp4")
    result = raybatch("batch", "process", str(videos), "-o", str(out), "--error-handling", "stop", *FAST)
    assert result.returncode == 1
    job_id = job_id_of(out)
    assert manifest_of(out)["videos"]["talk"]["state"] == "cancelled"
    # talk.mp4 changes before the job goes on.
    make_av(videos / "talk.mp4", size="320x180", duration=3.0)
    retried = raybatch("batch", "retry", "--job-id", job_id, "--retry-count", "3", "--no-progress-bar")
    assert retried.returncode == 1
    assert "not retried again" in retried.stderr.lower() and "a_bad" in retried.stderr
    assert manifest_of(out)["videos"]["a_bad"]["attempts"] == 2  # the first try, then one retry
    assert "talk.mp4 changed since the job began" in retried.stdout
    assert manifest_of(out)["videos"]["talk"]["state"] == "done"
    assert_verified_output(
        out / "talk" / "video" / "enhanced_talk.mp4", expected_duration=3.0, fps="25/1", has_audio=True
    )


def long_and_short(long_batch, tmp_path) -> Path:
    """A folder with a 40 s video (a --timeout of 3 s stops it) and a 1 s one."""
    videos, _ = long_batch
    mixed = tmp_path / "in"
    mixed.mkdir()
    (mixed / "long.mp4").symlink_to(videos / "one.mp4")
    make_video_only(mixed / "short.mp4", duration=1.0)
    return mixed


def test_timeout_cancels_one_video_and_the_batch_goes_on(long_batch, tmp_path):
    mixed = long_and_short(long_batch, tmp_path)
    out = tmp_path / "out"
    result = raybatch("batch", "process", str(mixed), "-o", str(out), "--timeout", "3", *FAST)
    assert result.returncode == 1
    entries = {v["video"]: v for v in load_report(out)["videos"]}
    assert entries["short"]["status"] == "done"
    assert entries["long"]["status"] == "timed_out"
    message = entries["long"]["error"]["message"]
    assert "timed out" in message and "--timeout" in message
    assert not list((out / "long").rglob("enhanced_*"))
    assert manifest_of(out)["videos"]["long"]["state"] == "timed_out"
    # retry (and resume) take --timeout too: this attempt is given 4 s.
    job_id = manifest_of(out)["job_id"]
    again = raybatch(
        "batch", "retry", "--job-id", job_id, "--retry-count", "1", "--timeout", "4", "--no-progress-bar"
    )
    assert again.returncode == 1, again.stderr
    entries = {v["video"]: v for v in load_report(out)["videos"]}
    assert (
        entries["long"]["status"] == "timed_out" and "longer than 4 s" in entries["long"]["error"]["message"]
    )


def test_process_retries_what_is_worth_retrying_within_the_command(long_batch, tmp_path):
    mixed = long_and_short(long_batch, tmp_path)
    (mixed / "broken.mp4").write_text("not a video\n")
    out = tmp_path / "out"
    result = raybatch(
        "batch", "process", str(mixed), "-o", str(out), "--timeout", "3", "--retry-count", "2",
        "--backoff", "0", *FAST,
    )  # fmt: skip
    assert result.returncode == 1
    # The timeout is retried twice; the broken input, a failure of the input itself, is not.
    assert "1 still failing; attempt 2/3 in 0 s." in result.stdout
    assert "1 still failing; attempt 3/3 in 0 s." in result.stdout
    manifest = manifest_of(out)
    attempts = {key: video["attempts"] for key, video in manifest["videos"].items()}
    assert attempts == {"broken": 1, "long": 3, "short": 1}
    assert [run["kind"] for run in manifest["runs"]] == ["process", "retry", "retry"]
    entries = {e["video"]: e for e in json.loads((out / "summary" / "error_log.json").read_text())["errors"]}
    assert entries["long"]["attempt"] == 3 and entries["long"]["kind"] == "timeout"
    assert entries["broken"]["attempt"] == 1


def test_strict_mode_turns_warnings_into_failures(tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    # Room tone at about -55 LUFS: kept as is (with a warning) rather than lifted 40 dB.
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=3",
        "-f", "lavfi", "-i", "anoisesrc=a=0.002:c=pink:d=3:r=48000",
        "-c:v", "libx264", "-c:a", "aac", "-shortest", str(videos / "quiet.mp4"),
    )  # fmt: skip
    lenient = raybatch("batch", "process", str(videos), "-o", str(tmp_path / "lenient"), *FAST)
    assert lenient.returncode == 0, lenient.stderr
    (entry,) = load_report(tmp_path / "lenient")["videos"]
    assert entry["warnings"]
    strict = raybatch("batch", "process", str(videos), "-o", str(tmp_path / "strict"), "--strict-mode", *FAST)
    assert strict.returncode == 1
    (entry,) = load_report(tmp_path / "strict")["videos"]
    assert entry["status"] == "failed" and "strict mode" in entry["error"]["message"]
    assert not list((tmp_path / "strict").rglob("enhanced_*"))  # nothing committed


def test_a_full_disk_is_a_clear_error_and_the_job_resumes_after_space_is_freed(small_disk, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_noisy_av(videos / "big.mp4", duration=8)
    # Natural order takes "a_small" first: room for its work passes the check before work,
    # and the disk fills during the big one.
    make_video_only(videos / "a_small.mp4", size="160x120", duration=1.0)
    out = small_disk / "out"
    result = raybatch("batch", "process", str(videos), "-o", str(out), *FAST)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "space" in result.stderr.lower()
    assert not [p for p in out.rglob("enhanced_*") if p.stat().st_size == 0]  # nothing half-written
    job_id = job_id_of(out)
    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    retried = raybatch("batch", "retry", "--job-id", job_id, "--retry-count", "1", "--no-progress-bar")
    assert retried.returncode == 0, retried.stderr
    assert_verified_output(
        out / "big" / "video" / "enhanced_big.mp4", expected_duration=8.0, fps="25/1", has_audio=True
    )


def test_bad_input_corpus_each_gets_one_clear_error(tmp_path):
    from tests.conftest import sha256

    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "source.mp4", size="320x180", duration=4.0)
    whole = (videos / "source.mp4").read_bytes()
    (videos / "source.mp4").rename(videos / """it's "quoted" — café.mp4""")  # a good one, odd name
    (videos / "truncated.mp4").write_bytes(whole[: len(whole) // 2])  # index (moov) at the end: lost
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=4", "-c:v", "libx264",
        "-movflags", "+faststart", str(tmp_path / "faststart.mp4"),
    )  # fmt: skip
    faststart = (tmp_path / "faststart.mp4").read_bytes()
    (videos / "ends_early.mp4").write_bytes(faststart[: len(faststart) * 6 // 10])  # index says 4 s
    unreadable = videos / "locked.mp4"
    unreadable.write_bytes(faststart)
    unreadable.chmod(0)
    expected_failures = {"truncated", "ends_early"} | ({"locked"} if os.geteuid() != 0 else set())
    before = {p: sha256(p) for p in videos.iterdir() if os.access(p, os.R_OK)}
    out = tmp_path / "out"
    result = raybatch("batch", "process", str(videos), "-o", str(out), *FAST)
    assert result.returncode == 1
    errors = json.loads((out / "summary" / "error_log.json").read_text())["errors"]
    assert {e["video"] for e in errors} == expected_failures
    for error in errors:
        assert error["file"] and error["stage"] and error["message"] and error["hint"], error
    good = next((out).glob("it*quoted*"))
    assert_verified_output(
        good / "video" / f"enhanced_{good.name}.mp4", expected_duration=4.0, fps="25/1", has_audio=True
    )
    assert before == {p: sha256(p) for p in before}
