"""The stage contract shared by every executor.

A stage is a small class: the row type it handles, what it asks of the cluster (:class:`Demand`),
``setup()`` (load heavy things once per worker) and ``process()`` (the work for one row, which
returns the output rows). Around ``process`` the contract times the work, turns a video's
failure into its row's error (a bad item is data, not an exception: later stages pass it on),
cuts the video off at its deadline, appends one metrics row, and in worker processes collects
the stage's log records on the row for the driver to show.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import resource
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, TypeVar

from raybatch.config.model import RaybatchConfig, parse_size
from raybatch.config.presets import Preset, cheaper
from raybatch.errors import StageFailure, VideoFailure
from raybatch.io.cache import CACHE_SHARES, ContentCache, content_fingerprint
from raybatch.io.layout import Layout, default_cache_root
from raybatch.io.naming import OutputNames
from raybatch.io.storage import configure_storage, join, redact_text, scratch_root
from raybatch.jobs.events import connect_worker, stage_started
from raybatch.jobs.records import ErrorRecord, VideoRef
from raybatch.media.runner import VIDEO_DEADLINE, CommandResult
from raybatch.series.plan import SeriesPlan
from raybatch.stages.rows import Row, SegmentRow, VideoRow, from_row

R = TypeVar("R", bound=Row)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Demand:
    """What one instance of a stage asks for, before the run is planned."""

    #: ``task``: a Ray task per row. ``model``: a pool of actors, each loading the stage's model
    #: once (sized, and placed on GPUs, by the run plan). ``encoder``: the encoder pool.
    runs_as: Literal["task", "model", "encoder"] = "task"
    #: CPUs a task wants (``None``: the run's share for small tasks). The plan caps it at the
    #: CPUs it keeps free for tasks, so a task can always be scheduled.
    cpus: float | None = None
    #: Memory a task or actor holds while it works (Ray's ``memory`` resource).
    memory_bytes: int = 0
    #: A task whose rows go on to a model stage: no more run at once than the model has actors.
    #: More videos decoding at once would only share the CPUs and bring every video to the
    #: model later, the first included.
    paced_by_models: bool = False


@dataclass(frozen=True)
class Resources:
    """What one instance of a stage claims in this run (the run plan decides)."""

    num_cpus: float = 0.25
    num_gpus: float = 0.0
    memory_bytes: int = 0
    #: 0 for a stage that runs as tasks; else its actor pool's size (the floor when it grows).
    actors: int = 0
    #: Custom Ray resources each instance claims, e.g. ``{"nvenc": 1}`` (one NVENC session).
    custom: dict[str, float] = field(default_factory=dict)
    #: Grow the pool beyond ``actors`` while the cluster has room (nodes joining), up to
    #: ``max_actors`` (None: no bound but the cluster's).
    autoscale: bool = False
    max_actors: int | None = None
    #: For a task stage: how many may run at once (None: as many as the resources allow).
    max_in_flight: int | None = None
    #: Nodes (ids) an instance goes to while they have room, before any other.
    prefer_nodes: tuple[str, ...] = ()
    #: Instances spread over the nodes evenly instead of packed (``--resource-balancing``).
    spread: bool = False

    @property
    def stateful(self) -> bool:
        return self.actors > 0


@dataclass(frozen=True)
class RunContext:
    """Everything a stage needs to know about the run; cheap to pickle."""

    job_id: str
    layout: Layout
    config: RaybatchConfig
    #: The run's preset, with the encoder the plan chose.
    preset: Preset
    encoder_threads: int = 1
    #: Encoders that work at once: one video is split finely enough to use them all.
    parallel_slots: int = 1
    #: torch threads in each model actor.
    model_threads: int = 1
    #: Stages run in worker processes: their log records travel on the rows to the driver.
    forward_logs: bool = False
    #: The series the videos make, when they are processed as one (episodes by video key).
    series: SeriesPlan | None = None
    #: Where each video's files are published.
    naming: OutputNames = field(default_factory=OutputNames)

    def preset_for(self, video: VideoRef) -> Preset:
        """The preset ``video`` runs at: the run's, or as many qualities cheaper as it started
        below (``--adaptive-quality``)."""
        return cheaper(self.preset, video.quality_step)

    @property
    def scratch(self) -> str:
        """This node's scratch folder."""
        return scratch_root(self.config.output.scratch_dir)

    @property
    def command_timeout_s(self) -> float:
        return self.config.processing.command_timeout_s

    def cache(self, name: str, measure: StageMeasure | None = None) -> ContentCache:
        """One of the run's caches (``analysis``, ``probe``, ``audio``, ``segments``,
        ``thumbnails``: see :data:`~raybatch.io.cache.CACHE_SHARES`), under ``--cache-dir`` or
        in the output; its lookups are counted in ``measure``. The media caches are enabled
        only with aggressive caching or the ``batch_optimized`` strategy, none with ``off``."""
        output = self.config.output
        media = output.media_caches
        share = CACHE_SHARES[name] if media else 1.0
        return ContentCache(
            join(output.cache_dir or default_cache_root(self.layout.root), name),
            int(parse_size(output.cache_size) * share),
            name=name,
            enabled=output.cache_strategy != "off" and (name == "analysis" or media),
            on_lookup=measure.note_cache if measure is not None else None,
        )

    def prepare_worker(self) -> None:
        """Make this process use the run's storage options and log level."""
        configure_storage(self.config.storage.options)
        logging.getLogger("raybatch").setLevel(self.config.monitoring.log_level)
        if self.forward_logs:  # a worker process: its stage starts go to the driver
            connect_worker(self.job_id)


@dataclass
class StageMeasure:
    """Counters a stage fills while it works; turned into one metrics row."""

    bytes_in: int = 0
    bytes_out: int = 0
    frames: int = 0
    cpu_s: float = 0.0
    max_rss_bytes: int = 0
    #: "reused" when the work was already done (a finished segment found on resume).
    status: str = "ok"
    #: The output's SSIM and PSNR against its source (``verify``).
    quality: dict[str, Any] | None = None
    #: Per cache used: hits, misses, bytes read on hits and bytes stored.
    caches: dict[str, dict[str, int]] = field(default_factory=dict)

    def note_cache(self, name: str, event: str, nbytes: int) -> None:
        """Count one cache event (see :data:`~raybatch.io.cache.LookupListener`)."""
        counts = self.caches.setdefault(name, {"hits": 0, "misses": 0, "bytes_read": 0, "bytes_stored": 0})
        if event == "hit":
            counts["hits"] += 1
            counts["bytes_read"] += nbytes
        elif event == "miss":
            counts["misses"] += 1
        else:
            counts["bytes_stored"] += nbytes

    def add_run(self, run: CommandResult) -> None:
        self.cpu_s += run.cpu_s
        self.max_rss_bytes = max(self.max_rss_bytes, run.max_rss_bytes)

    def add_runs(self, runs: list[CommandResult]) -> None:
        for run in runs:
            self.add_run(run)


class Stage(Generic[R]):
    """A step of the pipeline. Constructors are cheap and picklable; ``setup`` loads heavy
    things once per worker; ``process`` does the work for one row and returns its output rows."""

    name: ClassVar[str] = "stage"
    handles: ClassVar[type[Row]] = VideoRow
    #: The kinds of rows it hands on (a stage that splits a video into parts names them).
    emits: ClassVar[tuple[type[Row], ...]] = ()
    demand: ClassVar[Demand] = Demand()

    def __init__(self, context: RunContext, resources: Resources | None = None):
        self.context = context
        self.resources = resources or Resources()
        self._ready = False
        self._setup_logs: list[dict[str, Any]] = []

    @classmethod
    def enabled(cls, config: RaybatchConfig) -> bool:
        """Whether the run includes this stage (from its own configuration keys)."""
        return True

    @classmethod
    def kinds_out(cls) -> tuple[str, ...]:
        """The kinds of the rows it returns."""
        return tuple(row.kind for row in cls.emits) or (cls.handles.kind,)

    @property
    def settings(self) -> RaybatchConfig:
        return self.context.config

    def setup(self) -> None:
        """Load what the stage needs once per worker (models, scratch folders)."""

    def process(self, row: R, measure: StageMeasure) -> list[Row]:
        """Do the stage's work for one row; fill ``measure``; return the output rows."""
        return [row]

    def ensure_ready(self) -> None:
        """Prepare this worker and run ``setup`` once."""
        if self._ready:
            return
        self.context.prepare_worker()
        with self._captured_logs() as logs:
            self.setup()
        self._setup_logs = logs
        self._ready = True

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The executor boundary: a row as Ray Data carries it, in and out."""
        return [out.to_row() for out in self.run(from_row(row))]

    def run(self, row: Row) -> list[Row]:
        """Process one row under the contract; rows of other kinds and rows that carry an
        error pass through untouched."""
        if row.error is not None or not isinstance(row, self.handles):
            return [row]
        self.ensure_ready()
        stage_started(row.video.key, self.name)
        row = with_deadline(row, self.settings.batch.video_timeout_s)
        measure = StageMeasure()
        started, cpu_before = time.time(), own_cpu_s()
        with self._captured_logs() as logs:
            outputs = self._attempt(row, measure)
            metric = stage_metric(self.name, row, measure, started, own_cpu_s() - cpu_before)
            log.debug("%s %s: %s in %.2f s", row.kind, _describe(row), metric["status"], metric["wall_s"])
        for out in outputs:
            out.metrics = [*out.metrics, metric]
            out.last_stage = self.name
        if outputs:
            # The row's logs so far, and this stage's, go on one output: the driver shows them once.
            outputs[0].logs = [*row.logs, *self._setup_logs, *logs]
            self._setup_logs = []
        return outputs

    def _attempt(self, row: R, measure: StageMeasure) -> list[Row]:
        token = VIDEO_DEADLINE.set(row.video.deadline)
        try:
            if row.video.deadline and time.time() > row.video.deadline:
                raise StageFailure("timed out")
            return self.process(row, measure)
        except (VideoFailure, OSError) as exc:
            row.error = self.error_record(row, exc)
            measure.status = "error"
            return [row]
        finally:
            VIDEO_DEADLINE.reset(token)

    def error_record(self, row: Row, exc: Exception) -> ErrorRecord:
        """What the user sees about a failure of this stage on ``row``."""
        deadline = row.video.deadline
        if deadline and time.time() >= deadline - 0.05:
            return ErrorRecord(
                file=row.video.source_uri,
                stage=self.name,
                kind="timeout",
                message=f"timed out: the video took longer than {self.settings.batch.video_timeout_s:g} s "
                f"(--timeout); its work was cancelled at {self.name}",
                hint="raise --timeout, or split the video; the rest of the batch went on",
            )
        details: dict[str, Any] = {}
        if self.settings.monitoring.error_logging == "detailed":
            details = {
                "detail": getattr(exc, "stderr_tail", "") or getattr(exc, "detail", ""),
                "command": redact_text(getattr(exc, "command", "")),
                "inputs": stage_inputs(row),
            }
        return ErrorRecord(
            file=row.video.source_uri,
            stage=self.name,
            message=getattr(exc, "message", None) or str(exc),
            hint=getattr(exc, "hint", "") or hint_for(exc),
            **details,
        )

    @contextlib.contextmanager
    def _captured_logs(self) -> Iterator[list[dict[str, Any]]]:
        records: list[dict[str, Any]] = []
        if not self.context.forward_logs:
            yield records
            return
        handler = _ListHandler(records, self.name)
        logger = logging.getLogger("raybatch")
        logger.addHandler(handler)
        try:
            yield records
        finally:
            logger.removeHandler(handler)


class _ListHandler(logging.Handler):
    """Keeps a worker's log records as plain data for the driver."""

    def __init__(self, records: list[dict[str, Any]], stage: str):
        super().__init__()
        self.records, self.stage = records, stage

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {
                "name": record.name,
                "level": record.levelno,
                "message": record.getMessage(),
                "stage": self.stage,
            }
        )


def _describe(row: Row) -> str:
    segment = f" segment {row.index}" if isinstance(row, SegmentRow) else ""
    return f"{row.video.key}{segment}"


def fingerprint_of(row: Row) -> str:
    """The input's content fingerprint: the job's, or (an input unreadable when the job began)
    read now."""
    return row.video.fingerprint or content_fingerprint(row.video.source_uri)


def with_deadline(row: R, timeout_s: float | None) -> R:
    """The video's clock starts at its first stage: from then it has ``timeout_s``."""
    if row.video.deadline or not timeout_s:
        return row
    row.video = dataclasses.replace(row.video, deadline=time.time() + timeout_s)
    return row


def stage_metric(
    name: str, row: Row, measure: StageMeasure, started: float, own_cpu: float
) -> dict[str, Any]:
    """One row of the stage metrics (``summary/metrics/*.parquet``)."""
    ended = time.time()
    wall = ended - started
    node, worker = worker_identity()
    segment = row if isinstance(row, SegmentRow) else None
    return {
        "stage": name,
        "video": row.video.key,
        "segment_id": segment.segment_id if segment else "",
        "segment_index": segment.index if segment else -1,
        "status": measure.status,
        "start": started,
        "end": ended,
        "wall_s": wall,
        "cpu_s": measure.cpu_s + own_cpu,
        "max_rss_bytes": measure.max_rss_bytes,
        "node": node,
        "worker": worker,
        "bytes_in": measure.bytes_in,
        "bytes_out": measure.bytes_out,
        "frames": measure.frames,
        "fps": measure.frames / wall if wall > 0 and measure.frames else 0.0,
        "ssim": (measure.quality or {}).get("ssim"),
        "psnr_db": (measure.quality or {}).get("psnr_db"),
        "caches": [{"cache": name, **counts} for name, counts in sorted(measure.caches.items())],
    }


def worker_identity() -> tuple[str, str]:
    """(node, worker) for metrics: the Ray node (or host name) and this process."""
    node = os.environ.get("RAYBATCH_NODE_NAME") or socket.gethostname()
    with contextlib.suppress(Exception):  # Ray absent or not connected: the host name says it
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()[:12]
    return node, f"pid-{os.getpid()}"


#: The fields of a row that say which piece of a video a stage was working on.
_INPUT_FIELDS = ("index", "segment_id", "frame_count", "source_ranges", "output_uri", "parts", "segments")


def stage_inputs(row: Row) -> dict[str, Any]:
    """What a stage was given, for a detailed error record: the row's kind, the video's source
    (secrets redacted) and the fields that place the row within its video."""
    inputs: dict[str, Any] = {"row": row.kind, "source": redact_text(row.video.source_uri)}
    for name in _INPUT_FIELDS:
        value = getattr(row, name, None)
        if value is not None:
            inputs[name] = redact_text(value) if isinstance(value, str) else value
    return inputs


def hint_for(exc: Exception) -> str:
    """What to do about an OS-level failure."""
    if isinstance(exc, PermissionError):
        return "check the file's permissions: raybatch needs to read inputs and write the output folder"
    if isinstance(exc, FileNotFoundError):
        return "the file disappeared or moved after the batch started; restore it and retry"
    if isinstance(exc, OSError):
        return "check free disk space and that the output location is writable"
    return ""


def own_cpu_s() -> float:
    """CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
