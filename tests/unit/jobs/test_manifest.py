"""The job manifest without Ray: state transitions, runs, checkpoints, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raybatch.errors import JobError
from raybatch.jobs.manifest import JobManifest, valid_checkpoint_name
from raybatch.jobs.records import ErrorRecord, Outcome, VideoRef


def make_manifest(tmp_path) -> JobManifest:
    manifest = JobManifest(job_id="batch_1", output=str(tmp_path), input="/in", config={})
    for key in ("a", "b", "c"):
        manifest.add_video(key, f"/in/{key}.mp4", f"{key}.mp4", 10, f"fp-{key}")
    return manifest


def outcome(key: str, status: str = "done", **values) -> Outcome:
    return Outcome(key, f"/in/{key}.mp4", f"{key}.mp4", status, **values)


def test_manifest_round_trips_and_checkpoints_are_snapshots(tmp_path):
    manifest = make_manifest(tmp_path)
    manifest.queue_video("a")
    manifest.start_video("a")
    manifest.note_row("a", "segment", "seg1", "encode", 2, ok=True)
    manifest.note_row("a", "segment", "seg1", "encode", 2, ok=True)  # reported twice, kept once
    manifest.finish_video(outcome("a", output_uri="/out/a.mp4", metrics=[{"x": 1}]))
    error = ErrorRecord(file="/in/b.mp4", stage="probe", message="bad")
    manifest.finish_video(outcome("b", "failed", error=error))
    manifest.save()
    uri = manifest.save_checkpoint("halfway")
    manifest.finish_video(outcome("c"))
    loaded = JobManifest.load(str(tmp_path), "batch_1")
    assert loaded.counts() == {"done": 2, "failed": 1}
    assert loaded.videos["a"]["segments_done"] == ["seg1"] and loaded.videos["a"]["segments_total"] == 2
    assert "metrics" not in loaded.videos["a"]["result"]
    assert loaded.earlier_outcome("a").output_uri == "/out/a.mp4"
    assert loaded.earlier_outcome("b").error == error
    assert loaded.is_permanent_failure("b") and not loaded.is_permanent_failure("a")
    snapshot = JobManifest.load(str(tmp_path), "batch_1", "halfway")
    assert snapshot.counts() == {"done": 1, "failed": 1, "queued": 1}
    assert json.loads(Path(uri).read_text())["checkpoint"] == "halfway"
    with pytest.raises(JobError, match="checkpoint 'nope'"):
        JobManifest.load(str(tmp_path), "batch_1", "nope")


def test_a_run_queues_starts_and_ends_its_videos_through_the_manifest(tmp_path):
    manifest = make_manifest(tmp_path)
    assert manifest.video_ref("a") == VideoRef("a", "/in/a.mp4", "a.mp4", 10, "fp-a")
    number = manifest.begin_run("process", ["a", "b"], changed=[])
    for key in ("a", "b"):
        manifest.queue_video(key)
    manifest.start_video("a")
    manifest.start_video("a")  # a second row of the same video changes nothing
    assert [manifest.videos[k]["state"] for k in "abc"] == ["running", "queued", "queued"]
    assert manifest.videos["a"]["attempts"] == 1 and manifest.videos["a"]["started_at"]
    manifest.finish_video(outcome("a"))
    manifest.end_run("interrupted")
    assert number == 1 and manifest.state == "interrupted" and manifest.finished_at is None
    assert manifest.runs[-1]["finished_at"]
    manifest.input_changed("b", "fp-new", 11)
    assert manifest.videos["b"]["changed_since_start"] and manifest.videos["b"]["fingerprint"] == "fp-new"
    manifest.end_run("completed")
    loaded = JobManifest.load(str(tmp_path), "batch_1")
    assert loaded.state == "completed" and loaded.finished_at and loaded.work.endswith("work/batch_1")


def test_checkpoint_names_are_safe_file_names():
    assert valid_checkpoint_name("halfway_point") and valid_checkpoint_name("v1.2-final")
    assert (
        not valid_checkpoint_name("../escape")
        and not valid_checkpoint_name("")
        and not valid_checkpoint_name("a b")
    )
