"""Faults on the shared Ray session: a worker killed while it encodes, an input that vanishes
after discovery."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil

from raybatch import run_batch
from raybatch.jobs.lifecycle import new_job
from tests.conftest import make_av
from tests.helpers import assert_verified_output, batch_config, load_report


def _kill_an_encoding_worker(work_marker: str, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the Ray worker whose ffmpeg writes a segment of this job (once), half a second
    into that encode: by then rows queue behind the busy encoders and the pool has grown, so
    the restarted actor must find room beside the actors added meanwhile (before the branches
    drained early, it never did and the run hung)."""
    while not stop.is_set() and not killed:
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if "libx264" in cmdline and any(work_marker in part for part in cmdline):
                time.sleep(0.5)
                try:
                    worker = proc.parent() if proc.is_running() else None
                    if worker is not None and "ray" in " ".join(worker.cmdline()).lower():
                        os.kill(worker.pid, signal.SIGKILL)
                        killed.append(worker.pid)
                        return
                except psutil.Error:
                    continue
        time.sleep(0.05)


def test_a_worker_killed_mid_encode_does_not_lose_the_job(ray_session, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "lecture.mp4", size="320x180", duration=40.0)
    make_av(videos / "talk.mp4", size="320x180", duration=20.0)
    out = tmp_path / "out"
    config = batch_config(videos, out, "ray", analysis=False, segment_seconds=10, min_segment_seconds=10)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_an_encoding_worker, args=(str(out), killed, stop), daemon=True)
    killer.start()
    try:
        result = run_batch(config)
    finally:
        stop.set()
        killer.join(timeout=5)
    assert killed, "no encoding worker was found to kill"
    assert result.ok, result.failed
    for name, duration in (("lecture", 40.0), ("talk", 20.0)):
        output = out / name / "video" / f"enhanced_{name}.mp4"
        assert_verified_output(output, expected_duration=duration, fps="25/1", has_audio=True)
    assert load_report(out)["totals"]["done"] == 2


def test_an_input_that_vanishes_after_discovery_fails_alone(ray_session, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    make_av(videos / "stays.mp4", size="320x180", duration=2.0)
    make_av(videos / "vanishes.mp4", size="320x180", duration=2.0)
    config = batch_config(videos, tmp_path / "out", "ray", analysis=False)
    manifest = new_job(config)
    (videos / "vanishes.mp4").unlink()
    result = run_batch(config, manifest=manifest)
    assert not result.ok
    (failed,) = result.failed
    assert failed.video == "vanishes"
    assert "vanishes.mp4" in failed.error.file and failed.error.hint
    assert_verified_output(
        tmp_path / "out" / "stays" / "video" / "enhanced_stays.mp4",
        expected_duration=2.0,
        fps="25/1",
        has_audio=True,
    )
