"""What the live view shows, as pure functions of a job's manifest: the run's videos by state
(completed with their time, processing with their stage, queued, failed with the reason), the
average time per video, the estimated completion, and what the caller adds (peak memory, API
cost). The running CLI and ``raybatch batch status --watch`` render the same :class:`LiveState`,
one from the manifest it keeps, the other from the manifest file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from raybatch.jobs.units import byte_size, clock

FINISHED = ("done", "failed", "cancelled", "timed_out")
#: Queued videos named on the queue line before "and N more".
QUEUE_NAMED = 3


@dataclass
class VideoState:
    """One video of the run as the view shows it."""

    name: str
    state: str
    elapsed_s: float | None = None
    stage: str | None = None
    segments_done: int = 0
    segments_total: int = 0
    #: The stage that last took a row of it (``stage`` is the last one a row came back from).
    working_on: str | None = None
    error: dict[str, Any] | None = None
    size_bytes: int = 0


@dataclass
class LiveState:
    """The run at one moment."""

    job_id: str
    job_state: str
    videos: list[VideoState]
    elapsed_s: float
    memory_peak_bytes: int | None = None
    api_cost_usd: float = 0.0
    api_calls: int = 0
    #: Where a failed video's error is written out (``None``: summary reports are off).
    error_log: str | None = "summary/error_log.json"
    eta_s: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.eta_s = estimate_remaining(self.videos, self.elapsed_s)

    def of(self, *states: str) -> list[VideoState]:
        return [v for v in self.videos if v.state in states]

    @property
    def finished(self) -> int:
        return len(self.of(*FINISHED))

    @property
    def average_s(self) -> float | None:
        """Mean time per finished video (start of its first stage to its outcome)."""
        times = [v.elapsed_s for v in self.of("done") if v.elapsed_s is not None]
        return sum(times) / len(times) if times else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "finished": self.finished, "average_s": self.average_s}


def live_state(job: dict[str, Any], now: datetime | None = None, **extra: Any) -> LiveState:
    """The state of ``job`` (a manifest as a dict) now: the videos of its latest run (all of
    them before any run). ``extra``: memory and API figures the caller knows."""
    now = now or datetime.now(UTC)
    runs = job.get("runs") or []
    keys = runs[-1].get("videos") if runs else None
    keys = keys if keys is not None else list(job["videos"])
    started = _parse(runs[-1].get("started_at")) if runs else _parse(job.get("created_at"))
    videos = [_video_state(key, job["videos"][key], now) for key in keys if key in job["videos"]]
    elapsed = (now - started).total_seconds() if started else 0.0
    if runs and "memory_peak_bytes" not in extra:  # as the running job last recorded it
        extra["memory_peak_bytes"] = runs[-1].get("memory_peak_bytes")
    if not ((job.get("config") or {}).get("output") or {}).get("create_summary_reports", True):
        extra["error_log"] = None
    return LiveState(job["job_id"], job.get("state", "running"), videos, max(0.0, elapsed), **extra)


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def _video_state(key: str, video: dict[str, Any], now: datetime) -> VideoState:
    state = video.get("state", "queued")
    started, finished = _parse(video.get("started_at")), _parse(video.get("finished_at"))
    if state == "queued" or started is None:
        elapsed = None
    else:
        end = finished if state in FINISHED and finished else now
        elapsed = max(0.0, (end - started).total_seconds())
    return VideoState(
        name=video.get("relative_path") or key,
        state="processing" if state == "running" else state,
        elapsed_s=elapsed,
        stage=video.get("stage"),
        segments_done=len(video.get("segments_done") or []),
        segments_total=video.get("segments_total") or 0,
        working_on=video.get("working_on"),
        error=video.get("error"),
        size_bytes=video.get("size_bytes") or 0,
    )


def estimate_remaining(videos: list[VideoState], elapsed_s: float) -> float | None:
    """Seconds left at the pace measured so far, in input bytes per second: finished videos count
    whole, those in progress by the share of their segments encoded, queued ones not at all; what
    remains is every byte not yet counted, queued videos included. ``None`` until some work is done."""
    total = sum(v.size_bytes for v in videos)
    done = 0.0
    for video in videos:
        if video.state in FINISHED:
            done += video.size_bytes
        elif video.state == "processing" and video.segments_total:
            done += video.size_bytes * 0.8 * video.segments_done / video.segments_total
    if done <= 0 or elapsed_s <= 0 or total <= 0:
        return None
    return max(0.0, (total - done) * elapsed_s / done)


def completed_line(video: VideoState) -> str:
    return f"✅ Completed: {video.name} ({clock(video.elapsed_s)})"


def failed_line(video: VideoState, where: str) -> str:
    error = video.error or {}
    why = error.get("message") or video.state
    return f"❌ Failed: {video.name} — {why} (see {where})"


def errors_at(state: LiveState) -> str:
    """Where the view sends the user for a failure's details."""
    return state.error_log or f"raybatch batch status --job-id {state.job_id}"


def processing_line(video: VideoState) -> str:
    if video.segments_total and video.segments_done < video.segments_total:
        work = f" — encoding {video.segments_done}/{video.segments_total} segments"
    elif video.working_on and video.working_on != video.stage:
        work = f" — {video.working_on}"
    elif video.stage:
        work = f" — {video.stage} done"  # the last stage its rows came back from
    else:
        work = ""
    return f"🔄 Processing: {video.name} ({clock(video.elapsed_s or 0)} elapsed){work}"


def queued_line(queued: list[VideoState]) -> str:
    names = ", ".join(v.name for v in queued[:QUEUE_NAMED])
    more = f", ... and {len(queued) - QUEUE_NAMED} more" if len(queued) > QUEUE_NAMED else ""
    return f"⏳ Queued: {names}{more}"


def summary_line(state: LiveState) -> str:
    """The 📊 line: average per video, memory peak, API cost, estimated completion."""
    api = f"${state.api_cost_usd:.4f} ({state.api_calls} calls)" if state.api_calls else "$0"
    average = clock(state.average_s) if state.average_s is not None else "–"
    return (
        f"📊 {state.finished}/{len(state.videos)} videos · average {average} per video · "
        f"memory peak {byte_size(state.memory_peak_bytes)} · API {api} · elapsed {clock(state.elapsed_s)} · "
        f"remaining {clock(state.eta_s)}"
    )


def state_lines(state: LiveState, limit: int = 5) -> list[str]:
    """The view's lines under the bar: the latest ``limit`` completed, every video processing,
    the queue, the latest ``limit`` failed (the panel stays within a terminal's height)."""
    lines = [completed_line(v) for v in state.of("done")][-limit:]
    lines += [processing_line(v) for v in state.of("processing")]
    queued = state.of("queued")
    if queued:
        lines.append(queued_line(queued))
    failed = state.of("failed", "cancelled", "timed_out")
    if len(failed) > limit:
        lines.append(f"❌ ... and {len(failed) - limit} more failed (see {errors_at(state)})")
    lines += [failed_line(v, errors_at(state)) for v in failed[-limit:]]
    return lines


def render_panel(state: LiveState) -> Group:
    """The terminal view: the title, the bar with "N% x/y videos", the state lines, the summary."""
    total = max(1, len(state.videos))
    bar = Table.grid(padding=(0, 1))
    bar.add_row(
        ProgressBar(total=total, completed=state.finished, width=40),
        Text(f"{int(100 * state.finished / total)}% {state.finished}/{len(state.videos)} videos"),
    )
    lines = [Text(line) for line in state_lines(state)]
    return Group(Text("🎬 Batch Processing Progress", style="bold"), bar, *lines, Text(summary_line(state)))


def changes(before: dict[str, str], state: LiveState) -> list[str]:
    """Plain lines for the videos whose state changed since ``before`` (name -> state)."""
    lines = []
    for video in state.videos:
        if before.get(video.name) == video.state:
            continue
        if video.state == "processing":
            lines.append(processing_line(video))
        elif video.state == "done":
            lines.append(completed_line(video))
        elif video.state in FINISHED:
            lines.append(failed_line(video, errors_at(state)))
    return lines


def api_so_far(job: dict[str, Any]) -> tuple[float, int]:
    """The API cost and calls of the job's finished videos, from their recorded results."""
    cost, calls = 0.0, 0
    for video in job["videos"].values():
        usage = (((video.get("result") or {}).get("package")) or {}).get("usage") or {}
        cost += usage.get("cost_usd") or 0.0
        calls += usage.get("calls") or 0
    return cost, calls
