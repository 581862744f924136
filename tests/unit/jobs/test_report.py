"""The run's reports from its outcomes: the whole job, throughput, failures with their attempt."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow.parquet as pq

from raybatch.config import load_config
from raybatch.io.layout import Layout
from raybatch.jobs.records import ErrorRecord, Outcome
from raybatch.jobs.report import RunSummary, batch_report, error_log, processing_metrics, write_reports

VIDEO = {"codec": "h264", "width": 640, "height": 360, "fps": "25/1", "variable_frame_rate": False}
VIDEO.update(rotation=0, sar="1:1", pix_fmt="yuv420p", has_alpha=False)
MEDIA = {"duration_s": 10.0, "audio": {"index": 1}, "dropped_streams": [], "video": VIDEO}
METRIC = {"stage": "encode", "status": "ok", "wall_s": 2.0, "cpu_s": 3.0, "max_rss_bytes": 5}
METRIC.update(start=1.0, end=3.0, video="talk", segment_id="s", segment_index=0)


def summary(tmp_path, outcomes, **changes) -> RunSummary:
    config = load_config(None, {"input": "/in", "output": {"directory": str(tmp_path)}})
    values = dict(
        config=config,
        layout=Layout(str(tmp_path), "batch_1"),
        run_number=2,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        wall_s=20.0,
        outcomes=outcomes,
        stopped=False,
        preset=config.preset().to_dict(),
        encoder_settings={"crf": 20},
        pool={"size": 2},
        models={"size": 1},
        placement=None,
        peak_memory_bytes=1000,
    )
    return RunSummary(**{**values, **changes})


def done(key: str, content_type: str = "general") -> Outcome:
    return Outcome(
        key,
        f"/in/{key}.mp4",
        f"{key}.mp4",
        "done",
        media=MEDIA,
        input_duration_s=10.0,
        output_duration_s=8.0,
        output_size_bytes=100,
        input_size_bytes=1000,
        edit={"content_type": content_type, "kept_duration_s": 8.0},
        audio={"input_loudness": {"input_i": -20.0, "input_tp": -3.0, "input_lra": 4.0}, "gain_db": 6.0},
        loudness_after={"input_i": -14.0, "input_tp": -2.0, "input_lra": 4.0},
        package={"usage": {"calls": 2, "cost_usd": 0.01}},
        metrics=[METRIC],
    )


def test_the_batch_report_covers_every_video_with_totals_types_and_costs(tmp_path):
    error = ErrorRecord(file="/in/bad.mp4", stage="probe", message="not a video", hint="remove it")
    failed = Outcome("bad", "/in/bad.mp4", "bad.mp4", "failed", attempt=2, error=error)
    report = batch_report(summary(tmp_path, [done("talk"), done("song", "music"), failed]))
    assert report["status"] == "completed_with_errors" and report["output"] == str(tmp_path)
    assert report["totals"] == {
        **report["totals"],
        "videos": 3,
        "done": 2,
        "failed": 1,
        "output_duration_s": 16.0,
    }
    assert list(report["content_types"]) == ["music", "general"]
    assert report["api"]["calls"] == 4 and report["api"]["cost_usd"] == 0.02
    talk = report["videos"][0]
    assert talk["loudness"]["after"]["integrated_lufs"] == -14.0 and talk["source_video"]["fps"] == "25/1"
    assert report["videos"][2]["error"]["hint"] == "remove it" and "loudness" not in report["videos"][2]
    (logged,) = error_log(summary(tmp_path, [failed]))["errors"]
    assert logged == {"video": "bad", **error.to_dict(), "attempt": 2}


def test_processing_metrics_sum_the_stages_and_say_the_pace(tmp_path):
    metrics = processing_metrics(summary(tmp_path, [done("talk"), done("song")]))
    assert metrics["realtime_factor"] == 1.0 and metrics["throughput_videos_per_hour"] == 360.0
    assert metrics["stage_totals"] == {"encode": {"count": 2, "wall_s": 4.0, "cpu_s": 6.0}}
    assert metrics["segments_encoded"] == 2 and metrics["peak_memory_bytes"] == 1000


def test_write_reports_writes_every_file_of_the_run(tmp_path):
    uri = write_reports(summary(tmp_path, [done("talk")], stopped=True))
    with open(uri) as report:
        assert json.load(report)["status"] == "stopped"
    assert (tmp_path / "summary" / "processing_metrics.json").exists()
    rows = pq.read_table(tmp_path / "summary" / "metrics" / "batch_1.run2.parquet").to_pylist()
    assert rows[0]["job_id"] == "batch_1" and rows[0]["stage"] == "encode"


def test_the_reports_give_hits_misses_and_bytes_per_cache(tmp_path):
    hit = {"cache": "segments", "hits": 1, "misses": 0, "bytes_read": 700, "bytes_stored": 0}
    miss = {"cache": "segments", "hits": 0, "misses": 1, "bytes_read": 0, "bytes_stored": 900}
    probe = {"cache": "probe", "hits": 1, "misses": 0, "bytes_read": 50, "bytes_stored": 0}
    cached = done("talk")
    cached.metrics = [{**METRIC, "status": "cached", "caches": [hit, probe]}, {**METRIC, "caches": [miss]}]
    run = summary(tmp_path, [cached], duplicates={"talk_copy": "talk"})
    by_cache = processing_metrics(run)["caches"]["by_cache"]
    assert by_cache["segments"] == {"hits": 1, "misses": 1, "bytes_read": 700, "bytes_stored": 900}
    assert list(by_cache) == ["probe", "segments"]
    caches = batch_report(run)["caches"]
    assert caches["strategy"] == "conservative" and caches["same_content_as"] == {"talk_copy": "talk"}
    write_reports(run)
    rows = pq.read_table(tmp_path / "summary" / "metrics" / "batch_1.run2.parquet").to_pylist()
    assert rows[0]["caches"] == [hit, probe] and rows[1]["caches"] == [miss]
