"""Text views of jobs for ``raybatch batch status``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from raybatch.cli.live import FINISHED
from raybatch.jobs.units import clock

#: The states of a video that did not get done: each is what `retry` takes again.
NOT_DONE = ("failed", "cancelled", "timed_out")


def _when(stamp: str | None) -> str:
    if not stamp:
        return "-"
    return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _counts(counts: dict[str, int]) -> str:
    done, failed = counts.get("done", 0), sum(counts.get(state, 0) for state in NOT_DONE)
    queued = counts.get("queued", 0) + counts.get("running", 0)
    return f"{done}/{failed}/{queued}"


def render_job_list(jobs: list[dict[str, Any]]) -> str:
    """One line per job: id, state, done/failed/queued, started, output."""
    rows = [("JOB", "STATE", "DONE/FAILED/QUEUED", "STARTED", "OUTPUT")]
    for job in jobs:
        rows.append(
            (
                job["job_id"],
                str(job.get("state")),
                _counts(job.get("counts") or {}),
                _when(job.get("created_at")),
                job["output"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    )


def eta_s(job: dict[str, Any], now: datetime | None = None) -> float | None:
    """Remaining time from the pace of the current run: seconds per finished video so far."""
    runs = job.get("runs") or []
    if job.get("state") != "running" or not runs:
        return None
    run = runs[-1]
    in_run = [v for k, v in job["videos"].items() if k in run.get("videos", [])]
    finished = [v for v in in_run if v["state"] in FINISHED]
    left = len(in_run) - len(finished)
    if not finished or not left:
        return None
    elapsed = ((now or datetime.now(UTC)) - datetime.fromisoformat(run["started_at"])).total_seconds()
    return elapsed / len(finished) * left


def render_job(job: dict[str, Any]) -> str:
    """A job in detail: state, counts, ETA, and per video its state, stage, attempts and error."""
    counts = job.get("counts") or {}
    lines = [
        f"Job {job['job_id']}: {job['state']}",
        f"  output:  {job['output']}",
        f"  input:   {job['input']}",
        f"  started: {_when(job.get('created_at'))}   updated: {_when(job.get('updated_at'))}",
        "  videos:  " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())),
    ]
    eta = eta_s(job)
    if eta is not None:
        lines.append(f"  ETA:     {clock(eta)}")
    if job.get("checkpoints"):
        lines.append("  checkpoints: " + ", ".join(job["checkpoints"]))
    lines.append("")
    for key, video in job["videos"].items():
        segments = ""
        if video.get("segments_total"):
            segments = f"  segments {len(video.get('segments_done', []))}/{video['segments_total']}"
        stage = f"  at {video['stage']}" if video["state"] == "running" and video.get("stage") else ""
        lines.append(f"  {video['state']:<9} {key}  (attempts {video['attempts']}){segments}{stage}")
        error = video.get("error")
        if error:
            lines.append(f"            [{error.get('stage')}] {error.get('message')}")
            if error.get("hint"):
                lines.append(f"            fix: {error['hint']}")
    if any(counts.get(state) for state in NOT_DONE):
        lines.append(f"\nRetry the failed ones: raybatch batch retry --job-id {job['job_id']}")
    unfinished = counts.get("queued") or counts.get("running")
    if job["state"] in ("interrupted", "running", "stopped") and unfinished:
        lines.append(f"Resume: raybatch batch resume --job-id {job['job_id']}")
    return "\n".join(lines)
