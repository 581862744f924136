"""The live view's state and lines, from manifests shaped as the run keeps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from raybatch.cli import live

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def _at(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).isoformat()


def _video(state: str, size: int = 100, **fields) -> dict:
    return {
        "relative_path": fields.pop("name"),
        "state": state,
        "size_bytes": size,
        "stage": fields.pop("stage", None),
        "segments_total": fields.pop("segments_total", None),
        "segments_done": fields.pop("segments_done", []),
        "started_at": fields.pop("started_at", None),
        "finished_at": fields.pop("finished_at", None),
        "error": fields.pop("error", None),
    }


def _job() -> dict:
    videos = {
        "video1": _video("done", name="video1.mp4", started_at=_at(600), finished_at=_at(88)),
        "video4": _video(
            "running",
            name="video4.mp4",
            stage="encode",
            started_at=_at(192),
            segments_total=9,
            segments_done=["a", "b", "c", "d", "e"],
        ),
        "broken": _video(
            "failed",
            name="broken.mp4",
            started_at=_at(300),
            finished_at=_at(299),
            error={"message": "no video stream"},
        ),
        **{f"video{n}": _video("queued", name=f"video{n}.mp4") for n in (5, 6, 7, 8)},
    }
    return {
        "job_id": "batch_1",
        "state": "running",
        "runs": [{"started_at": _at(600), "videos": list(videos)}],
        "videos": videos,
    }


def test_the_lines_the_guide_shows():
    state = live.live_state(_job(), NOW, memory_peak_bytes=3 * 1024**3, api_cost_usd=0.5, api_calls=4)
    lines = live.state_lines(state)
    assert lines == [
        "✅ Completed: video1.mp4 (8m 32s)",
        "🔄 Processing: video4.mp4 (3m 12s elapsed) — encoding 5/9 segments",
        "⏳ Queued: video5.mp4, video6.mp4, video7.mp4, ... and 1 more",
        "❌ Failed: broken.mp4 — no video stream (see summary/error_log.json)",
    ]
    summary = live.summary_line(state)
    assert "2/7 videos" in summary and "average 8m 32s per video" in summary
    assert "memory peak 3.0 GiB" in summary and "API $0.5000 (4 calls)" in summary


def test_the_estimate_counts_the_queued_videos():
    # 200 of 700 bytes finished whole, 100 x 0.8 x 5/9 in flight, in 600 s.
    state = live.live_state(_job(), NOW)
    done = 200 + 100 * 0.8 * 5 / 9
    assert abs(state.eta_s - (700 - done) * 600 / done) < 1e-6
    nothing_yet = live.live_state(
        {**_job(), "videos": {"a": _video("queued", name="a.mp4")}, "runs": []}, NOW
    )
    assert nothing_yet.eta_s is None


def test_changes_give_one_line_per_video_whose_state_changed():
    state = live.live_state(_job(), NOW)
    before = {"video1.mp4": "processing", "video4.mp4": "processing", "broken.mp4": "processing"}
    assert live.changes(before, state) == [
        "✅ Completed: video1.mp4 (8m 32s)",
        "❌ Failed: broken.mp4 — no video stream (see summary/error_log.json)",
    ]
    assert live.changes({v.name: v.state for v in state.videos}, state) == []


def test_the_panel_renders_title_bar_and_lines():
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(live.render_panel(live.live_state(_job(), NOW)))
    text = console.export_text()
    assert "🎬 Batch Processing Progress" in text and "28% 2/7 videos" in text
    assert "🔄 Processing: video4.mp4" in text and "📊 2/7 videos" in text


def test_units_print_as_the_view_and_report_do():
    from raybatch.jobs.units import byte_size, clock

    assert [clock(512), clock(3723), clock(None)] == ["8m 32s", "1h 02m 03s", "estimating"]
    assert [byte_size(3 * 1024**3), byte_size(500 * 1024**2), byte_size(0)] == ["3.0 GiB", "500 MiB", "–"]


def test_the_memory_peak_comes_from_the_run_when_the_caller_has_none():
    job = _job()
    job["runs"][-1]["memory_peak_bytes"] = 2 * 1024**3
    assert live.live_state(job, NOW).memory_peak_bytes == 2 * 1024**3
    assert live.live_state(job, NOW, memory_peak_bytes=5).memory_peak_bytes == 5


def test_without_summary_reports_a_failure_points_at_batch_status():
    job = {**_job(), "config": {"output": {"create_summary_reports": False}}}
    lines = live.state_lines(live.live_state(job, NOW))
    assert lines[-1] == "❌ Failed: broken.mp4 — no video stream (see raybatch batch status --job-id batch_1)"
