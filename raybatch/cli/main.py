"""``raybatch`` command line: the batch CLI of the published guide."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from raybatch.api import BatchResult, run_batch
from raybatch.cli.config_commands import config_group
from raybatch.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, exit_code, guarded
from raybatch.cli.status import render_job, render_job_list
from raybatch.cli.terminal import (
    StderrHandler,
    native_log_path,
    native_stderr_through_python,
    native_stderr_to,
)
from raybatch.config.loader import load_config
from raybatch.config.model import STRATEGIES, RaybatchConfig
from raybatch.config.presets import CONTENT_TYPES, MODES, QUALITIES
from raybatch.errors import JobError
from raybatch.io.storage import exists, normalise_root, without_redacted
from raybatch.jobs.discover import read_list_file
from raybatch.jobs.ids import job_output, register_job, registered_jobs, registry_root
from raybatch.jobs.lifecycle import new_job
from raybatch.jobs.lock import shown_state
from raybatch.jobs.manifest import UNFINISHED, JobManifest, list_manifests
from raybatch.jobs.schema import check_job_id

LATEST = "__latest__"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="raybatch")
def cli() -> None:
    """raybatch: batch AI video editor on Ray."""


@cli.group()
@click.option("--config", "group_config", type=click.Path(dir_okay=False), help="YAML config file.")
@click.pass_context
def batch(ctx: click.Context, group_config: str | None) -> None:
    """Process many videos: batch process, ..."""
    ctx.obj = {"config": group_config}


batch.add_command(config_group)


def _with(options: list[Callable]) -> Callable:
    """Apply a list of click options to a command, in order."""

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


#: Metadata and thumbnail options (process, process-list, estimate).
_METADATA_OPTIONS = [
    click.option(
        "--budget",
        type=click.FloatRange(min=0),
        help="Hard cap on API spending for the batch, in USD; past it, metadata is written offline.",
    ),
    click.option(
        "--metadata-writer",
        type=click.Choice(["auto", "llm", "offline"]),
        help="auto (default): the LLM when $OPENAI_API_KEY is set, else offline.",
    ),
    click.option("--llm-model", help="Chat model for metadata [default: gpt-4o-mini]."),
    click.option("--llm-base-url", help="OpenAI-compatible server [default: $OPENAI_BASE_URL, else OpenAI]."),
    click.option(
        "--transcribe/--no-transcribe",
        default=None,
        help="Transcribe the kept speech (captions.srt/.vtt, chapters by topic) via audio.transcriptions.",
    ),
    click.option("--thumbnails/--no-thumbnails", default=None, help="Render thumbnails (default on)."),
    click.option(
        "--batch-api-calls",
        is_flag=True,
        default=None,
        help="Send the batch's metadata requests together: as one Batch API job where the server offers "
        "it (cheaper, but it can take long: the run waits up to metadata.llm.batch_wait_s), else as "
        "combined calls of several videos each.",
    ),
    click.option(
        "--optimize-requests",
        is_flag=True,
        default=None,
        help="Send only what the writer needs (each transcript excerpt once, trimmed; compact facts), "
        "ask only for what the config leaves open, and cap the answer's tokens.",
    ),
    click.option(
        "--cache-similar-content",
        is_flag=True,
        default=None,
        help="Reuse an earlier answer for a near-duplicate request (a re-upload, a re-cut): sentence "
        "embeddings, metadata.llm.similarity_threshold.",
    ),
]

#: The options of every command that starts a run (process, process-list).
#: Series options (process, process-list, estimate).
_SERIES_OPTIONS = [
    click.option(
        "--coordinate-series/--no-coordinate-series",
        default=None,
        help="Process the videos as one series: episode order and numbers, shared branding, "
        "series metadata (OUTPUT/series_coordination/).",
    ),
    click.option(
        "--series-name",
        help="The series' name (turns series coordination on) [default: from the file names, "
        "else the input folder's name].",
    ),
]

_TIMEOUT = click.option(
    "--timeout",
    "video_timeout",
    type=click.FloatRange(min=1),
    help="Seconds one video may take; then its work is cancelled and it is recorded as timed out.",
)

_BATCH_OPTIONS = [
    click.option("--output", "-o", help="Output folder or URL [default: ./batch_output]."),
    click.option("--type", "content_type", type=click.Choice(CONTENT_TYPES), help="Content type."),
    click.option("--quality", type=click.Choice(QUALITIES), help="Quality preset."),
    click.option("--mode", type=click.Choice(MODES), help="Speed/quality trade-off."),
    click.option(
        "--pattern", help="Glob for file names, e.g. '*.mp4' [default: common video and audio extensions]."
    ),
    click.option("--recursive/--no-recursive", default=None, help="Descend into sub-folders."),
    click.option(
        "--auto-detect-type/--no-auto-detect-type",
        default=None,
        help="Decide educational / music / general per video from its sound (speech ratio, music-like "
        "level statistics) instead of using --type for all.",
    ),
    click.option(
        "--group-by-type/--no-group-by-type",
        default=None,
        help="Process and report the batch grouped by content type (with --auto-detect-type every "
        "video is analysed before the first is encoded).",
    ),
    *_SERIES_OPTIONS,
    click.option(
        "--analysis/--no-analysis",
        default=None,
        help="Analyse and edit (default), or only transcode, enhance and normalise.",
    ),
    click.option("--cache-size", help="Bound on all the caches together, e.g. 2GB or 500MB [default: 2GB]."),
    click.option(
        "--cache-dir",
        help="Cache folder or URL; share one between jobs to reuse their work "
        "[default: OUTPUT/.raybatch/cache].",
    ),
    click.option(
        "--cache-strategy",
        type=click.Choice(["conservative", "batch_optimized", "off"]),
        help="conservative: cache the analysis; batch_optimized: also the media work, and inputs with "
        "the same content are processed once; off: cache nothing [default: conservative].",
    ),
    click.option(
        "--enable-aggressive-caching",
        "aggressive_caching",
        is_flag=True,
        default=None,
        help="Also cache the media work by content and settings: probe results, the audio pass, "
        "encoded segments, thumbnail frames.",
    ),
    click.option(
        "--parallel/--sequential",
        default=None,
        help="Videos in parallel (default) or one at a time (its segments still in parallel).",
    ),
    click.option(
        "--max-concurrent",
        type=click.IntRange(min=1),
        help="At most N videos in flight and N encoders at once.",
    ),
    click.option("--max-memory", type=click.FloatRange(min=0.1), help="Memory budget for encoders, in GB."),
    click.option(
        "--parallel-strategy",
        type=click.Choice(STRATEGIES),
        help="sequential: one video at a time; fixed: exactly --max-concurrent; adaptive (default): "
        "follow the machine; smart: adaptive, longest videos first.",
    ),
    click.option(
        "--queue-management",
        type=click.Choice(["fifo", "smart"]),
        help="Start videos in the batch's order (fifo, default) or the longest first (smart).",
    ),
    click.option(
        "--resource-balancing/--no-resource-balancing",
        default=None,
        help="Spread the encoders evenly over the nodes.",
    ),
    click.option(
        "--resource-monitoring/--no-resource-monitoring",
        default=None,
        help="Sample CPU and memory on every node; report them and act on the thresholds (default on).",
    ),
    click.option(
        "--adaptive-quality/--no-adaptive-quality",
        default=None,
        help="Under sustained pressure, videos not yet started take the next cheaper quality.",
    ),
    click.option(
        "--memory-threshold",
        type=click.FloatRange(min=0.1),
        help="GB in use on a node above which no new video starts [default: 90% of its memory].",
    ),
    click.option(
        "--cpu-threshold",
        type=click.FloatRange(min=1, max=100),
        help="CPU use (percent) on a node above which no new video starts [default: none].",
    ),
    click.option(
        "--optimize-batches/--no-optimize-batches",
        default=None,
        help="With --group-by-type: within a type, videos of one resolution run together.",
    ),
    click.option(
        "--consistent-settings/--no-consistent-settings",
        default=None,
        help="Every video gets the same preset, resolution cap and filter strengths.",
    ),
    click.option("--config", type=click.Path(dir_okay=False), help="YAML config file (flags override it)."),
    click.option(
        "--error-handling",
        type=click.Choice(["continue", "stop"]),
        help="On a failed video: go on, or stop the batch.",
    ),
    click.option(
        "--strict-mode/--no-strict-mode", default=None, help="Verification warnings fail the video too."
    ),
    _TIMEOUT,
    click.option(
        "--executor",
        type=click.Choice(["ray", "local"]),
        help="ray (default; $RAYBATCH_EXECUTOR changes it) or local (in-process, no Ray).",
    ),
    click.option(
        "--encoder",
        type=click.Choice(["auto", "libx264", "h264_nvenc", "hevc_nvenc"]),
        help="Video encoder: auto (default) uses NVENC on nodes advertising the `nvenc` resource when "
        "a test encode there works, else x264 on CPU.",
    ),
    click.option(
        "--ray-address",
        help="Ray cluster address [default: the cluster this runs in, else an embedded Ray].",
    ),
    click.option(
        "--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
    ),
    click.option("--verbose", "-v", is_flag=True, help="Log every step (same as --log-level DEBUG)."),
    click.option(
        "--log-errors",
        type=click.Choice(["basic", "detailed"]),
        help="Error records: basic (the message and the fix) or detailed (default: also ffmpeg's own "
        "words, its command line with secrets redacted, and what the stage was working on).",
    ),
    click.option("--progress-bar/--no-progress-bar", default=None, help="Show the live progress view."),
    *_METADATA_OPTIONS,
]
_BACKOFF = click.option(
    "--backoff",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds before the first retry, doubling after each.",
)
_RETRY_OPTIONS = [
    click.option(
        "--retry-count",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Retries, within this command, of each video that failed for a reason worth retrying "
        "(a timeout, a lost worker, a storage or API hiccup); a bad input is not retried.",
    ),
    _BACKOFF,
]
_DRY_RUN = click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (files found and skipped, output paths, segments, encoder, pools, estimated "
    "time and API cost) and stop: nothing is processed or written.",
)
_JOB_ID = click.option(
    "--job-id",
    "job_id",
    help="Name the new job yourself (letters, digits, '_', '-', '.'), e.g. to script status, "
    "retry and resume; it must be new on this machine [default: batch_YYYYMMDD_HHMMSS].",
)
batch_options = _with([*_BATCH_OPTIONS, *_RETRY_OPTIONS, _DRY_RUN, _JOB_ID])


def _overrides(input_path: str | None, flags: dict[str, Any]) -> dict[str, Any]:
    """Configuration overrides from the flags (unset flags are None and change nothing)."""
    return {
        "input": input_path,
        "batch": {
            "pattern": flags["pattern"],
            "recursive": flags["recursive"],
            "processing_mode": None
            if flags["parallel"] is None
            else ("parallel" if flags["parallel"] else "sequential"),
            "max_concurrent_jobs": flags["max_concurrent"],
            "max_memory_gb": flags["max_memory"],
            "parallel_strategy": flags["parallel_strategy"],
            "queue_management": flags["queue_management"],
            "resource_balancing": flags["resource_balancing"],
            "adaptive_quality": flags["adaptive_quality"],
            "memory_threshold_gb": flags["memory_threshold"],
            "cpu_threshold_pct": flags["cpu_threshold"],
            "optimize_batches": flags["optimize_batches"],
            "error_handling": flags["error_handling"],
            "executor": flags["executor"],
            "ray_address": flags["ray_address"],
            "group_by_type": flags["group_by_type"],
            "strict_mode": flags["strict_mode"],
            "video_timeout_s": flags["video_timeout"],
        },
        "processing": {
            "content_type": flags["content_type"],
            "quality": flags["quality"],
            "mode": flags["mode"],
            "auto_detect_type": flags["auto_detect_type"],
            "analysis": flags["analysis"],
            "encoder": flags["encoder"],
            "consistent_settings": flags["consistent_settings"],
        },
        "output": {
            "directory": flags["output"],
            "cache_size": flags["cache_size"],
            "cache_dir": flags["cache_dir"],
            "cache_strategy": flags["cache_strategy"],
            "aggressive_caching": flags["aggressive_caching"],
        },
        "monitoring": _monitoring(flags),
        **_metadata_overrides(flags),
        **_series_overrides(flags),
    }


def _series_overrides(flags: dict[str, Any]) -> dict[str, Any]:
    # Only a given name adds the series section: the section's presence turns coordination on.
    series = {"series": {"name": flags["series_name"]}} if flags.get("series_name") else {}
    return {"coordination": {"enable_series_coordination": flags.get("coordinate_series")}, **series}


def _metadata_overrides(flags: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "budget_usd": flags.get("budget"),
            "writer": flags.get("metadata_writer"),
            "llm": {
                "model": flags.get("llm_model"),
                "base_url": flags.get("llm_base_url"),
                "batch_api_calls": flags.get("batch_api_calls"),
                "optimize_requests": flags.get("optimize_requests"),
                "cache_similar_content": flags.get("cache_similar_content"),
            },
            "transcript": {"enabled": flags.get("transcribe")},
        },
        "thumbnails": {"enabled": flags.get("thumbnails")},
    }


def _monitoring(flags: dict[str, Any]) -> dict[str, Any]:
    return {
        "log_level": "DEBUG" if flags.get("verbose") else (flags.get("log_level") or "").upper() or None,
        "enable_progress_tracking": flags.get("progress_bar"),
        "resource_monitoring": flags.get("resource_monitoring"),
        "error_logging": flags.get("log_errors"),
    }


def _load(ctx: click.Context, config_path: str | None, overrides: dict[str, Any]) -> RaybatchConfig:
    config = load_config(config_path or (ctx.obj or {}).get("config"), overrides)
    logging.basicConfig(
        level=config.monitoring.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[StderrHandler()],
    )
    return config


def _run(config: RaybatchConfig, **run_args: Any) -> BatchResult:
    """Run with the progress view; Ctrl-C exits 130 with how to resume."""
    manifest = run_args["manifest"]
    if config.monitoring.log_level == "DEBUG":
        native = native_stderr_through_python()
    else:
        ray = config.batch.executor == "ray"
        native = native_stderr_to(native_log_path(manifest.job_id) if ray else None)
    with native:
        return _run_with_view(config, manifest, run_args)


def _run_with_view(config: RaybatchConfig, manifest: JobManifest, run_args: dict[str, Any]) -> BatchResult:
    from raybatch.cli.progress import ProgressView

    view = ProgressView(enabled=config.monitoring.enable_progress_tracking, manifest=manifest)
    try:
        result = run_batch(config, listener=view, **run_args)
        for key in result_changed(manifest):
            source = manifest.videos[key]["source"]
            click.echo(f"Note: {source} changed since the job began; its new content was processed.")
        return result
    except KeyboardInterrupt:
        view.close()
        click.echo(f"\nInterrupted. Resume with: raybatch batch resume --job-id {manifest.job_id}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        view.close()


def _report(result: BatchResult) -> None:
    done = len(result.outcomes) - len(result.failed)
    click.echo(
        f"Job {result.job_id}: {done} done, {len(result.failed)} failed of {len(result.outcomes)} videos."
    )
    click.echo(f"Outputs: {result.output}")
    reports = result.report_uri is not None
    if reports:
        click.echo(f"Report:  {result.report_uri}")
        page = result.report_uri.rsplit("/", 1)[0] + "/report.html"
        if exists(page):
            click.echo(f"Page:    {page}   (open it in a browser)")
    else:
        click.echo(
            "Report:  none (output.create_summary_reports is false); every video's state: "
            f"raybatch batch status --job-id {result.job_id}"
        )
    if result.failed:
        if reports:
            click.echo(f"Errors:  {result.output}/summary/error_log.json", err=True)
        for outcome in result.failed:
            error = outcome.error
            click.echo(
                f"  {outcome.relative_path}: [{error.stage}] {error.message}" if error else "", err=True
            )
            if error and error.hint:
                click.echo(f"    fix: {error.hint}", err=True)
        click.echo(f"Retry the failed ones: raybatch batch retry --job-id {result.job_id}", err=True)
    sys.exit(exit_code(result))


@batch.command("process")
@click.argument("input_path", metavar="INPUT")
@batch_options
@click.pass_context
def process(ctx: click.Context, input_path: str, **flags: Any) -> None:
    """Process every video in INPUT (a folder, a file, or an fsspec URL such as s3://bucket/in)."""
    dry_run, retries = flags.pop("dry_run"), (flags.pop("retry_count"), flags.pop("backoff"))
    job_id = flags.pop("job_id")
    config = _load(ctx, flags.pop("config"), _overrides(input_path, flags))
    if dry_run:
        _print_plan(config)
        return
    _report(_run_with_retries(config, new_job(config, job_id=job_id), *retries))


@batch.command("process-list")
@click.argument("list_file", metavar="FILE", type=click.Path(dir_okay=False))
@batch_options
@click.pass_context
def process_list(ctx: click.Context, list_file: str, **flags: Any) -> None:
    """Process the videos named in FILE: one path or URL per line (relative paths are relative
    to FILE's folder); blank lines and # comments are skipped; a missing entry is reported as
    that video's error and the rest go on."""
    dry_run, retries = flags.pop("dry_run"), (flags.pop("retry_count"), flags.pop("backoff"))
    job_id = flags.pop("job_id")
    config = _load(ctx, flags.pop("config"), _overrides(None, flags))
    sources = read_list_file(list_file)
    if not sources:
        raise JobError(f"{list_file} names no videos", hint="one path or URL per line")
    if dry_run:
        _print_plan(config, sources)
        return
    manifest = new_job(config, sources, list_file=os.path.abspath(list_file), job_id=job_id)
    _report(_run_with_retries(config, manifest, *retries))


def _run_with_retries(
    config: RaybatchConfig, manifest: JobManifest, retries: int, backoff: float
) -> BatchResult:
    """The job's first run, then up to ``retries`` runs of what failed for a reason worth
    retrying (videos cancelled by --error-handling stop stay cancelled)."""
    result = _run(config, manifest=manifest)
    return _retry_transient(config, manifest, result, retries=retries, backoff=backoff)


def _retry_transient(
    config: RaybatchConfig,
    manifest: JobManifest,
    result: BatchResult,
    *,
    retries: int,
    backoff: float,
    states: tuple[str, ...] = ("failed", "timed_out"),
    total: int | None = None,
) -> BatchResult:
    """Run the job's videos in ``states`` whose failure was not their input's own (not a video,
    unreadable: that stays so) again, up to ``retries`` times, waiting ``backoff`` seconds
    before the first and twice as long before each next; attempts are counted of ``total``."""
    total = total or retries + 1
    for attempt in range(retries):
        failed = [key for key in manifest.keys_in(*states) if not manifest.is_permanent_failure(key)]
        if not failed:
            break
        delay = backoff * 2**attempt
        attempt_number = total - retries + attempt + 1
        click.echo(f"{len(failed)} still failing; attempt {attempt_number}/{total} in {delay:.0f} s.")
        time.sleep(delay)
        result = _run(config, manifest=manifest, only=failed, run_kind="retry")
    return result


def _print_plan(config: RaybatchConfig, sources: list[str] | None = None) -> None:
    from raybatch.cli.dry_run import plan_batch, render_plan

    click.echo(render_plan(plan_batch(config, sources)))


@batch.command("estimate")
@click.argument("input_path", metavar="INPUT")
@click.option("--pattern", help="Glob for file names.")
@click.option("--recursive/--no-recursive", default=None, help="Descend into sub-folders.")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML config file (flags override it).")
@_with(_METADATA_OPTIONS)
@_with(_SERIES_OPTIONS)
@click.pass_context
def estimate(ctx: click.Context, input_path: str, **flags: Any) -> None:
    """Expected API calls, tokens and cost of processing INPUT, before anything runs (only the
    inputs are probed; nothing is analysed, encoded or sent)."""
    from raybatch.cli.estimate import estimate_batch, render_estimate

    overrides = {
        "input": input_path,
        "batch": {"pattern": flags["pattern"], "recursive": flags["recursive"]},
        **_metadata_overrides(flags),
        **_series_overrides(flags),
    }
    config = _load(ctx, flags.pop("config"), overrides)
    click.echo(render_estimate(estimate_batch(config)))


def _find_manifest(job_id: str, output: str | None, checkpoint: str | None = None) -> JobManifest:
    """A job's manifest from its output location (given, or from this machine's registry)."""
    location = output or job_output(check_job_id(job_id))
    if location is None:
        raise JobError(
            f"job {job_id} is not known on this machine",
            hint="pass --output with its output folder or URL (see raybatch batch status)",
        )
    manifest = JobManifest.load(normalise_root(location), job_id, checkpoint)
    register_job(job_id, manifest.output)
    return manifest


_job_id_option = click.option("--job-id", required=True, help="The job (see raybatch batch status).")
_job_output_option = click.option(
    "--output", "-o", help="The job's output folder or URL, when this machine's registry does not know it."
)
_view_options = [
    click.option("--progress-bar/--no-progress-bar", default=None, help="Show the live progress view."),
    click.option("--verbose", "-v", is_flag=True, help="Log every step."),
]


@batch.command("status")
@click.option("--job-id", help="Show one job in detail.")
@_job_output_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Recent jobs to list."
)
@click.option("--watch", is_flag=True, help="With --job-id: the job's live view until it ends.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable state (one job, or the list).")
def status(job_id: str | None, output: str | None, limit: int, watch: bool, as_json: bool) -> None:
    """Recent jobs (id, state, done/failed/queued, started, output), or one job in detail."""
    if watch and not job_id:
        raise click.UsageError("--watch follows one job: pass --job-id (see raybatch batch status)")
    if job_id:
        _status_of(job_id, output, watch, as_json)
        return
    jobs = list_manifests([(j.get("job_id"), j.get("output")) for j in registered_jobs()[:limit]])
    if as_json:
        click.echo(json.dumps(jobs, indent=2, default=str))
    elif not jobs:
        click.echo("No jobs yet on this machine (registry: " + str(registry_root()) + ").")
    else:
        click.echo(render_job_list(jobs))


def _status_of(job_id: str, output: str | None, watch: bool, as_json: bool) -> None:
    """One job: in detail, as JSON (its manifest and its live state), or watched until it ends."""
    from raybatch.cli.live import live_state
    from raybatch.cli.watch import watch_job

    def load() -> dict[str, Any]:
        manifest = _find_manifest(job_id, output)
        return {**manifest.to_dict(), "state": shown_state(manifest.output, job_id, manifest.state)}

    job = watch_job(load, Console(stderr=False)) if watch else load()
    if as_json:
        click.echo(json.dumps({**job, "live": live_state(job).to_dict()}, indent=2, default=str))
    elif not watch:
        click.echo(render_job(job))


@batch.command("checkpoint")
@_job_id_option
@click.option("--checkpoint-name", required=True, help="Name of the snapshot (letters, digits, . _ -).")
@_job_output_option
def checkpoint(job_id: str, checkpoint_name: str, output: str | None) -> None:
    """Save a named snapshot of a job's state that resume --from-checkpoint can return to."""
    manifest = _find_manifest(job_id, output)
    uri = manifest.save_checkpoint(checkpoint_name)
    counts = ", ".join(f"{n} {state}" for state, n in manifest.counts().items())
    click.echo(f"Checkpoint {checkpoint_name!r} of {job_id} ({counts}): {uri}")


@batch.command("resume")
@_job_id_option
@click.option(
    "--from-checkpoint",
    "from_checkpoint",
    is_flag=False,
    flag_value=LATEST,
    default=None,
    help="Return to a named checkpoint first (alone: the latest one).",
)
@_job_output_option
@_TIMEOUT
@_with(_RETRY_OPTIONS)
@_with(_view_options)
@click.pass_context
def resume(
    ctx: click.Context, job_id: str, from_checkpoint: str | None, output: str | None, **flags: Any
) -> None:
    """Go on with a stopped, interrupted or crashed job: finished videos and finished segments
    are kept, the rest is processed; inputs that changed since the job began are reported."""
    manifest = _find_manifest(job_id, output)
    if from_checkpoint == LATEST and not manifest.checkpoints:
        # Its latest state is then the best there is: said, and carried on from.
        click.echo(
            f"Job {job_id} has no checkpoints (raybatch batch checkpoint makes one): "
            "going on from where it stopped."
        )
    elif from_checkpoint:
        name = manifest.checkpoints[-1] if from_checkpoint == LATEST else from_checkpoint
        runs = manifest.runs
        manifest = _find_manifest(job_id, manifest.output, name)
        manifest.runs = runs
        click.echo(f"Returning {job_id} to checkpoint {name!r}.")
    unfinished = manifest.keys_in(*UNFINISHED)
    if not unfinished:
        click.echo(
            f"Job {job_id} has nothing left to resume ({manifest.state}); failed ones: raybatch batch retry."
        )
        sys.exit(EXIT_OK if not manifest.keys_in("failed", "cancelled") else EXIT_SOME_FAILED)
    retries = (flags.pop("retry_count"), flags.pop("backoff"))
    config = _load(ctx, None, _job_config(manifest, flags))
    result = _run(config, manifest=manifest, run_kind="resume")
    _report(_retry_transient(config, manifest, result, retries=retries[0], backoff=retries[1]))


@batch.command("retry")
@_job_id_option
@click.option(
    "--retry-count",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Attempts per failed video, this command's included.",
)
@_BACKOFF
@_job_output_option
@_TIMEOUT
@_with(_view_options)
@click.pass_context
def retry(
    ctx: click.Context, job_id: str, retry_count: int, backoff: float, output: str | None, **flags: Any
) -> None:
    """Re-run only the failed videos of a job, up to --retry-count attempts each, with backoff.
    Failures of the input itself (not a video, unreadable) are not retried."""
    manifest = _find_manifest(job_id, output)
    config = _load(ctx, None, _job_config(manifest, flags))
    states = ("failed", "cancelled", "timed_out")
    failed = manifest.keys_in(*states)
    result = _run(config, manifest=manifest, only=failed, run_kind="retry") if failed else None
    if result is not None:
        # After one more try, a bad input (not a video, unreadable) stays bad: only transient
        # failures are worth waiting for.
        result = _retry_transient(
            config,
            manifest,
            result,
            retries=retry_count - 1,
            backoff=backoff,
            states=states,
            total=retry_count,
        )
    for key in manifest.keys_in("failed"):
        if manifest.is_permanent_failure(key) and retry_count > 1:
            video = manifest.videos[key]
            message = video["error"]["message"]
            click.echo(f"Not retried again (the input itself): {video['source']}: {message}", err=True)
    if result is None:
        click.echo(f"Job {job_id} has no failed videos to retry.")
        sys.exit(EXIT_OK)
    _report(result)


def _job_config(manifest: JobManifest, flags: dict[str, Any]) -> dict[str, Any]:
    """A job's own configuration; only how it is displayed, and how long a video may take
    (``--timeout``), may change on resume or retry."""
    monitoring = {k: v for k, v in _monitoring(flags).items() if v is not None}
    config = dict(manifest.config)
    config["monitoring"] = {**config.get("monitoring", {}), **monitoring}
    if flags.get("video_timeout"):
        config["batch"] = {**config.get("batch", {}), "video_timeout_s": flags["video_timeout"]}
    if "storage" in config:
        config["storage"] = {"options": without_redacted(config["storage"].get("options", {}))}
    return config


def result_changed(manifest: JobManifest) -> list[str]:
    return list(manifest.runs[-1].get("changed_inputs", [])) if manifest.runs else []


def main() -> None:
    """Console-script entry point: usage errors exit 2, run failures 1, and anything else is a
    bug, reported in one line with the file that holds its traceback."""
    # A file name that is not UTF-8 is printed with \xff escapes, never as a crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    guarded(lambda: cli(prog_name="raybatch"))


if __name__ == "__main__":
    main()
