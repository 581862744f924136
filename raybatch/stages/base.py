"""The stage contract shared by every executor.

Rows are :class:`WorkItem` dicts of primitives and URIs (never frames or encoded bytes). A stage
acts on the row kinds it declares and passes every other row, and every row carrying an error,
through untouched: a bad item is data, not an exception.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from raybatch.config.presets import Preset
from raybatch.io.storage import configure_storage
from raybatch.media.runner import VIDEO_DEADLINE, CommandResult, MediaError


@dataclass(frozen=True)
class Resources:
    """What one instance of a stage needs from the cluster."""

    num_cpus: float = 0.25
    num_gpus: float = 0.0
    memory_bytes: int = 0
    pool_size: int = 1  # actors, for stateful stages (the pool's floor when it autoscales)
    #: Custom Ray resources each instance claims, e.g. ``{"nvenc": 1}`` (one NVENC session).
    custom: dict[str, float] = field(default_factory=dict)
    #: Grow the pool beyond ``pool_size`` while the cluster has room (nodes joining), up to
    #: ``max_pool_size`` actors (None: no bound but the cluster's).
    autoscale: bool = False
    max_pool_size: int | None = None


@dataclass(frozen=True)
class RunContext:
    """Everything a stage needs to know about the run; cheap to pickle."""

    job_id: str
    output_root: str
    work_root: str
    preset: dict[str, Any]
    encoder_threads: int = 1
    parallel_slots: int = 1
    segment_seconds: float = 60.0
    min_segment_seconds: float = 10.0
    command_timeout_s: float = 3600.0
    scratch_dir: str | None = None
    detailed_errors: bool = True
    analysis: bool = True
    auto_detect_type: bool = False
    speech_margin_s: float | None = None
    cache_dir: str | None = None
    cache_max_bytes: int = 2 * 1024**3
    max_segment_seconds: float = 120.0
    organize_by_type: bool = False
    strict_mode: bool = False
    video_timeout_s: float | None = None
    #: Thumbnail and metadata settings (the config's ``thumbnails`` and ``metadata`` sections).
    package: dict[str, Any] = field(default_factory=dict)
    #: fsspec options per protocol (the config's ``storage.options``), applied on every worker.
    storage_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def preset_obj(self) -> Preset:
        return Preset(**self.preset)

    def apply_storage(self) -> None:
        """Make this process's filesystems use the run's storage options."""
        configure_storage(self.storage_options)


@dataclass
class WorkItem:
    """One row of the pipeline: a video, one of its segments, or its audio track."""

    kind: str  # "video" | "segment" | "audio" | "shots"
    video_key: str
    source_uri: str
    relative_path: str
    size_bytes: int = 0
    media_json: str = ""
    item_id: str = ""
    index: int = -1
    segment_count: int = 0
    has_audio: bool = False
    has_shots: bool = False
    start_frame: int = 0
    frame_count: int = 0
    output_uri: str = ""
    result_json: str = ""
    analysis_json: str = ""  # the video's analysis, then its decisions (type, EDL, enhancement)
    ranges_json: str = ""  # a segment's source frame ranges
    error_json: str = ""
    metrics_json: str = "[]"
    deadline: float = 0.0  # epoch seconds by which the video must be done (0: no limit)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WorkItem:
        names = {f.name for f in fields(cls)}
        return cls(**{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if k in names})

    @property
    def error(self) -> dict[str, Any] | None:
        return json.loads(self.error_json) if self.error_json else None

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.result_json) if self.result_json else {}

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return json.loads(self.metrics_json or "[]")

    def expected_items(self) -> int:
        """How many work items (segments, the audio track, the shot detection) the video was
        split into."""
        return self.segment_count + (1 if self.has_audio else 0) + (1 if self.has_shots else 0)


@dataclass
class StageMeasure:
    """Counters a stage fills while it works; turned into one metrics row."""

    bytes_in: int = 0
    bytes_out: int = 0
    frames: int = 0
    cpu_s: float = 0.0
    max_rss_bytes: int = 0
    commands: list[str] = field(default_factory=list)
    #: "reused" when the work was already done (a finished segment found on resume).
    status: str = "ok"

    def add_run(self, run: CommandResult) -> None:
        self.cpu_s += run.cpu_s
        self.max_rss_bytes = max(self.max_rss_bytes, run.max_rss_bytes)


class StageFailure(Exception):
    """A per-item failure with a user-facing hint; becomes the row's error."""

    def __init__(self, message: str, hint: str = "", detail: str = ""):
        super().__init__(message)
        self.message, self.hint, self.detail = message, hint, detail


def worker_identity() -> tuple[str, str]:
    """(node, worker) for metrics: the host name and this process."""
    node = os.environ.get("RAYBATCH_NODE_NAME") or socket.gethostname()
    try:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()[:12]
    except Exception:  # Ray absent or not connected: the host name identifies the node
        pass
    return node, f"pid-{os.getpid()}"


class Stage:
    """A step of the pipeline. Constructors are cheap and picklable; ``setup`` loads heavy
    things once per worker; ``process`` does the work for one row and returns its output rows."""

    name: ClassVar[str] = "stage"
    handles: ClassVar[frozenset[str]] = frozenset({"video"})
    #: Stateful stages (models, encoders) run in an actor pool; the rest as tasks.
    stateful: ClassVar[bool] = False

    def __init__(self, context: RunContext):
        self.context = context
        self._ready = False

    def resources(self) -> Resources:
        return Resources()

    def setup(self) -> None:
        """Load what the stage needs once per worker (models, scratch folders)."""

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        """Do the stage's work for one item; fill ``measure``; return the output rows.

        The default passes the item through: per-video stages (assemble, verify) are driven
        through :meth:`run_item` with their own work function instead."""
        return [item]

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        item = WorkItem.from_row(row)
        if item.kind not in self.handles or item.error_json:
            return [item.to_row()]
        if not self._ready:
            self.context.apply_storage()
            self.setup()
            self._ready = True
        return [out.to_row() for out in self.run_item(item)]

    def run_item(
        self, item: WorkItem, work: Callable[[StageMeasure], list[WorkItem]] | None = None
    ) -> list[WorkItem]:
        """Run ``work`` (by default :meth:`process`) for one item, catching per-item failures
        into the row's error and appending this stage's metrics row to every output."""
        measure = StageMeasure()
        started, cpu_before = time.time(), _own_cpu()
        if not item.deadline and self.context.video_timeout_s and item.kind == "video":
            item.deadline = started + self.context.video_timeout_s  # the video's clock starts
        token = VIDEO_DEADLINE.set(item.deadline)
        try:
            if item.deadline and started > item.deadline:
                raise StageFailure("timed out")
            outputs = work(measure) if work else self.process(item, measure)
            status = measure.status
        except (StageFailure, MediaError, OSError) as exc:
            record = self._error_record(item, exc)
            if item.deadline and time.time() >= item.deadline - 0.05:
                record.update(
                    kind="timeout",
                    message=f"timed out: the video took longer than {self.context.video_timeout_s:g} s "
                    f"(--timeout); its work was cancelled at {self.name}",
                    hint="raise --timeout, or split the video; the rest of the batch went on",
                )
            item.error_json = json.dumps(record)
            outputs, status = [item], "error"
        finally:
            VIDEO_DEADLINE.reset(token)
        ended = time.time()
        node, worker = worker_identity()
        wall = ended - started
        metric = {
            "stage": self.name,
            "video": item.video_key,
            "segment_id": item.item_id if item.kind == "segment" else "",
            "segment_index": item.index if item.kind == "segment" else -1,
            "status": status,
            "start": started,
            "end": ended,
            "wall_s": wall,
            "cpu_s": measure.cpu_s + (_own_cpu() - cpu_before),
            "max_rss_bytes": measure.max_rss_bytes,
            "node": node,
            "worker": worker,
            "bytes_in": measure.bytes_in,
            "bytes_out": measure.bytes_out,
            "frames": measure.frames,
            "fps": measure.frames / wall if wall > 0 and measure.frames else 0.0,
        }
        for out in outputs:
            out.metrics_json = json.dumps([*out.metrics, metric])
        return outputs

    def _error_record(self, item: WorkItem, exc: Exception) -> dict[str, Any]:
        message = getattr(exc, "message", None) or str(exc)
        hint = getattr(exc, "hint", "") or _hint_for(exc)
        record = {"file": item.source_uri, "stage": self.name, "message": message, "hint": hint}
        if self.context.detailed_errors:
            detail = getattr(exc, "stderr_tail", "") or getattr(exc, "detail", "")
            if detail:
                record["detail"] = detail
            command = getattr(exc, "command", "")
            if command:
                record["command"] = command
        return record


def _hint_for(exc: Exception) -> str:
    if isinstance(exc, PermissionError):
        return "check the file's permissions: raybatch needs to read inputs and write the output folder"
    if isinstance(exc, FileNotFoundError):
        return "the file disappeared or moved after the batch started; restore it and retry"
    if isinstance(exc, OSError):
        return "check free disk space and that the output location is writable"
    return ""


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
