"""``raybatch batch process|process-list --dry-run``: what a run would do, without doing it.

Nothing is written to the output: the inputs are discovered and probed (remote ones staged in
the node's scratch, as the estimate does), the job's names and the run's plan (encoder, pools)
are made in memory, and the time and API cost are forecast (:mod:`raybatch.executors.timing`,
:mod:`raybatch.llm.estimate`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from raybatch.analysis.segments import segment_count
from raybatch.api import output_names
from raybatch.cli.estimate import api_estimate, probe_inputs
from raybatch.config.model import RaybatchConfig
from raybatch.executors.cluster import connect
from raybatch.executors.plan import RunPlan, plan_run
from raybatch.executors.timing import VideoLoad, calibrated_wall_s, modelled_wall_s
from raybatch.io.layout import Layout
from raybatch.io.naming import OutputNames
from raybatch.io.storage import configure_storage, normalise_root, read_json
from raybatch.jobs.discover import DiscoveredVideo, assign_video_keys, discover_inputs, input_from_uri
from raybatch.jobs.manifest import JobManifest
from raybatch.media.commands import output_dimensions
from raybatch.media.probe import MediaInfo
from raybatch.pipeline import stage_types

#: The job id the plan's names are made with (never saved).
DRY_RUN_JOB = "dry-run"


def plan_batch(config: RaybatchConfig, sources: list[str] | None = None) -> dict[str, Any]:
    """The plan of a run of ``config`` (over ``sources`` when given, else ``config.input``)."""
    configure_storage(config.storage.options)
    output = normalise_root(config.output.directory)
    skipped: list[tuple[str, str]] = []
    if sources is None:
        found = discover_inputs(
            config.input or "",
            pattern=config.batch.pattern,
            recursive=config.batch.recursive,
            exclude=(output,),
            skipped=skipped,
        )
    else:
        found = [input_from_uri(uri) for uri in sources]
    with connect(config.batch) as cluster:
        plan = plan_run(config, cluster, stage_types(config))
    probed, unreadable = probe_inputs(config, found)
    keys = dict(zip((v.uri for v in found), _keys(config, found), strict=True))
    names = output_names(config, _manifest(config, output, found, keys))
    videos = [_video(config, plan, video, media, keys[video.uri], names) for video, media in probed]
    api = api_estimate(config, [(v["video"], v["duration_s"]) for v in videos], [])
    return {
        "output": output,
        "executor": config.batch.executor,
        "videos": videos,
        "skipped": [{"video": name, "why": why} for name, why in skipped],
        "unreadable": unreadable,
        "plan": _plan_summary(plan),
        "time": _forecast(config, output, videos, plan.cluster.cpus),
        "api": {k: api[k] for k in ("writer", "model", "totals", "budget_usd")},
        "name_warnings": list(names.warnings),
    }


def _keys(config: RaybatchConfig, found: list[DiscoveredVideo]) -> list[str]:
    return assign_video_keys(
        [v.relative_path for v in found],
        preserve_directory_structure=config.output.preserve_directory_structure,
    )


def _manifest(
    config: RaybatchConfig, output: str, found: list[DiscoveredVideo], keys: dict[str, str]
) -> JobManifest:
    """The job as it would start (in memory only: names and the series order come from it)."""
    manifest = JobManifest(
        job_id=DRY_RUN_JOB,
        output=output,
        input=normalise_root(config.input) if config.input else "",
        config=config.public_dump(),
    )
    for video in found:
        manifest.add_video(keys[video.uri], video.uri, video.relative_path, video.size_bytes, "")
    return manifest


def _video(
    config: RaybatchConfig,
    plan: RunPlan,
    video: DiscoveredVideo,
    media: MediaInfo,
    key: str,
    names: OutputNames,
) -> dict[str, Any]:
    processing, files = config.processing, names.files(key)
    width, height = output_dimensions(*media.video.display_size, plan.preset.max_short_side)
    duration = media.duration_s or 0.0
    return {
        "video": video.relative_path,
        "duration_s": round(duration, 3),
        "size_bytes": video.size_bytes,
        "input": f"{media.video.width}x{media.video.height}",
        "output_size": f"{width}x{height}",
        "has_audio": media.audio is not None,
        "segments": segment_count(
            duration, processing.segment_seconds, processing.min_segment_seconds, plan.pool.size
        ),
        # Relative to the output; the title a pattern may use is not known before the run.
        "enhanced_video": files.paths["video"],
        "folder": files.folder,
    }


def _plan_summary(plan: RunPlan) -> dict[str, Any]:
    return {
        "encoder": plan.encoder.encoder,
        "encoder_reason": plan.encoder.reason,
        "encoder_pool": {
            "actors": plan.pool.size,
            "cpus_each": plan.pool.num_cpus,
            "threads": plan.pool.threads,
        },
        "model_actors": {
            "per_model": plan.models.size,
            "cpus_each": plan.models.num_cpus,
            "gpus_each": plan.models.num_gpus,
        },
        "cluster_cpus": plan.cluster.cpus,
        "preset": {
            "x264_preset": plan.preset.x264_preset,
            "crf": plan.preset.crf,
            "max_short_side": plan.preset.max_short_side,
        },
        "warnings": list(plan.warnings),
    }


def _forecast(
    config: RaybatchConfig, output: str, videos: list[dict[str, Any]], cpus: float
) -> dict[str, Any]:
    seconds = sum(v["duration_s"] for v in videos)
    earlier_uri = Layout(output, DRY_RUN_JOB).summary("processing_metrics.json")
    calibrated = None
    with contextlib.suppress(OSError, ValueError):  # none yet, or not JSON: the model instead
        earlier = read_json(earlier_uri)
        calibrated = calibrated_wall_s(seconds, len(videos), earlier) if isinstance(earlier, dict) else None
    if calibrated is not None:
        return {
            "wall_s": round(calibrated, 1),
            "basis": f"the pace of the last run into this output ({earlier_uri})",
        }
    loads = [VideoLoad(v["duration_s"], _pixels(v["output_size"])) for v in videos]
    wall = modelled_wall_s(loads, config.processing.mode, cpus, config.processing.analysis)
    return {"wall_s": round(wall, 1), "basis": f"the CPU model on {cpus:g} CPUs (no earlier run here; ±50 %)"}


def _pixels(size: str) -> int:
    width, height = size.split("x")
    return int(width) * int(height)


def render_plan(report: dict[str, Any]) -> str:
    """The plan as the terminal shows it."""
    lines = [f"Dry run: nothing is processed or written. Output: {report['output']}"]
    videos = report["videos"]
    lines.append(f"{len(videos)} video(s) to process:")
    lines.append(f"  {'video':36} {'length':>8} {'input':>10} {'output':>10} {'segs':>4}  writes")
    for v in videos:
        lines.append(
            f"  {v['video'][:36]:36} {v['duration_s']:7.1f}s {v['input']:>10} {v['output_size']:>10} "
            f"{v['segments']:4d}  {v['enhanced_video']}"
        )
    for s in report["skipped"]:
        lines.append(f"  skipped {s['video']}: {s['why']}")
    for u in report["unreadable"]:
        lines.append(f"  will fail {u['video']}: {u['error']}")
    plan = report["plan"]
    pool, models = plan["encoder_pool"], plan["model_actors"]
    preset = plan["preset"]
    lines.append(
        f"Encoder: {plan['encoder']} ({plan['encoder_reason']}); x264 preset {preset['x264_preset']}, "
        f"CRF {preset['crf']}, short side <= {preset['max_short_side']}"
    )
    lines.append(
        f"Pools on {plan['cluster_cpus']:g} CPUs ({report['executor']}): {pool['actors']} encoder(s) x "
        f"{pool['cpus_each']:g} CPU ({pool['threads']} threads); {models['per_model']} actor(s) per model"
    )
    for warning in plan["warnings"] + report["name_warnings"]:
        lines.append(f"  warning: {warning}")
    time = report["time"]
    lines.append(f"Estimated wall time: {_duration(time['wall_s'])} (from {time['basis']})")
    api = report["api"]
    totals = api["totals"]
    if api["writer"] == "offline":
        lines.append("API cost: $0 (offline metadata writer)")
    else:
        lines.append(
            f"API cost: ~${totals['cost_usd']:.4f} in {int(totals['calls'])} call(s) to {api['model']} "
            f"(worst case ${totals['worst_case_usd']:.4f}; `raybatch batch estimate` breaks it down)"
        )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
