"""``raybatch batch estimate``: the API cost of a batch before it runs."""

from __future__ import annotations

import os
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.io.cache import content_fingerprint
from raybatch.io.storage import normalise_root, scratch_root, stage_input
from raybatch.jobs.discover import DiscoveredVideo, discover_inputs
from raybatch.llm.estimate import batch_job_row, estimate_series, estimate_video, writer_uses_llm
from raybatch.media.probe import MediaInfo, probe_media
from raybatch.media.runner import MediaError
from raybatch.series.plan import series_name


def estimate_batch(config: RaybatchConfig) -> dict[str, Any]:
    """Probe every input and estimate its metadata calls; inputs that do not probe are listed
    with their error (they would fail in the run and cost nothing)."""
    found = discover_inputs(
        config.input or "",
        pattern=config.batch.pattern,
        recursive=config.batch.recursive,
        exclude=(normalise_root(config.output.directory),),
    )
    probed, skipped = probe_inputs(config, found)
    twins = same_content_inputs([video for video, _ in probed])
    return api_estimate(
        config, [(video.relative_path, media.duration_s or 0.0) for video, media in probed], skipped, twins
    )


def same_content_inputs(found: list[DiscoveredVideo]) -> dict[str, str]:
    """Each input with the same content as an earlier one (by content fingerprint), by its
    relative path, with that one's."""
    first: dict[str, str] = {}
    twins: dict[str, str] = {}
    for video in found:
        try:
            fingerprint = content_fingerprint(video.uri)
        except OSError:
            continue
        if fingerprint in first:
            twins[video.relative_path] = first[fingerprint]
        else:
            first[fingerprint] = video.relative_path
    return twins


def probe_inputs(
    config: RaybatchConfig, found: list[DiscoveredVideo]
) -> tuple[list[tuple[DiscoveredVideo, MediaInfo]], list[dict[str, str]]]:
    """Each input probed (remote ones staged into the node's scratch first), and those that do
    not probe with their error."""
    scratch = scratch_root(config.output.scratch_dir)
    probed, skipped = [], []
    for video in found:
        try:
            probed.append((video, probe_media(stage_input(video.uri, scratch), size_bytes=video.size_bytes)))
        except (MediaError, OSError) as exc:
            skipped.append({"video": video.relative_path, "error": getattr(exc, "message", str(exc))})
    return probed, skipped


def api_estimate(
    config: RaybatchConfig,
    durations: list[tuple[str, float]],
    skipped: list[dict[str, str]],
    twins: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The metadata calls, tokens and cost of videos of these (name, duration) pairs
    (``twins``: those with the same content as an earlier one, see :func:`same_content_inputs`)."""
    settings = config.metadata.model_dump()
    twins = twins or {}
    videos = [estimate_video(name, duration, settings, twins.get(name)) for name, duration in durations]
    llm = settings["llm"]
    if llm["batch_api_calls"] and writer_uses_llm(settings) and any(v["input_tokens"] for v in videos):
        videos.append(batch_job_row(videos))
    series_text = config.series_coordinated and settings["playlist_optimization"]
    if videos and series_text and writer_uses_llm(settings):
        # The series step's one call: the playlist and every episode's neighbour description.
        name = config.series.name or series_name([v["video"] for v in videos], config.input)
        videos.append(estimate_series(name, [(v["video"], v["duration_s"]) for v in videos], settings))
    names = ("calls", "input_tokens", "output_tokens", "audio_minutes", "cost_usd", "worst_case_usd")
    totals = {k: round(sum(v[k] for v in videos), 6) for k in names}
    return {
        "writer": "llm" if writer_uses_llm(settings) else "offline",
        "model": llm["model"],
        "endpoint": llm["base_url"] or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
        "transcript": settings["transcript"]["enabled"],
        "optimize_requests": llm["optimize_requests"],
        "batch_api_calls": llm["batch_api_calls"],
        "cache_similar_content": llm["cache_similar_content"],
        "budget_usd": settings["budget_usd"],
        "videos": videos,
        "skipped": skipped,
        "totals": totals,
    }


_FLAG_NOTES = {
    "optimize_requests": "--optimize-requests: compact requests, each transcript excerpt once, "
    "answers capped.",
    "batch_api_calls": "--batch-api-calls: every video's metadata in one Batch API job at its lower price "
    "(it can take long); where the server has none, combined calls of several videos each.",
    "cache_similar_content": "--cache-similar-content: a copy of an earlier input reuses its answer "
    "(near duplicates found only in the run, by their transcripts, cost nothing more).",
}


def render_estimate(report: dict[str, Any]) -> str:
    """The estimate as a table with totals and the budget's verdict."""
    lines = []
    if report["writer"] == "offline":
        lines.append(
            "Metadata writer: offline (no API key configured, or --metadata-writer offline): no calls, $0."
        )
    else:
        lines.append(
            f"Metadata writer: {report['model']} at {report['endpoint']}"
            + (" + transcription" if report["transcript"] else "")
        )
    lines.append(f"{'video':40} {'dur':>7} {'calls':>5} {'tok in':>8} {'tok out':>8} {'cost $':>9}")
    for v in report["videos"]:
        lines.append(
            f"{v['video'][:40]:40} {v['duration_s']:7.1f} {v['calls']:5d} {v['input_tokens']:8d} "
            f"{v['output_tokens']:8d} {v['cost_usd']:9.4f}"
        )
    t = report["totals"]
    lines.append(
        f"{'total':40} {'':7} {int(t['calls']):5d} {int(t['input_tokens']):8d} "
        f"{int(t['output_tokens']):8d} {t['cost_usd']:9.4f}"
    )
    lines.append(
        f"Worst case (what --budget reserves per call): ${t['worst_case_usd']:.4f}. "
        "Cached responses cost nothing; this assumes none are cached."
    )
    lines += [note for flag, note in _FLAG_NOTES.items() if report.get(flag)]
    for s in report["skipped"]:
        lines.append(f"  skipped {s['video']}: {s['error']}")
    budget = report["budget_usd"]
    if budget is not None:
        if t["worst_case_usd"] <= budget:
            lines.append(f"Budget ${budget:.4f}: enough for every call.")
        else:
            lines.append(
                f"Budget ${budget:.4f}: not enough for every call at worst case; videos past it get "
                "offline metadata."
            )
    return "\n".join(lines)
