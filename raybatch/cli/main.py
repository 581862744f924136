"""``raybatch`` command line: the batch CLI of the published guide."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from raybatch.api import EXIT_USAGE, run_batch
from raybatch.config.loader import ConfigError, load_config
from raybatch.config.presets import CONTENT_TYPES, MODES, QUALITIES
from raybatch.stages.discover import InputError


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


@batch.command("process")
@click.argument("input_path", metavar="INPUT")
@click.option("--output", "-o", help="Output folder or URL [default: ./batch_output].")
@click.option("--type", "content_type", type=click.Choice(CONTENT_TYPES), help="Content type.")
@click.option("--quality", type=click.Choice(QUALITIES), help="Quality preset.")
@click.option("--mode", type=click.Choice(MODES), help="Speed/quality trade-off.")
@click.option(
    "--pattern", help="Glob for file names, e.g. '*.mp4' [default: common video and audio extensions]."
)
@click.option("--recursive/--no-recursive", default=None, help="Descend into sub-folders.")
@click.option(
    "--auto-detect-type/--no-auto-detect-type",
    default=None,
    help="Decide educational / music / general per video from its sound (speech ratio, music-like "
    "level statistics) instead of using --type for all.",
)
@click.option(
    "--group-by-type/--no-group-by-type",
    default=None,
    help="Process and report the batch grouped by content type (with --auto-detect-type every "
    "video is analysed before the first is encoded).",
)
@click.option(
    "--analysis/--no-analysis",
    default=None,
    help="Analyse and edit (default), or only transcode, enhance and normalise.",
)
@click.option("--cache-size", help="Bound on the analysis cache, e.g. 2GB or 500MB [default: 2GB].")
@click.option("--cache-dir", help="Analysis cache folder or URL [default: OUTPUT/.raybatch/cache/analysis].")
@click.option(
    "--parallel/--sequential",
    default=None,
    help="Encode segments in parallel (default) or one at a time.",
)
@click.option("--max-concurrent", type=click.IntRange(min=1), help="At most N concurrent encoders.")
@click.option("--max-memory", type=click.FloatRange(min=0.1), help="Memory budget for encoders, in GB.")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML config file (flags override it).")
@click.option(
    "--error-handling",
    type=click.Choice(["continue", "stop"]),
    help="On a failed video: go on, or stop the batch.",
)
@click.option(
    "--executor",
    type=click.Choice(["ray", "local"]),
    help="ray (default) or local (in-process, no Ray).",
)
@click.option(
    "--ray-address",
    help="Ray cluster address [default: the cluster this runs in, else an embedded Ray].",
)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--verbose", "-v", is_flag=True, help="Log every step (same as --log-level DEBUG).")
@click.option("--progress-bar/--no-progress-bar", default=None, help="Show the live progress view.")
@click.pass_context
def process(ctx: click.Context, input_path: str, **flags: Any) -> None:
    """Process every video in INPUT (a folder, a file, or an fsspec URL such as s3://bucket/in)."""
    config_path = flags.pop("config") or (ctx.obj or {}).get("config")
    overrides = {
        "input": input_path,
        "batch": {
            "pattern": flags["pattern"],
            "recursive": flags["recursive"],
            "processing_mode": None
            if flags["parallel"] is None
            else ("parallel" if flags["parallel"] else "sequential"),
            "max_concurrent_jobs": flags["max_concurrent"],
            "max_memory_gb": flags["max_memory"],
            "error_handling": flags["error_handling"],
            "executor": flags["executor"],
            "ray_address": flags["ray_address"],
            "group_by_type": flags["group_by_type"],
        },
        "processing": {
            "content_type": flags["content_type"],
            "quality": flags["quality"],
            "mode": flags["mode"],
            "auto_detect_type": flags["auto_detect_type"],
            "analysis": flags["analysis"],
        },
        "output": {
            "directory": flags["output"],
            "cache_size": flags["cache_size"],
            "cache_dir": flags["cache_dir"],
        },
        "monitoring": {
            "log_level": "DEBUG" if flags["verbose"] else (flags["log_level"] or "").upper() or None,
            "enable_progress_tracking": flags["progress_bar"],
        },
    }
    try:
        config = load_config(config_path, overrides)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    logging.basicConfig(
        level=config.monitoring.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from raybatch.cli.progress import ProgressView

    view = ProgressView(enabled=config.monitoring.enable_progress_tracking)
    try:
        result = run_batch(config, listener=view)
    except (InputError, ValueError) as exc:
        view.close()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    finally:
        view.close()
    done = len(result.outcomes) - len(result.failed)
    click.echo(
        f"Job {result.job_id}: {done} done, {len(result.failed)} failed of {len(result.outcomes)} videos."
    )
    click.echo(f"Outputs: {result.output}")
    click.echo(f"Report:  {result.report_uri}")
    if result.failed:
        click.echo(f"Errors:  {result.output}/summary/error_log.json", err=True)
        for outcome in result.failed:
            error = outcome.get("error") or {}
            click.echo(
                f"  {outcome['relative_path']}: [{error.get('stage')}] {error.get('message')}",
                err=True,
            )
            if error.get("hint"):
                click.echo(f"    fix: {error['hint']}", err=True)
    sys.exit(result.exit_code)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="raybatch")


if __name__ == "__main__":
    main()
