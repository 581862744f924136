"""Job bookkeeping without Ray: list files, the manifest and its checkpoints, storage retries,
the status view."""

from __future__ import annotations

import errno
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from raybatch.cli.status import eta_s, render_job, render_job_list
from raybatch.io.storage import is_transient, with_retries
from raybatch.jobs.manifest import JobManifest, valid_checkpoint_name
from raybatch.stages.discover import read_file_list


def test_file_list_skips_comments_and_blank_lines_and_resolves_relative_paths():
    text = "# course\nweek1.mp4\n\n  /abs/week2.mp4  \ns3://bucket/week3.mp4\n# done\n"
    assert read_file_list(text, "/lists") == ["/lists/week1.mp4", "/abs/week2.mp4", "s3://bucket/week3.mp4"]


def make_manifest(tmp_path) -> JobManifest:
    manifest = JobManifest(
        job_id="batch_1", output=str(tmp_path), work=str(tmp_path / "w"), input="in", config={}
    )
    for key in ("a", "b", "c"):
        manifest.add_video(key, f"/in/{key}.mp4", f"{key}.mp4", 10, f"fp-{key}")
    return manifest


def test_manifest_round_trips_and_checkpoints_are_snapshots(tmp_path):
    manifest = make_manifest(tmp_path)
    manifest.start_video("a")
    manifest.note_item("a", "segment", "seg1", "encode", 2, ok=True)
    manifest.note_item("a", "segment", "seg1", "encode", 2, ok=True)  # reported twice, kept once
    manifest.finish_video("a", {"status": "done", "output_uri": "/out/a.mp4", "metrics": [{"x": 1}]})
    manifest.finish_video("b", {"status": "failed", "error": {"stage": "probe", "message": "bad"}})
    manifest.save()
    uri = manifest.save_checkpoint("halfway")
    manifest.finish_video("c", {"status": "done"})
    loaded = JobManifest.load(str(tmp_path), "batch_1")
    assert loaded.counts() == {"done": 2, "failed": 1}
    assert loaded.videos["a"]["segments_done"] == ["seg1"] and loaded.videos["a"]["segments_total"] == 2
    assert "metrics" not in loaded.videos["a"]["result"]
    assert loaded.is_permanent_failure("b") and not loaded.is_permanent_failure("a")
    snapshot = JobManifest.load(str(tmp_path), "batch_1", "halfway")
    assert snapshot.counts() == {"done": 1, "failed": 1, "queued": 1}
    assert json.loads(Path(uri).read_text())["checkpoint"] == "halfway"
    with pytest.raises(FileNotFoundError, match="checkpoint 'nope'"):
        JobManifest.load(str(tmp_path), "batch_1", "nope")


def test_checkpoint_names_are_safe_file_names():
    assert valid_checkpoint_name("halfway_point") and valid_checkpoint_name("v1.2-final")
    assert (
        not valid_checkpoint_name("../escape")
        and not valid_checkpoint_name("")
        and not valid_checkpoint_name("a b")
    )


def test_storage_retries_only_hiccups():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer")
        return "ok"

    assert with_retries(flaky, first_delay_s=0) == "ok" and len(calls) == 3
    assert is_transient(TimeoutError()) and not is_transient(OSError(errno.ENOSPC, "full"))

    def full():
        calls.append(1)
        raise OSError(errno.ENOSPC, "No space left on device")

    calls.clear()
    with pytest.raises(OSError, match="No space"):
        with_retries(full, first_delay_s=0)
    assert len(calls) == 1


def test_status_views(tmp_path):
    manifest = make_manifest(tmp_path)
    manifest.runs.append(
        {
            "run": 1,
            "kind": "process",
            "started_at": (datetime.now(UTC) - timedelta(seconds=60)).isoformat(),
            "videos": ["a", "b", "c"],
        }
    )
    manifest.finish_video("a", {"status": "done"})
    manifest.finish_video(
        "b", {"status": "failed", "error": {"stage": "encode", "message": "boom", "hint": "retry"}}
    )
    job = manifest.to_dict()
    assert 25 < eta_s(job) < 35  # two finished in a minute: the last one in about 30 s
    text = render_job(job)
    assert (
        "[encode] boom" in text and "fix: retry" in text and "raybatch batch retry --job-id batch_1" in text
    )
    listing = render_job_list([{**job, "output": "/out"}])
    assert listing.splitlines()[1].split()[:3] == ["batch_1", "running", "1/1/1"]
