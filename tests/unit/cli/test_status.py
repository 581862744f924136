"""``raybatch batch status``: the job list, one job in detail, the ETA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from raybatch.cli.status import eta_s, render_job, render_job_list
from raybatch.jobs.manifest import JobManifest
from raybatch.jobs.records import ErrorRecord, Outcome


def make_manifest(tmp_path) -> JobManifest:
    manifest = JobManifest(job_id="batch_1", output=str(tmp_path), input="in", config={})
    for key in ("a", "b", "c"):
        manifest.add_video(key, f"/in/{key}.mp4", f"{key}.mp4", 10, f"fp-{key}")
    return manifest


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
    manifest.finish_video(Outcome("a", "/in/a.mp4", "a.mp4", "done"))
    error = ErrorRecord(file="/in/b.mp4", stage="encode", message="boom", hint="retry")
    manifest.finish_video(Outcome("b", "/in/b.mp4", "b.mp4", "failed", error=error))
    job = manifest.to_dict()
    assert 25 < eta_s(job) < 35  # two finished in a minute: the last one in about 30 s
    text = render_job(job)
    assert (
        "[encode] boom" in text and "fix: retry" in text and "raybatch batch retry --job-id batch_1" in text
    )
    listing = render_job_list([{**job, "output": "/out"}])
    assert listing.splitlines()[1].split()[:3] == ["batch_1", "running", "1/1/1"]


def test_timed_out_videos_count_as_not_done_and_get_the_retry_hint(tmp_path):
    manifest = make_manifest(tmp_path)
    manifest.runs.append(
        {"run": 1, "kind": "process", "started_at": datetime.now(UTC).isoformat(), "videos": ["a", "b", "c"]}
    )
    manifest.finish_video(Outcome("a", "/in/a.mp4", "a.mp4", "done"))
    error = ErrorRecord(file="/in/b.mp4", stage="encode", message="took longer than --timeout 60 s")
    manifest.finish_video(Outcome("b", "/in/b.mp4", "b.mp4", "timed_out", error=error))
    job = manifest.to_dict()
    assert render_job_list([job]).splitlines()[1].split()[2] == "1/1/1"
    text = render_job(job)
    assert "timed_out b" in text and "raybatch batch retry --job-id batch_1" in text
