"""The Python API: ``run_batch(config)`` runs one batch; the CLI is a thin layer over it."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.errors import RunFailure
from raybatch.executors.adaptation import AdaptationPolicy
from raybatch.executors.base import Pipeline
from raybatch.executors.cluster import connect
from raybatch.executors.memory import ProcessTreeMemory
from raybatch.executors.monitor import ResourceMonitor
from raybatch.executors.placement import check_toolchains
from raybatch.executors.plan import RunPlan, plan_run
from raybatch.io.naming import OutputNames, plan_names
from raybatch.jobs.batched_metadata import complete_batched_metadata
from raybatch.jobs.lifecycle import Run, begin_run, clean_up, end_run, interrupt_run, new_job
from raybatch.jobs.lock import held
from raybatch.jobs.manifest import JobManifest
from raybatch.jobs.observer import Listener, Progress, RunObserver
from raybatch.jobs.records import Outcome, VideoRef
from raybatch.jobs.report import RunSummary, write_reports
from raybatch.llm.budget import BudgetLedger, Spending, close_ledger, open_ledger
from raybatch.pipeline import build_pipeline, stage_types
from raybatch.series.branding import check_logo
from raybatch.series.plan import SeriesPlan, plan_series
from raybatch.series.step import write_series
from raybatch.stages.base import RunContext

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "new_job", "run_batch"]


@dataclass
class BatchResult:
    """What a finished run produced: the whole job's outcomes, and where its report is."""

    job_id: str
    output: str
    outcomes: list[Outcome]
    stopped: bool
    #: ``None`` when summary reports are off (``output.create_summary_reports: false``).
    report_uri: str | None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]

    @property
    def ok(self) -> bool:
        """Every video of the job is done."""
        return not self.failed and not self.stopped


def run_batch(
    config: RaybatchConfig,
    *,
    listener: Listener | None = None,
    manifest: JobManifest | None = None,
    only: list[str] | None = None,
    run_kind: str = "process",
) -> BatchResult:
    """Process every video under ``config.input`` into ``config.output.directory``; or, given a
    job's ``manifest``, go on with its unfinished videos (``only``: just these ones).

    Per-video failures are recorded, not raised. Mistakes in what was asked raise a
    :class:`~raybatch.errors.UsageError`; reports that cannot be written, a
    :class:`~raybatch.errors.RunFailure`."""
    unused = config.unused_series_keys()
    if unused:
        log.warning(
            "%s only apply to a series, and series coordination is off, so they do nothing: turn it "
            "on with --coordinate-series (or coordination.enable_series_coordination: true)",
            ", ".join(unused),
        )
    # A bad logo is a configuration mistake: said before any work starts.
    logo = series_logo(config)
    manifest = manifest or new_job(config)
    with held(manifest.output, manifest.job_id):
        return _run_job(config, manifest, listener, only, run_kind, logo)


def series_logo(config: RaybatchConfig) -> bytes | None:
    """The series logo, checked (:func:`raybatch.series.branding.check_logo`), when one is set."""
    uri = config.series.branding.series_logo
    return check_logo(uri) if uri and config.series_coordinated and config.series_branding else None


def _run_job(
    config: RaybatchConfig,
    manifest: JobManifest,
    listener: Listener | None,
    only: list[str] | None,
    run_kind: str,
    logo: bytes | None = None,
) -> BatchResult:
    """One run of the job, while it holds its output location."""
    started_at, started = datetime.now(UTC), time.monotonic()
    run = begin_run(manifest, only, run_kind)
    executed = execute(config, manifest, run, listener)
    stopped = executed.observer.stopped
    outcomes = end_run(
        manifest, run, executed.outcomes, stopped=stopped, group_by_type=config.batch.group_by_type
    )
    spending, series_usage, series_failure = dict(executed.spending), None, None
    if config.metadata.llm.batch_api_calls:
        ledger = driver_ledger(config, spending)
        batched = complete_batched_metadata(config, outcomes, manifest.layout, ledger)
        if batched:
            spending = {**Spending.total([spending, batched]), "budget_usd": spending.get("budget_usd")}
    if executed.series:
        try:
            series_usage = write_series(
                config, executed.series, outcomes, manifest.layout, logo, driver_ledger(config, spending)
            )
            spending = {**Spending.total([spending, series_usage]), "budget_usd": spending.get("budget_usd")}
        except RunFailure as exc:
            series_failure = exc  # the reports are still written
    summary = RunSummary(
        config=config,
        layout=manifest.layout,
        run_number=run.number,
        started_at=started_at,
        wall_s=time.monotonic() - started,
        outcomes=outcomes,
        stopped=stopped,
        peak_memory_bytes=executed.peak_memory_bytes,
        spending=spending,
        series_usage=series_usage,
        scheduling=executed.scheduling,
        duplicates=executed.duplicates,
        **executed.plan.report(),
    )
    report_uri = write_reports(summary)
    if series_failure:
        raise series_failure
    clean_up(manifest, config.output.keep_work_files)
    return BatchResult(manifest.job_id, manifest.output, outcomes, stopped, report_uri)


@dataclass
class Executed:
    """What executing a run's videos gave: their outcomes, and how the run went."""

    plan: RunPlan
    observer: RunObserver
    outcomes: list[Outcome]
    peak_memory_bytes: int
    spending: dict[str, Any]
    series: SeriesPlan | None = None
    #: The strategy, the admission limit, per-node usage and the adaptations made.
    scheduling: dict[str, Any] | None = None
    #: Videos with the same content as an earlier one (``batch_optimized``): key -> its key.
    duplicates: dict[str, str] = field(default_factory=dict)


def execute(config: RaybatchConfig, manifest: JobManifest, run: Run, listener: Listener | None) -> Executed:
    """Plan the run on its cluster and let the executor take its videos through the pipeline.
    Ctrl-C saves the job as interrupted."""
    types = stage_types(config)
    with connect(config.batch, verbose=config.monitoring.log_level == "DEBUG") as cluster:
        plan = plan_run(config, cluster, types)
        check_toolchains(
            cluster.nodes, plan.encoder, remote_nodes=cluster.on_ray and not cluster.started_here
        )
        for warning in plan.warnings:
            log.warning(warning)
        context = run_context(config, manifest, plan)
        monitor = ResourceMonitor(
            cluster, AdaptationPolicy.for_config(config), config.monitoring.resource_interval_s
        )
        pipeline = build_pipeline(types, context, plan, gate=monitor.gate)
        progress = Progress(total_videos=len(run.videos))
        stop_on_error = config.batch.error_handling == "stop"
        memory = ProcessTreeMemory()
        peak = partial(memory_peak, memory, monitor)
        observer = RunObserver(
            manifest, progress, stop_on_error=stop_on_error, listener=listener, memory_peak=peak
        )
        if listener:
            start = {"job_id": manifest.job_id, "progress": progress, "plan": plan, "videos": run.videos}
            listener("start", {**start, "memory_peak": peak})
        ledger = open_ledger(
            manifest.job_id, config.metadata.budget_usd, on_ray=cluster.on_ray, secrets=_secrets(config)
        )
        try:
            with memory, monitoring(monitor, config):
                outcomes = [
                    outcome
                    for wave in content_waves(run.videos, config.output.cache_strategy)
                    for outcome in make_executor(config).run(wave, pipeline, observer)
                ]
        except KeyboardInterrupt:
            interrupt_run(manifest)
            raise
        spending = ledger.totals()
        close_ledger(manifest.job_id, ledger)
    scheduling = {**scheduling_report(config, pipeline), **monitor.report()}
    duplicates = same_content(run.videos) if config.output.cache_strategy == "batch_optimized" else {}
    return Executed(
        plan, observer, outcomes, memory.peak_bytes, spending, context.series, scheduling, duplicates
    )


def same_content(videos: list[VideoRef]) -> dict[str, str]:
    """Each video whose content an earlier one of ``videos`` has (the same fingerprint under
    another name), by key, with that first video's key."""
    first: dict[str, str] = {}
    twins: dict[str, str] = {}
    for video in videos:
        if not video.fingerprint:
            continue
        if video.fingerprint in first:
            twins[video.key] = first[video.fingerprint]
        else:
            first[video.fingerprint] = video.key
    return twins


def content_waves(videos: list[VideoRef], strategy: str) -> list[list[VideoRef]]:
    """The videos in the order the executor takes them: all at once; or, with the
    ``batch_optimized`` cache strategy, every content once first and its copies under other
    names after, so that a copy finds all the expensive work (probe, analysis, encoded
    segments, audio, thumbnail frames) in the caches instead of doing it alongside."""
    if strategy != "batch_optimized":
        return [videos] if videos else []
    twins = same_content(videos)
    waves = [[v for v in videos if v.key not in twins], [v for v in videos if v.key in twins]]
    return [wave for wave in waves if wave]


def memory_peak(memory: ProcessTreeMemory, monitor: ResourceMonitor) -> int:
    """The run's memory peak so far: the sum of the nodes' peaks on a cluster of several (where
    the monitor samples them), else this process tree's (the driver, Ray and its workers)."""
    nodes = monitor.report()["nodes"]
    if len(nodes) > 1:
        return sum(node["memory_peak_bytes"] for node in nodes.values())
    return memory.peak_bytes


def monitoring(monitor: ResourceMonitor, config: RaybatchConfig) -> contextlib.AbstractContextManager:
    """The resource monitor while the run lasts, when resource monitoring is on."""
    return monitor if config.monitoring.resource_monitoring else contextlib.nullcontext()


def scheduling_report(config: RaybatchConfig, pipeline: Pipeline) -> dict[str, Any]:
    """How the run scheduled its videos (for the reports)."""
    batch = config.batch
    return {
        "strategy": batch.strategy,
        "queue": "smart" if batch.smart_queue else "fifo",
        "videos_in_flight_limit": pipeline.in_flight_limit,
        "consistent_settings": config.processing.consistent_settings,
        "resource_monitoring": config.monitoring.resource_monitoring,
    }


def run_context(config: RaybatchConfig, manifest: JobManifest, plan: RunPlan) -> RunContext:
    """What every stage of this run knows about it."""
    return RunContext(
        job_id=manifest.job_id,
        layout=manifest.layout,
        config=config,
        preset=plan.preset,
        encoder_threads=plan.pool.threads,
        parallel_slots=plan.pool.size,
        model_threads=plan.models.threads,
        forward_logs=plan.cluster.on_ray,
        series=series_plan(config, manifest),
        naming=output_names(config, manifest),
    )


def driver_ledger(config: RaybatchConfig, spent: dict[str, Any]) -> BudgetLedger:
    """A ledger for the driver's own calls (the series text, batched metadata): what the run's
    budget has left."""
    budget = config.metadata.budget_usd
    left = None if budget is None else max(0.0, budget - (spent.get("cost_usd") or 0.0))
    return BudgetLedger(left, _secrets(config))


def series_plan(config: RaybatchConfig, manifest: JobManifest) -> SeriesPlan | None:
    """The series the job's videos make, when they are coordinated as one."""
    return batch_order(config, manifest) if config.series_coordinated else None


def batch_order(config: RaybatchConfig, manifest: JobManifest) -> SeriesPlan:
    """The job's videos in series order, numbered, and the series' name (configured, or what
    the file names or the input folder say)."""
    series = config.series
    return plan_series(manifest.videos, name=series.name, explicit=series.episodes, input_uri=manifest.input)


def output_names(config: RaybatchConfig, manifest: JobManifest) -> OutputNames:
    """Where every video of the job publishes its files. The episode numbers and series name
    a pattern may use come from the series plan (the batch's natural order and folder name when
    no series is coordinated); names that would meet are told apart, with a warning."""
    output, plan = config.output, batch_order(config, manifest)
    names = plan_names(
        output.patterns_in_use(),
        list(plan.episodes),
        series_name=plan.name,
        episodes={key: episode.number for key, episode in plan.episodes.items()},
        numbered=config.series_coordinated and config.metadata.progressive_numbering,
        organize_by_type=output.organize_by_type,
    )
    for warning in names.warnings:
        log.warning(warning)
    return names


def make_executor(config: RaybatchConfig):
    """The executor the configuration asks for."""
    if config.batch.executor == "local":
        from raybatch.executors.local import LocalExecutor

        return LocalExecutor()
    from raybatch.executors.ray_data import RayExecutor

    return RayExecutor()


def _secrets(config: RaybatchConfig) -> dict[str, str] | None:
    # Workers on other nodes may lack the driver's environment; the key reaches them in memory,
    # through the job's ledger, and is never written anywhere.
    name = config.metadata.llm.api_key_env
    return {name: os.environ[name]} if os.environ.get(name) else None
