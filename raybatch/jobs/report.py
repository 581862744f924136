"""A run's reports: ``batch_report.json`` (the whole job), ``processing_metrics.json``,
``error_log.json`` and the run's Parquet stage metrics, all under ``OUT/summary``.

The builders are pure functions of a :class:`RunSummary`; :func:`write_reports` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import Preset, cheaper, content_type_rank
from raybatch.errors import RunFailure
from raybatch.io.layout import Layout
from raybatch.io.metrics import write_metrics_parquet
from raybatch.io.storage import is_storage_failure, write_json_atomic
from raybatch.jobs.html_report import write_html_report
from raybatch.jobs.records import Outcome
from raybatch.llm.budget import Spending
from raybatch.media.quality import spread


@dataclass
class RunSummary:
    """Everything the reports say about one run of a job."""

    config: RaybatchConfig
    layout: Layout
    run_number: int
    started_at: datetime
    wall_s: float
    #: The whole job's outcomes (this run's and earlier runs' finished videos).
    outcomes: list[Outcome]
    stopped: bool
    preset: dict[str, Any]
    encoder_settings: dict[str, Any]
    pool: dict[str, Any]
    models: dict[str, Any] | None
    placement: dict[str, Any] | None
    peak_memory_bytes: int
    #: This run's API spending (from the budget ledger).
    spending: dict[str, Any] | None = None
    #: The calls the series step's text took in this run (part of ``spending`` too).
    series_usage: dict[str, Any] | None = None
    #: How videos were scheduled, per-node CPU and memory, and the adaptations made.
    scheduling: dict[str, Any] | None = None
    #: Videos with the same content as an earlier one, processed from its cached work.
    duplicates: dict[str, str] = field(default_factory=dict)
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return [{**m, "job_id": self.layout.job_id} for o in self.outcomes for m in o.metrics]


def write_reports(summary: RunSummary) -> str | None:
    """Write the run's reports; returns the URI of ``batch_report.json`` (``None`` when
    ``output.create_summary_reports`` is off: then nothing is written under ``summary/``, and
    the job's manifest, read by ``raybatch batch status``, holds every video's state and error).
    A report that cannot be written is a :class:`RunFailure` (the videos' own outputs are
    already safe)."""
    layout, config = summary.layout, summary.config
    if not config.output.create_summary_reports:
        return None
    try:
        errors = error_log(summary)
        write_json_atomic(layout.summary("error_log.json"), errors)
        report = batch_report(summary)
        write_json_atomic(layout.summary("batch_report.json"), report)
        metrics = None
        if config.monitoring.performance_metrics:
            metrics = processing_metrics(summary)
            write_json_atomic(layout.summary("processing_metrics.json"), metrics)
            write_metrics_parquet(layout.metrics_parquet(summary.run_number), summary.metrics)
        write_html_report(layout, report, metrics, errors, summary.metrics)
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise RunFailure(
            f"cannot write the job's reports under {layout.summary('')}: {exc}",
            hint="free space or make the output writable, then: "
            f"raybatch batch resume --job-id {layout.job_id}",
        ) from exc
    return layout.summary("batch_report.json")


def error_log(summary: RunSummary) -> dict[str, Any]:
    """``error_log.json``: every failure with the attempt it happened at."""
    errors = [
        {"video": o.video, **o.error.to_dict(), "attempt": o.attempt} for o in summary.outcomes if o.error
    ]
    return {"job_id": summary.layout.job_id, "errors": errors}


def batch_report(summary: RunSummary) -> dict[str, Any]:
    """``batch_report.json``: the job, its configuration and plan, totals, and every video."""
    outcomes, done = summary.outcomes, summary.done
    status = "stopped" if summary.stopped else ("completed_with_errors" if summary.failed else "completed")
    return {
        "job_id": summary.layout.job_id,
        "status": status,
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "input": summary.config.input,
        "output": summary.layout.root,
        "executor": summary.config.batch.executor,
        "config": summary.config.public_dump(),
        "preset": summary.preset,
        "encoder_settings": summary.encoder_settings,
        "pool": summary.pool,
        "models": summary.models if summary.config.processing.analysis else None,
        "placement": summary.placement,
        "scheduling": {
            k: v for k, v in (summary.scheduling or {}).items() if k not in ("nodes", "interval_s")
        },
        "totals": {
            "videos": len(outcomes),
            "done": len(done),
            "failed": len(summary.failed),
            "input_duration_s": round(sum(o.input_duration_s or 0 for o in outcomes), 3),
            "output_duration_s": round(sum(o.output_duration_s or 0 for o in done), 3),
            "input_bytes": sum(o.input_size_bytes or 0 for o in outcomes),
            "output_bytes": sum(o.output_size_bytes or 0 for o in done),
        },
        "content_types": content_types(done),
        "caches": {
            **cache_totals(summary.metrics, summary.config.output.cache_strategy),
            "same_content_as": summary.duplicates,
        },
        "api": api_totals(
            outcomes, summary.config.metadata.budget_usd, summary.spending, summary.series_usage
        ),
        "videos": [video_entry(o, summary.preset) for o in outcomes],
    }


def processing_metrics(summary: RunSummary) -> dict[str, Any]:
    """``processing_metrics.json``: throughput, stage totals, peak memory."""
    wall, done, metrics = summary.wall_s, summary.done, summary.metrics
    seconds = sum(o.input_duration_s or 0 for o in done)
    per_wall = (lambda value: round(value / wall, 4)) if wall > 0 else (lambda value: None)
    monitored = summary.config.monitoring.resource_monitoring
    return {
        "job_id": summary.layout.job_id,
        "wall_time_s": round(wall, 3),
        "videos_done": len(done),
        "videos_failed": len(summary.failed),
        "video_seconds_processed": round(seconds, 3),
        "realtime_factor": per_wall(seconds),
        "throughput_videos_per_hour": round(len(done) * 3600 / wall, 2) if wall > 0 else None,
        "throughput_video_seconds_per_second": per_wall(seconds),
        "segments_encoded": sum(1 for m in metrics if m["stage"] == "encode" and m["status"] == "ok"),
        "peak_memory_bytes": summary.peak_memory_bytes if monitored else None,
        "peak_ffmpeg_rss_bytes": max((m["max_rss_bytes"] for m in metrics), default=0),
        "stage_totals": stage_totals(metrics),
        "caches": cache_totals(metrics, summary.config.output.cache_strategy),
        "pool": summary.pool,
        "resource_efficiency": resource_efficiency(summary.scheduling) if monitored else None,
        "quality_consistency": quality_consistency(done),
        "error_rate_percent": round(100 * len(summary.failed) / len(summary.outcomes), 2)
        if summary.outcomes
        else None,
    }


def quality_consistency(done: list[Outcome]) -> dict[str, Any]:
    """The guide's "quality consistency": the spread of the outputs' SSIM and PSNR against their
    sources across the batch (``raybatch.media.quality``)."""
    scored = [o.quality for o in done if o.quality]
    return {
        "videos_scored": len(scored),
        "ssim": spread([q["ssim"] for q in scored]),
        "psnr_db": spread([q["psnr_db"] for q in scored]),
    }


def resource_efficiency(scheduling: dict[str, Any] | None) -> dict[str, Any] | None:
    """The guide's "resource efficiency": per node, mean and peak CPU and memory use; and what
    the run adapted to them."""
    if not scheduling or "nodes" not in scheduling:
        return None
    return {
        "nodes": scheduling["nodes"],
        "sample_interval_s": scheduling["interval_s"],
        "adaptations": scheduling["adaptations"],
    }


def stage_totals(metrics: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage: how many times it ran, and its wall and CPU seconds together."""
    totals: dict[str, dict[str, float]] = {}
    for m in metrics:
        entry = totals.setdefault(m["stage"], {"count": 0, "wall_s": 0.0, "cpu_s": 0.0})
        entry["count"] += 1
        entry["wall_s"] = round(entry["wall_s"] + m["wall_s"], 3)
        entry["cpu_s"] = round(entry["cpu_s"] + m["cpu_s"], 3)
    return totals


def cache_totals(metrics: list[dict[str, Any]], strategy: str) -> dict[str, Any]:
    """The strategy, and per cache: hits, misses, the bytes its hits read and the bytes stored
    in it this run."""
    caches: dict[str, dict[str, int]] = {}
    for m in metrics:
        for counts in m.get("caches") or []:
            entry = caches.setdefault(
                counts["cache"], {"hits": 0, "misses": 0, "bytes_read": 0, "bytes_stored": 0}
            )
            for name in entry:
                entry[name] += int(counts[name])
    return {"strategy": strategy, "by_cache": dict(sorted(caches.items()))}


def loudness_summary(measured: dict[str, float] | None) -> dict[str, float | None] | None:
    """ffmpeg's loudnorm measurement under the report's names."""
    if not measured:
        return None
    return {
        "integrated_lufs": measured.get("input_i"),
        "true_peak_dbtp": measured.get("input_tp"),
        "lra_lu": measured.get("input_lra"),
    }


def video_entry(outcome: Outcome, preset: dict[str, Any]) -> dict[str, Any]:
    """One video in the report."""
    entry: dict[str, Any] = {
        "video": outcome.video,
        "source": outcome.source_uri,
        "status": outcome.status,
        "output": outcome.output_uri,
        "input_duration_s": outcome.input_duration_s,
        "output_duration_s": outcome.output_duration_s,
        "input_size_bytes": outcome.input_size_bytes,
        "output_size_bytes": outcome.output_size_bytes,
        "segments": outcome.segments,
        "frames": outcome.frames,
        "output_resolution": outcome.output_size,
    }
    if outcome.edit:
        entry.update(
            content_type=outcome.edit.get("content_type"),
            kept_duration_s=outcome.edit.get("kept_duration_s"),
            enhancement=outcome.edit.get("enhancement"),
            metadata=outcome.metadata,
        )
    if outcome.media:
        entry.update(_source_entry(outcome.media))
    if outcome.done:
        entry["encoding"] = encoding_entry(preset, outcome.quality_step)
        entry["quality"] = outcome.quality
        entry["loudness"] = _loudness_entry(outcome, preset)
        entry["warnings"] = outcome.warnings
        entry["package"] = outcome.package
        entry["files"] = outcome.files
    if outcome.error:
        entry["error"] = outcome.error.to_dict()
    return entry


def encoding_entry(preset: dict[str, Any], quality_step: int) -> dict[str, Any]:
    """The settings one video was encoded with: the run's preset, or the cheaper one it started
    at under pressure (``--adaptive-quality``)."""
    used = cheaper(Preset(**preset), quality_step)
    names = ("quality", "encoder", "x264_preset", "crf", "max_short_side")
    entry = {name: getattr(used, name) for name in names}
    if quality_step:
        entry["adapted"] = f"started under resource pressure: {preset['quality']} -> {used.quality}"
    return entry


def _source_entry(media: dict[str, Any]) -> dict[str, Any]:
    names = (
        "codec",
        "width",
        "height",
        "fps",
        "variable_frame_rate",
        "rotation",
        "sar",
        "pix_fmt",
        "has_alpha",
    )
    return {
        "source_video": {name: media["video"][name] for name in names},
        "has_audio": media.get("audio") is not None,
        "dropped_streams": media.get("dropped_streams", []),
    }


def _loudness_entry(outcome: Outcome, preset: dict[str, Any]) -> dict[str, Any]:
    audio = outcome.audio or {}
    return {
        "target_lufs": preset["loudness_target_lufs"],
        "true_peak_ceiling_dbtp": preset["true_peak_dbtp"],
        "before": loudness_summary(audio.get("input_loudness")),
        "after": loudness_summary(outcome.loudness_after),
        "gain_db": audio.get("gain_db"),
        "limiter_dbtp": audio.get("limiter_dbtp"),
        "dynamics": audio.get("dynamics"),
        "note": audio.get("note") or None,
    }


def api_totals(
    outcomes: list[Outcome],
    budget_usd: float | None,
    this_run: dict[str, Any] | None,
    series: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Calls, tokens and cost of the whole job (every video's metadata and transcript, and
    this run's series text), and of this run alone (the budget applies per run)."""
    total = Spending.total([*((outcome.package or {}).get("usage") for outcome in outcomes), series])
    return {**total, "budget_usd": budget_usd, "this_run": this_run, "series": series}


def content_types(done: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Per content type (as decided, or as configured): videos done and their durations."""
    summary: dict[str, dict[str, Any]] = {}
    for outcome in done:
        group = summary.setdefault(
            outcome.content_type or "unknown",
            {"videos": 0, "input_duration_s": 0.0, "output_duration_s": 0.0},
        )
        group["videos"] += 1
        group["input_duration_s"] = round(group["input_duration_s"] + (outcome.input_duration_s or 0), 3)
        group["output_duration_s"] = round(group["output_duration_s"] + (outcome.output_duration_s or 0), 3)
    return dict(sorted(summary.items(), key=lambda kv: content_type_rank(kv[0])))
