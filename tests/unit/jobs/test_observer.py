"""Following a run: progress counted once per video, the manifest kept current, the error
policy applied, and a worker's log records shown here."""

from __future__ import annotations

import logging

from raybatch.jobs.observer import Progress, RunObserver, replay_logs
from raybatch.jobs.records import ErrorRecord, Outcome
from tests.unit.executors.test_routing import parts_of
from tests.unit.jobs.test_manifest import make_manifest


def test_rows_keep_the_manifest_current_and_outcomes_count(tmp_path):
    manifest = make_manifest(tmp_path)
    for key in ("a", "b"):
        manifest.queue_video(key)
    progress, events = Progress(total_videos=2), []
    observer = RunObserver(manifest, progress, stop_on_error=False, listener=lambda e, p: events.append(e))
    segment_a, segment_b, shots, audio = parts_of("a")
    # Segments leave plan's branch first, on their way to the encoders: not done yet.
    for row in (segment_a, segment_b):
        row.last_stage = "plan"
        observer.on_row(row)
    assert manifest.videos["a"]["segments_done"] == []
    for row in (segment_a, segment_b, shots, audio):
        row.last_stage = {"segment": "encode", "shots": "detect_shots", "audio": "audio"}[row.kind]
        if row.kind == "segment":
            row.encoded = True
        observer.on_row(row)
    video = manifest.videos["a"]
    assert (
        video["state"] == "running"
        and video["stage"] == "audio"
        and sorted(video["segments_done"]) == ["s0", "s1"]
    )
    observer.on_video(
        Outcome("a", "/in/a.mp4", "a.mp4", "done", package={"usage": {"calls": 2, "cost_usd": 0.5}})
    )
    assert progress.done == 1 and progress.api_calls == 2 and progress.api_cost_usd == 0.5
    assert events == ["row"] * 6 + ["video"] and not observer.should_stop()


def test_stop_on_error_stops_after_the_first_failure(tmp_path):
    observer = RunObserver(make_manifest(tmp_path), Progress(), stop_on_error=True, listener=None)
    error = ErrorRecord(file="/in/b.mp4", stage="probe", message="bad")
    observer.on_video(Outcome("b", "/in/b.mp4", "b.mp4", "failed", error=error))
    assert observer.should_stop() and observer.progress.failed == 1


def test_a_workers_records_are_logged_here_at_their_level(caplog):
    caplog.set_level(logging.INFO, logger="raybatch")
    replay_logs(
        [
            {
                "name": "raybatch.models.vad",
                "level": logging.INFO,
                "message": "Silero VAD on cpu",
                "stage": "analyse_sound",
            },
            {
                "name": "raybatch.stages.base",
                "level": logging.DEBUG,
                "message": "not shown",
                "stage": "encode",
            },
        ]
    )
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("raybatch.models.vad", "[analyse_sound] Silero VAD on cpu")
    ]
