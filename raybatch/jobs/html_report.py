"""``summary/report.html``: the run's reports as one page people look at.

Built from the same data as the JSON reports (``batch_report.json``, ``processing_metrics.json``,
``error_log.json``) plus the small files each video published (its metadata, edit decisions and
shots), and, for a series, ``series_coordination/``. The page is self-contained: inline CSS, charts
as inline SVG (``raybatch.jobs.charts``), no script and nothing fetched; thumbnails, the videos and
their files are relative links from ``summary/``, so the output folder opens without a server.
Every value is escaped by the template engine (autoescaping), so a title such as
``<script>...`` shows as text.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from raybatch.io.layout import SUMMARY_DIR, Layout
from raybatch.io.storage import exists, is_local, is_storage_failure, join, read_json, write_bytes_atomic
from raybatch.jobs import charts
from raybatch.jobs.units import byte_size, clock
from raybatch.series.step import series_dir

#: What a published file is called on the page.
FILE_LABELS = {
    "video": "video (MP4)",
    "metadata/metadata.json": "metadata",
    "metadata/captions.srt": "captions (SRT)",
    "metadata/captions.vtt": "captions (WebVTT)",
    "metadata/edl.json": "EDL (JSON)",
    "metadata/edl.otio": "EDL (OpenTimelineIO)",
    "metadata/analysis.json": "analysis",
    "thumbnails/thumbnails.json": "thumbnail scores",
}
THUMBNAILS = ("clean.jpg", "title.jpg", "closeup.jpg")
#: Enhancement values that change nothing (``raybatch.analysis.enhance.Enhancement``); others are 0.
NEUTRAL: dict[str, Any] = {"contrast": 1.0, "saturation": 1.0, "gamma": 1.0, "voice_denoise": False}


@dataclass
class Published:
    """What one video published that the page shows beyond its report entry."""

    metadata: dict[str, Any] = field(default_factory=dict)
    edl: dict[str, Any] = field(default_factory=dict)
    shots_s: list[float] = field(default_factory=list)


def write_html_report(
    layout: Layout, report: dict, metrics: dict | None, errors: dict, metric_rows: list[dict[str, Any]]
) -> None:
    """Render the page from the run's reports (and its stage metric rows) and write it atomically."""
    published = {v["video"]: read_published(layout, v) for v in report["videos"]}
    folder = series_dir(layout.root)
    series = _read_optional(join(folder, "series_metadata.json"))
    links = _read_optional(join(folder, "cross_references.json"))
    page = render_report(report, metrics, errors, published, series_page(series, links), metric_rows)
    write_bytes_atomic(layout.summary("report.html"), page.encode())


def read_published(layout: Layout, entry: dict[str, Any]) -> Published:
    """The video's metadata, edit decisions and shots, where it published them."""
    files = entry.get("files") or {}

    def document(name: str) -> dict[str, Any]:
        relative = files.get(name)
        return (_read_optional(layout.file(relative)) or {}) if relative else {}

    analysis = document("metadata/analysis.json")
    return Published(
        metadata=document("metadata/metadata.json"),
        edl=document("metadata/edl.json"),
        shots_s=[s["time_s"] for s in analysis.get("shots") or [] if "time_s" in s],
    )


def _read_optional(uri: str) -> Any:
    """A JSON file's content, or ``None`` when it is missing or unreadable (the page then says
    less; it never fails the run)."""
    try:
        return read_json(uri) if exists(uri) else None
    except Exception as exc:
        if isinstance(exc, ValueError) or is_storage_failure(exc):
            return None
        raise


def render_report(
    report: dict,
    metrics: dict | None,
    errors: dict,
    published: dict[str, Published],
    series: dict[str, Any] | None = None,
    metric_rows: list[dict[str, Any]] | None = None,
) -> str:
    """The page's HTML (pure: everything it shows is passed in)."""
    local = is_local(report["output"])
    videos = [video_page(v, published.get(v["video"], Published()), local) for v in report["videos"]]
    return _template().render(
        job=job_header(report),
        summary_cards=summary_cards(report, metrics),
        videos=videos,
        stages=stages_page(metrics),
        nodes=node_rows(metrics, metric_rows or []),
        errors=(errors or {}).get("errors", []),
        series=series,
    )


@cache
def _template() -> jinja2.Template:
    source = resources.files("raybatch.jobs").joinpath("templates/report.html.j2").read_text("utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(source)


def job_header(report: dict) -> dict[str, Any]:
    return {
        "job_id": report["job_id"],
        "status_text": report["status"].replace("_", " "),
        "started_at": _when(report.get("started_at")),
        "finished_at": _when(report.get("finished_at")),
        "input": report.get("input"),
    }


def _when(iso: str | None) -> str:
    return (iso or "")[:19].replace("T", " ")


def duration(seconds: float | None) -> str:
    """A duration on the page: ``7.5 s`` under a minute, else as the live view's clock."""
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 60 else clock(seconds)


def summary_cards(report: dict, metrics: dict | None) -> list[dict[str, str]]:
    """The batch at a glance: counts, durations, time saved, speed, cost, errors, quality."""
    totals, metrics = report["totals"], metrics or {}
    saved = totals["input_duration_s"] - totals["output_duration_s"] if totals["done"] else None
    cards = [
        ("Videos done", f"{totals['done']} / {totals['videos']}"),
        ("Failed", str(totals["failed"])),
        ("Input duration", duration(totals["input_duration_s"])),
        ("Output duration", duration(totals["output_duration_s"])),
        ("Time saved by cuts", duration(saved) if saved is not None else "–"),
        ("Wall time", duration(metrics.get("wall_time_s"))),
        ("Realtime factor", _number(metrics.get("realtime_factor"), "{:.2f}x")),
        ("Throughput", _number(metrics.get("throughput_videos_per_hour"), "{:.1f} videos/h")),
        ("API cost", f"${(report.get('api') or {}).get('cost_usd') or 0:.4f}"),
        ("Error rate", _number(metrics.get("error_rate_percent"), "{:.1f} %")),
        ("Peak memory", byte_size(metrics.get("peak_memory_bytes"))),
    ]
    consistency = metrics.get("quality_consistency") or {}
    ssim = consistency.get("ssim") or {}
    if consistency.get("videos_scored") and ssim:
        cards.append(("SSIM (min–max)", f"{ssim.get('min', 0):.3f}–{ssim.get('max', 0):.3f}"))
    return [{"label": label, "value": value} for label, value in cards]


def _number(value: float | None, form: str) -> str:
    return form.format(value) if value is not None else "–"


def video_page(entry: dict[str, Any], published: Published, local_output: bool) -> dict[str, Any]:
    """One video's section: its thumbnails, timeline, loudness, settings, metadata and files."""
    files = entry.get("files") or {}
    metadata = published.metadata
    return {
        "name": entry["video"],
        "title": metadata.get("title") or (entry.get("package") or {}).get("title") or entry["video"],
        "status": entry["status"],
        "done": entry["status"] == "done",
        "facts": video_facts(entry),
        "error": entry.get("error"),
        "thumbnails": thumbnails(files, entry["video"]) if local_output else [],
        "timeline": timeline(entry["video"], published),
        "loudness": loudness(entry),
        "settings": settings_rows(entry),
        "metadata": metadata_view(metadata),
        "warnings": entry.get("warnings") or [],
        "links": [
            {"href": _href(path), "label": FILE_LABELS.get(name, name)}
            for name, path in files.items()
            if name in FILE_LABELS
        ],
    }


def _href(relative: str) -> str:
    """A published file's link from ``summary/`` (paths under the output root)."""
    return posixpath.relpath(relative, SUMMARY_DIR)


def video_facts(entry: dict[str, Any]) -> list[str]:
    facts = []
    if entry.get("input_duration_s") is not None:
        facts.append(f"{duration(entry['input_duration_s'])} in")
    if entry.get("output_duration_s") is not None:
        facts.append(f"{duration(entry['output_duration_s'])} out")
    if entry.get("output_resolution"):
        facts.append("x".join(str(n) for n in entry["output_resolution"]))
    if entry.get("content_type"):
        facts.append(entry["content_type"])
    return facts


def thumbnails(files: dict[str, str], video: str) -> list[dict[str, str]]:
    return [
        {
            "href": _href(files[f"thumbnails/{name}"]),
            "alt": f"{name.removesuffix('.jpg')} thumbnail of {video}",
            "caption": name.removesuffix(".jpg"),
        }
        for name in THUMBNAILS
        if f"thumbnails/{name}" in files
    ]


def timeline(video: str, published: Published) -> dict[str, Any] | None:
    """The strip of kept and cut ranges on the source's timeline, with shots and chapters (whose
    output times are mapped back onto the source)."""
    edl = published.edl
    if not edl.get("keep"):
        return None
    kept = [(k["source"]["start_s"], k["source"]["end_s"]) for k in edl["keep"]]
    chapters = [
        {
            "title": c.get("title") or "",
            "at": duration(c["start_s"]),
            "source_s": source_time(edl, c["start_s"]),
        }
        for c in published.metadata.get("chapters") or []
    ]
    for chapter in chapters:
        chapter["source_at"] = duration(chapter["source_s"])
    svg = charts.timeline_strip(
        f"Timeline of {video}: kept and cut ranges, shot boundaries and chapters",
        edl.get("source_duration_s") or kept[-1][1],
        kept,
        published.shots_s,
        [(c["source_s"], c["title"]) for c in chapters],
    )
    rows = [(f"{a:.2f}", f"{b:.2f}", f"{b - a:.2f}") for a, b in kept]
    return {"svg": svg, "kept": rows, "chapters": chapters, "shot_count": len(published.shots_s)}


def source_time(edl: dict[str, Any], output_s: float) -> float:
    """Where an output time lies on the source's timeline, through the kept ranges."""
    for keep in edl["keep"]:
        out, src = keep["output"], keep["source"]
        if out["start_s"] <= output_s < out["end_s"]:
            return src["start_s"] + output_s - out["start_s"]
    return edl["keep"][-1]["source"]["end_s"]


def loudness(entry: dict[str, Any]) -> dict[str, Any] | None:
    measured = entry.get("loudness")
    if not measured or not (measured.get("before") or measured.get("after")):
        return None
    target, ceiling = measured["target_lufs"], measured["true_peak_ceiling_dbtp"]
    svg = charts.loudness_chart(
        f"Loudness of {entry['video']} before and after, against the target {target:g} LUFS",
        target,
        ceiling,
        measured.get("before"),
        measured.get("after"),
    )

    def row(name: str, values: dict | None) -> tuple[str, str, str, str]:
        values = values or {}
        return (
            name,
            _number(values.get("integrated_lufs"), "{:.1f}"),
            _number(values.get("true_peak_dbtp"), "{:.1f}"),
            _number(values.get("lra_lu"), "{:.1f}"),
        )

    rows = [row("before", measured.get("before")), row("after", measured.get("after"))]
    rows.append(("target", f"{target:g}", f"≤ {ceiling:g}", ""))
    return {"svg": svg, "rows": rows, "note": measured.get("note")}


def settings_rows(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """Enhancement applied, encoder settings and the verification result."""
    enhancement = entry.get("enhancement") or {}
    applied = [
        f"{name.replace('_', ' ')} {_plain(value)}"
        for name, value in enhancement.items()
        if name != "reasons" and value != NEUTRAL.get(name, 0)
    ]
    rows = [("enhancement", ", ".join(applied) or "none (the picture needed none)")]
    if enhancement.get("reasons"):
        rows.append(("why", "; ".join(enhancement["reasons"])))
    encoding = entry.get("encoding") or {}
    if encoding:
        rows.append(("encoding", ", ".join(f"{k} {v}" for k, v in encoding.items() if k != "adapted")))
        if encoding.get("adapted"):
            rows.append(("adapted", encoding["adapted"]))
    quality = entry.get("quality") or {}
    if quality:
        rows.append(("SSIM / PSNR", f"{quality.get('ssim', 0):.4f} / {quality.get('psnr_db', 0):.2f} dB"))
    if entry["status"] == "done":
        rows.append(("verification", "passed (streams, duration, loudness checked)"))
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def metadata_view(metadata: dict[str, Any]) -> dict[str, Any] | None:
    if not metadata:
        return None
    return {
        "title": metadata.get("title") or "",
        "description": metadata.get("description") or "",
        "tags": metadata.get("tags") or [],
    }


def stages_page(metrics: dict | None) -> dict[str, Any]:
    """Where the time went: each stage's CPU seconds as bars, and the table behind them."""
    totals = (metrics or {}).get("stage_totals") or {}
    if not totals:
        return {"svg": None, "rows": []}
    ordered = sorted(totals.items(), key=lambda kv: kv[1]["cpu_s"], reverse=True)
    bars = [charts.Bar(name, t["cpu_s"], f"{t['cpu_s']:.1f} CPU-s") for name, t in ordered]
    rows = [(name, int(t["count"]), f"{t['wall_s']:.1f}", f"{t['cpu_s']:.1f}") for name, t in ordered]
    return {"svg": charts.bar_chart("CPU seconds per stage", bars), "rows": rows}


def node_rows(metrics: dict | None, rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """Per node: the stage runs and CPU seconds it did (from the metric rows), and its mean and
    peak CPU use and peak memory where the run monitored it (``resource_efficiency``; keyed by
    Ray node id, so matched by position only when both name one node)."""
    work: dict[str, list[float]] = {}
    for row in rows:
        entry = work.setdefault(row.get("node") or "?", [0, 0.0])
        entry[0] += 1
        entry[1] += row.get("cpu_s") or 0.0
    monitored = list(((((metrics or {}).get("resource_efficiency") or {}).get("nodes")) or {}).values())
    usage = monitored[0] if len(monitored) == 1 and len(work) == 1 else {}
    return [
        (
            node,
            str(int(runs)),
            f"{cpu:.1f}",
            _number(usage.get("cpu_mean_percent"), "{:.0f}"),
            _number(usage.get("cpu_peak_percent"), "{:.0f}"),
            byte_size(usage.get("memory_peak_bytes")),
        )
        for node, (runs, cpu) in sorted(work.items())
    ]


def series_page(document: dict | None, links: dict | None) -> dict[str, Any] | None:
    """The series' name, its branding preview, and its episodes in order with the ones each is
    most related to (``cross_references.json``)."""
    if not document:
        return None
    titles = {e["video"]: e.get("title") or e["video"] for e in document.get("episodes", [])}
    related = {
        entry["video"]: [
            f"{r.get('episode') or ''} {titles.get(r.get('video'), r.get('video', ''))}".strip()
            for r in entry.get("related") or []
        ]
        for entry in (links or {}).get("episodes") or []
    }
    branding = document.get("branding")
    preview = _href(f"{branding}/preview.jpg") if isinstance(branding, str) else None
    return {
        "name": (document.get("series") or {}).get("name", ""),
        "preview": preview,
        "playlist": (document.get("playlist") or {}).get("title"),
        "episodes": [
            {
                "number": e.get("episode"),
                "video": e["video"],
                "title": e.get("title") or "",
                "status": e.get("status", ""),
                "links": related.get(e["video"], []),
            }
            for e in document.get("episodes", [])
        ],
    }
