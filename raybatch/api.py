"""The Python API: ``run_batch(config)`` runs one batch; the CLI is a thin layer over it."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from raybatch.config.model import RaybatchConfig, parse_size
from raybatch.config.presets import CONTENT_TYPES
from raybatch.executors.base import Pipeline
from raybatch.executors.placement import (
    LOCAL_NVENC_SESSIONS,
    NVENC_RESOURCE,
    choose_video_encoder,
    nvenc_device_present,
    probe_on_cluster,
    try_encoder,
)
from raybatch.executors.resources import (
    ModelPlan,
    PoolPlan,
    plan_encoder_pool,
    plan_model_actors,
    plan_nvenc_pool,
)
from raybatch.io.cache import content_fingerprint
from raybatch.io.metrics import write_metrics_parquet
from raybatch.io.storage import (
    check_output_location,
    configure_storage,
    explain_storage_error,
    is_local,
    is_storage_failure,
    join,
    normalise_root,
    remove_tree,
    size,
    write_json_atomic,
)
from raybatch.jobs.ids import claim_job_id
from raybatch.jobs.manifest import UNFINISHED, JobManifest
from raybatch.llm.budget import close_ledger, open_ledger
from raybatch.stages.analysis_stages import (
    DecideEditStage,
    PictureAnalysisStage,
    ShotDetectionStage,
    SoundAnalysisStage,
)
from raybatch.stages.base import Resources, RunContext, WorkItem
from raybatch.stages.discover import assign_video_keys, discover_inputs, input_from_uri
from raybatch.stages.finish import finish_video
from raybatch.stages.media_stages import (
    AudioPassStage,
    EncodeSegmentStage,
    PlanSegmentsStage,
    ProbeStage,
    encoder_settings,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass
class BatchResult:
    """What a finished run produced."""

    job_id: str
    output: str
    outcomes: list[dict[str, Any]]
    stopped: bool
    report_uri: str

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o["status"] != "done"]

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed or self.stopped else EXIT_OK


@dataclass
class Progress:
    """Live counters of a run, shared with whoever displays progress."""

    total_videos: int = 0
    done: int = 0
    failed: int = 0
    segments_total: int = 0
    segments_done: int = 0
    seconds_total: float = 0.0
    seconds_encoded: float = 0.0
    api_cost_usd: float = 0.0
    api_calls: int = 0
    started: float = field(default_factory=time.monotonic)
    events: list[str] = field(default_factory=list)
    seen_videos: set[str] = field(default_factory=set)

    def eta_s(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if self.seconds_encoded <= 0 or self.seconds_total <= 0:
            return None
        return max(0.0, elapsed * (self.seconds_total / self.seconds_encoded - 1))


class _RunObserver:
    """Counts progress, applies the error policy, and forwards events to a display."""

    def __init__(
        self,
        progress: Progress,
        stop_on_error: bool,
        listener: Callable[[str, Any], None] | None,
        manifest: JobManifest,
    ):
        self.progress = progress
        self.stop_on_error = stop_on_error
        self.listener = listener
        self.manifest = manifest
        self.stopped = False

    def on_item(self, item: WorkItem) -> None:
        entry = self.manifest.videos.get(item.video_key)
        if entry is not None and entry["state"] == "queued":
            entry["state"] = "running"
        last_stage = item.metrics[-1]["stage"] if item.metrics_json != "[]" else item.kind
        self.manifest.note_item(
            item.video_key, item.kind, item.item_id, last_stage, item.segment_count, not item.error_json
        )
        if item.kind in ("segment", "audio") and item.video_key not in self.progress.seen_videos:
            self.progress.seen_videos.add(item.video_key)
            self.progress.segments_total += item.segment_count
            self.progress.seconds_total += json.loads(item.media_json)["duration_s"]
        if item.kind == "segment" and not item.error_json:
            self.progress.segments_done += 1
            fps_num, fps_den = (int(x) for x in _fps_of(item).split("/"))
            self.progress.seconds_encoded += item.frame_count * fps_den / fps_num
        if self.listener:
            self.listener("item", item)

    def on_video(self, outcome: dict[str, Any]) -> None:
        self.manifest.finish_video(outcome["video"], outcome)
        usage = (outcome.get("package") or {}).get("usage") or {}
        self.progress.api_cost_usd += usage.get("cost_usd", 0.0)
        self.progress.api_calls += usage.get("calls", 0)
        if outcome["status"] == "done":
            self.progress.done += 1
        else:
            self.progress.failed += 1
            if self.stop_on_error:
                self.stopped = True
        if self.listener:
            self.listener("video", outcome)

    def should_stop(self) -> bool:
        return self.stopped


def _fps_of(item: WorkItem) -> str:
    return json.loads(item.media_json)["video"]["fps"]


class _MemorySampler:
    """Samples the memory of this process and everything it started (Ray, workers, ffmpeg)."""

    def __init__(self, interval_s: float = 0.5):
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_bytes = max(self.peak_bytes, self._sample())

    def __enter__(self) -> _MemorySampler:
        self.peak_bytes = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def connect_ray(address: str | None) -> bool:
    """Connect to Ray and return whether this process started it.

    ``address`` (``--ray-address``: ``host:port``, ``ray://host:10001`` or ``auto`` for the
    cluster this machine belongs to) wins; else the cluster this process runs in: ``ray job
    submit`` sets ``RAY_ADDRESS`` for its entrypoint, so a submitted batch joins that cluster and
    never starts or stops one. Otherwise an embedded Ray on this machine only; ``local`` is
    explicit because Ray's own default would silently join any ``ray start`` cluster here."""
    import ray

    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS")
    if target and target != "local":
        try:
            ray.init(address=target, logging_level=logging.WARNING, log_to_driver=False)
        except ConnectionError as exc:
            raise ValueError(
                f"cannot reach the Ray cluster at {target}: {exc}; check --ray-address / RAY_ADDRESS "
                "(and, with token auth, RAY_AUTH_TOKEN or ~/.ray/auth_token)"
            ) from None
        return False
    # Embedded: bind loopback only, no dashboard; nothing outside this machine can reach it.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # A workstation's own GPU encoder counts like a cluster node's (the test encode decides).
    resources = {NVENC_RESOURCE: LOCAL_NVENC_SESSIONS} if nvenc_device_present() else None
    ray.init(
        address="local",
        include_dashboard=False,
        resources=resources,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    return True


def cluster_nodes() -> list[dict[str, Any]]:
    """The live nodes of the connected cluster: id, address and resources (for the report, and
    to tell which node ran what in the metrics)."""
    import ray

    return [
        {
            "node": node["NodeID"][:12],
            "address": node["NodeManagerAddress"],
            "resources": {k: v for k, v in node["Resources"].items() if not k.startswith("node:")},
        }
        for node in ray.nodes()
        if node.get("Alive")
    ]


def resource_total(nodes: list[dict[str, Any]], name: str) -> float:
    """How much of resource ``name`` the nodes have together."""
    return float(sum(node["resources"].get(name, 0) for node in nodes))


def cpu_node_cpus(nodes: list[dict[str, Any]]) -> float:
    """CPUs of the nodes without GPUs: the x264 pool is sized from these, so that encoders do
    not fill the GPU nodes' CPUs that their model actors need (Ray itself places CPU-only work
    on GPU nodes only when the CPU nodes are full). 0 when every node has a GPU."""
    return resource_total([node for node in nodes if not node["resources"].get("GPU")], "CPU")


def warn_about_local_paths(nodes: list[dict[str, Any]], *uris: str) -> list[str]:
    """A warning for each local path when the cluster spans several machines: every node must
    see the same files there (a shared filesystem), or the path should be a bucket URL."""
    hosts = {node["address"] for node in nodes}
    if len(hosts) < 2:
        return []
    return [
        f"{uri} is a local path but the cluster spans {len(hosts)} machines: every node must mount it at "
        "the same place (NFS, EFS, Filestore), or use object storage (s3://, gs://)"
        for uri in uris
        if uri and is_local(uri)
    ]


def cluster_capacity(nodes: list[dict[str, Any]]) -> tuple[float, float | None, float]:
    """CPUs, memory and GPUs to plan with: the connected cluster's nodes, or (no nodes: the
    local executor) this machine, whose GPUs it does not schedule."""
    if nodes:
        cpus, memory, gpus = (resource_total(nodes, name) for name in ("CPU", "memory", "GPU"))
        return cpus or 1.0, memory or None, gpus
    return float(os.cpu_count() or 1), float(psutil.virtual_memory().available), 0.0


def new_job(config: RaybatchConfig, sources: list[str] | None = None) -> JobManifest:
    """Discover the inputs (``config.input``, or an explicit list of paths/URLs) and start a
    job: a unique id, and a manifest with every input's content fingerprint."""
    if not config.input and sources is None:
        raise ValueError("no input given: set `input` in the config or pass INPUT on the command line")
    configure_storage(config.storage.options)
    output_root = normalise_root(config.output.directory)
    check_output_location(output_root)
    batch = config.batch
    if sources is None:
        found = discover_inputs(
            config.input, pattern=batch.pattern, recursive=batch.recursive, exclude=(output_root,)
        )
    else:
        found = [input_from_uri(uri) for uri in sources]
    keys = assign_video_keys(
        [v.relative_path for v in found],
        preserve_directory_structure=config.output.preserve_directory_structure,
    )
    job_id = claim_job_id(output_root)
    manifest = JobManifest(
        job_id=job_id,
        output=output_root,
        work=join(output_root, ".raybatch", "work", job_id),
        input=config.input or "(file list)",
        config=config.public_dump(),
    )
    for video, key in zip(found, keys, strict=True):
        fingerprint = _fingerprint_or_empty(video.uri)
        manifest.add_video(key, video.uri, video.relative_path, video.size_bytes, fingerprint)
    try:
        manifest.save()
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise explain_storage_error(output_root, exc, writing=True) from None
    return manifest


def _fingerprint_or_empty(uri: str) -> str:
    # An unreadable input gets its clear error from the probe stage, not here.
    try:
        return content_fingerprint(uri)
    except OSError:
        return ""


def run_batch(
    config: RaybatchConfig,
    *,
    listener: Callable[[str, Any], None] | None = None,
    manifest: JobManifest | None = None,
    only: list[str] | None = None,
    run_kind: str = "process",
) -> BatchResult:
    """Process every video under ``config.input`` into ``config.output.directory``; or, given a
    job's ``manifest``, go on with its unfinished videos (``only``: just these ones).

    Per-video failures are recorded, not raised; configuration and input-location problems
    raise (:class:`~raybatch.config.ConfigError`, :class:`~raybatch.stages.discover.InputError`).
    """
    manifest = manifest or new_job(config)
    started_at = datetime.now(UTC)
    started = time.monotonic()
    job_id, output_root, work_root = manifest.job_id, manifest.output, manifest.work
    batch, processing = config.batch, config.processing
    selected = only if only is not None else manifest.keys_in(*UNFINISHED)
    # The first run fingerprinted its inputs a moment ago (new_job); later ones check them.
    changed = _note_changed_inputs(manifest, selected) if manifest.runs else []
    videos = []
    for key in selected:
        entry = manifest.videos[key]
        entry.update(state="queued", attempts=entry["attempts"] + 1, error=None)
        videos.append(
            WorkItem(
                kind="video",
                video_key=key,
                source_uri=entry["source"],
                relative_path=entry["relative_path"],
                size_bytes=entry["size_bytes"],
                # The job's fingerprint travels with the video: analysis does not read the input
                # again for it, and segment ids (hence resume's reuse) depend on the content.
                analysis_json=json.dumps({"fingerprint": entry["fingerprint"]})
                if entry["fingerprint"]
                else "",
            )
        )
    run_number = len(manifest.runs) + 1
    manifest.runs.append({"run": run_number, "kind": run_kind, "started_at": started_at.isoformat(),
                          "videos": selected, "changed_inputs": changed})  # fmt: skip
    manifest.state = "running"
    manifest.save()

    on_ray = batch.executor == "ray"
    started_ray = connect_ray(batch.ray_address) if on_ray else False
    try:
        nodes = cluster_nodes() if on_ray else []
        cpus, memory, gpus = cluster_capacity(nodes)
        run_warnings = warn_about_local_paths(nodes, config.input or "", output_root)
        if on_ray:
            nvenc = resource_total(nodes, NVENC_RESOURCE)
        else:
            nvenc = LOCAL_NVENC_SESSIONS if nvenc_device_present() else 0
        choice = choose_video_encoder(processing.encoder, nvenc, probe_on_cluster if on_ray else try_encoder)
        run_warnings += [choice.warning] if choice.warning else []
        for warning in run_warnings:
            log.warning(warning)
        preset = dataclasses.replace(processing.preset(), encoder=choice.encoder)
        models = plan_model_actors(cpus, gpus, processing.model_gpus)
        models_cpus = 2 * models.size * models.num_cpus if processing.analysis else 0.0
        cpu_nodes = cpu_node_cpus(nodes)
        if choice.hardware:
            pool = plan_nvenc_pool(
                nvenc, cpus, encoder_memory_bytes=preset.encoder_memory_bytes, models_cpus=models_cpus
            )
        else:
            pool = plan_encoder_pool(
                cpu_nodes or cpus,
                memory,
                encoder_cpus=processing.encoder_cpus,
                encoder_memory_bytes=preset.encoder_memory_bytes,
                max_concurrent=batch.max_concurrent_jobs,
                max_memory_bytes=batch.max_memory_gb * 1024**3 if batch.max_memory_gb else None,
                sequential=batch.processing_mode == "sequential",
                fixed=batch.resource_management == "fixed",
                # Model actors with a GPU claim run on GPU nodes, not on the CPU nodes counted here.
                models_cpus=0.0 if cpu_nodes and models.num_gpus else models_cpus,
            )
        # On a cluster the pool follows its resources as nodes join, up to --max-concurrent; an
        # embedded Ray (one machine, nothing joins), --sequential and fixed keep the planned size.
        autoscale = (
            on_ray
            and not started_ray
            and not choice.hardware  # NVENC sessions are counted exactly
            and batch.resource_management == "adaptive"
            and batch.processing_mode == "parallel"
        )
        placement = {
            "nodes": nodes,
            "encoder": {"name": choice.encoder, "reason": choice.reason},
            "autoscaling_encoder_pool": autoscale,
            "inside_ray_job": "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ,
            "warnings": run_warnings,
        }
        context = RunContext(
            job_id=job_id,
            output_root=output_root,
            work_root=work_root,
            preset=preset.to_dict(),
            encoder_threads=pool.threads,
            parallel_slots=pool.size,
            segment_seconds=processing.segment_seconds,
            min_segment_seconds=processing.min_segment_seconds,
            command_timeout_s=processing.command_timeout_s,
            scratch_dir=config.output.scratch_dir,
            detailed_errors=config.monitoring.error_logging == "detailed",
            analysis=processing.analysis,
            auto_detect_type=processing.auto_detect_type,
            speech_margin_s=processing.speech_margin_s,
            cache_dir=config.output.cache_dir,
            cache_max_bytes=parse_size(config.output.cache_size),
            organize_by_type=config.output.organize_by_type,
            strict_mode=batch.strict_mode,
            video_timeout_s=batch.video_timeout_s,
            package={"thumbnails": config.thumbnails.model_dump(), "metadata": config.metadata.model_dump()},
            storage_options=config.storage.options,
        )
        key_name = config.metadata.llm.api_key_env
        ledger = open_ledger(
            job_id,
            config.metadata.budget_usd,
            on_ray=batch.executor == "ray",
            # Workers on other nodes may lack the driver's environment; the key reaches them in
            # memory, through the job's ledger, and is never written anywhere.
            secrets={key_name: os.environ[key_name]} if os.environ.get(key_name) else None,
        )
        model_resources = Resources(num_cpus=models.num_cpus, num_gpus=models.num_gpus, pool_size=models.size)
        analysis_stages, shot_stages = [], []
        if processing.analysis:
            sound = SoundAnalysisStage(context, model_resources, threads=models.threads)
            analysis_stages = [PictureAnalysisStage(context), sound]
            # The shot model is not on the edit's critical path: its rows run beside the encode.
            shot_stages = [ShotDetectionStage(context, model_resources, threads=models.threads)]
        pipeline = Pipeline(
            stages=[
                ProbeStage(context),
                *analysis_stages,
                DecideEditStage(context),
                PlanSegmentsStage(context),
                AudioPassStage(context),
                *shot_stages,
                EncodeSegmentStage(
                    context,
                    Resources(
                        num_cpus=pool.num_cpus,
                        memory_bytes=pool.memory_bytes,
                        pool_size=pool.size,
                        custom={NVENC_RESOURCE: 1} if choice.hardware else {},
                        autoscale=autoscale,
                        max_pool_size=batch.max_concurrent_jobs,
                    ),
                ),
            ],
            finish=finish_video,
            keep_work_files=config.output.keep_work_files,
            # Detected types are known only after analysis: the whole batch is analysed first.
            regroup_after="decide" if batch.group_by_type and context.auto_detect_type else None,
            order=type_order,
        )
        progress = Progress(total_videos=len(videos))
        observer = _RunObserver(progress, batch.error_handling == "stop", listener, manifest)
        if listener:
            listener("start", {"job_id": job_id, "progress": progress, "pool": pool, "videos": videos})
        executor = _make_executor(batch.executor, context, pool)
        try:
            with _MemorySampler() as sampler:
                outcomes = executor.run(videos, pipeline, observer) if videos else []
        except KeyboardInterrupt:
            manifest.state = "interrupted"
            manifest.runs[-1]["finished_at"] = datetime.now(UTC).isoformat()
            manifest.save()
            raise
        stopped = observer.stopped
        spending = ledger.totals()
        close_ledger(job_id, ledger)
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    # Videos never reached because the batch stopped are reported as not processed.
    reached = {o["video"] for o in outcomes}
    for video in videos:
        if video.video_key not in reached:
            outcome = {
                "video": video.video_key,
                "source_uri": video.source_uri,
                "relative_path": video.relative_path,
                "status": "cancelled",
                "error": {
                    "file": video.source_uri,
                    "stage": "scheduling",
                    "message": "not processed: the batch stopped after an earlier failure "
                    "(--error-handling stop)",
                    "hint": "fix the failing video, or rerun with --error-handling continue",
                },
                "metrics": [],
            }
            outcomes.append(outcome)
            manifest.finish_video(video.video_key, outcome)
    # The report covers the whole job: videos finished by earlier runs keep their results.
    this_run = {o["video"] for o in outcomes}
    for key, entry in manifest.videos.items():
        if key not in this_run and entry.get("result"):
            outcomes.append({**entry["result"], "metrics": []})
    for outcome in outcomes:
        outcome.setdefault("attempt", manifest.videos.get(outcome["video"], {}).get("attempts", 1))
    order = {key: i for i, key in enumerate(manifest.videos)}
    outcomes.sort(key=lambda o: order.get(o["video"], 0))
    if batch.group_by_type:
        outcomes.sort(key=lambda o: _type_rank(_content_type_of(o, context)))
    wall = time.monotonic() - started
    all_done = all(o["status"] == "done" for o in outcomes)
    manifest.state = "stopped" if stopped else ("completed" if all_done else "completed_with_errors")
    manifest.finished_at = datetime.now(UTC).isoformat()
    manifest.runs[-1]["finished_at"] = manifest.finished_at
    manifest.save()
    report_uri = _write_reports(
        config,
        job_id,
        output_root,
        started_at,
        wall,
        outcomes,
        pool,
        context,
        stopped,
        sampler.peak_bytes,
        models,
        run_number,
        spending,
        placement,
    )
    # Finished segments stay for resume and retry until every video of the job is done.
    if not config.output.keep_work_files and manifest.state == "completed":
        remove_tree(work_root)
    return BatchResult(job_id, output_root, outcomes, stopped, report_uri)


def _note_changed_inputs(manifest: JobManifest, keys: list[str]) -> list[str]:
    """Inputs whose content changed since the job recorded them: their new content is
    processed afresh (segment ids include the fingerprint, so nothing old is mixed in)."""
    changed = []
    for key in keys:
        entry = manifest.videos[key]
        now = _fingerprint_or_empty(entry["source"])
        if entry["fingerprint"] and now and now != entry["fingerprint"]:
            changed.append(key)
            log.warning("%s changed since job %s began: processing its new content", entry["source"], key)
            entry.update(
                fingerprint=now, size_bytes=size(entry["source"]), segments_done=[], changed_since_start=True
            )
    return changed


def _type_rank(content_type: str | None) -> int:
    return CONTENT_TYPES.index(content_type) if content_type in CONTENT_TYPES else len(CONTENT_TYPES)


def type_order(item: WorkItem) -> int:
    """Where a decided video goes in a batch grouped by type (educational, music, general;
    failed videos last)."""
    decision = json.loads(item.analysis_json) if item.analysis_json and not item.error_json else {}
    return _type_rank(decision.get("content_type"))


def _content_type_of(outcome: dict[str, Any], context: RunContext) -> str | None:
    configured = context.preset["content_type"] if outcome["status"] == "done" else None
    return (outcome.get("edit") or {}).get("content_type") or configured


def _make_executor(kind: str, context: RunContext, pool: PoolPlan) -> Any:
    if kind == "local":
        from raybatch.executors.local import LocalExecutor

        return LocalExecutor(context)
    from raybatch.executors.ray_data import RayExecutor

    return RayExecutor(context, pool)


def _loudness_summary(measured: dict[str, float] | None) -> dict[str, float] | None:
    """ffmpeg's loudnorm measurement under the report's names."""
    if not measured:
        return None
    return {
        "integrated_lufs": measured.get("input_i"),
        "true_peak_dbtp": measured.get("input_tp"),
        "lra_lu": measured.get("input_lra"),
    }


def _video_entry(outcome: dict[str, Any], preset: dict[str, Any]) -> dict[str, Any]:
    media = outcome.get("media") or {}
    audio = outcome.get("audio") or {}
    before = audio.get("input_loudness") or {}
    after = outcome.get("loudness_after") or {}
    entry = {
        "video": outcome["video"],
        "source": outcome["source_uri"],
        "status": outcome["status"],
        "output": outcome.get("output_uri"),
        "input_duration_s": outcome.get("input_duration_s"),
        "output_duration_s": outcome.get("output_duration_s"),
        "input_size_bytes": outcome.get("input_size_bytes"),
        "output_size_bytes": outcome.get("output_size_bytes"),
        "segments": outcome.get("segments"),
        "frames": outcome.get("frames"),
        "output_resolution": outcome.get("output_size"),
    }
    edit = outcome.get("edit") or {}
    if edit:
        entry["content_type"] = edit.get("content_type")
        entry["kept_duration_s"] = edit.get("kept_duration_s")
        entry["enhancement"] = edit.get("enhancement")
        entry["metadata"] = outcome.get("metadata", [])
    if media:
        video = media["video"]
        entry["source_video"] = {
            "codec": video["codec"],
            "width": video["width"],
            "height": video["height"],
            "fps": video["fps"],
            "variable_frame_rate": video["variable_frame_rate"],
            "rotation": video["rotation"],
            "sar": video["sar"],
            "pix_fmt": video["pix_fmt"],
            "has_alpha": video["has_alpha"],
        }
        entry["has_audio"] = media.get("audio") is not None
        entry["dropped_streams"] = media.get("dropped_streams", [])
    if outcome["status"] == "done":
        entry["loudness"] = {
            "target_lufs": preset["loudness_target_lufs"],
            "true_peak_ceiling_dbtp": preset["true_peak_dbtp"],
            "before": _loudness_summary(before),
            "after": _loudness_summary(after),
            "gain_db": audio.get("gain_db"),
            "limiter_dbtp": audio.get("limiter_dbtp"),
            "note": audio.get("note") or None,
        }
        entry["warnings"] = outcome.get("warnings", [])
        entry["package"] = outcome.get("package")
    if outcome.get("error"):
        entry["error"] = outcome["error"]
    return entry


def api_totals(
    outcomes: list[dict[str, Any]], budget_usd: float | None, this_run: dict[str, Any] | None
) -> dict[str, Any]:
    """Calls, tokens and cost of the whole job (every video's metadata and transcript), and of
    this run alone (the budget applies per run)."""
    from raybatch.llm.budget import Spending

    total = Spending.total((outcome.get("package") or {}).get("usage") for outcome in outcomes)
    return {**total, "budget_usd": budget_usd, "this_run": this_run}


def _type_summary(outcomes: list[dict[str, Any]], context: RunContext) -> dict[str, dict[str, Any]]:
    """Per content type (as decided, or as configured): videos done and their durations."""
    summary: dict[str, dict[str, Any]] = {}
    for outcome in (o for o in outcomes if o["status"] == "done"):
        group = summary.setdefault(
            _content_type_of(outcome, context) or "unknown",
            {"videos": 0, "input_duration_s": 0.0, "output_duration_s": 0.0},
        )
        group["videos"] += 1
        for field_name in ("input_duration_s", "output_duration_s"):
            group[field_name] = round(group[field_name] + (outcome.get(field_name) or 0), 3)
    return dict(sorted(summary.items(), key=lambda kv: _type_rank(kv[0])))


def _write_reports(
    config: RaybatchConfig,
    job_id: str,
    output_root: str,
    started_at: datetime,
    wall_s: float,
    outcomes: list[dict[str, Any]],
    pool: PoolPlan,
    context: RunContext,
    stopped: bool,
    peak_memory: int,
    models: ModelPlan | None = None,
    run_number: int = 1,
    spending: dict[str, Any] | None = None,
    placement: dict[str, Any] | None = None,
) -> str:
    summary = join(output_root, "summary")
    done = [o for o in outcomes if o["status"] == "done"]
    failed = [o for o in outcomes if o["status"] != "done"]
    errors = [
        {"video": o["video"], **o["error"], "attempt": o.get("attempt", 1)}
        for o in outcomes
        if o.get("error")
    ]
    write_json_atomic(join(summary, "error_log.json"), {"job_id": job_id, "errors": errors})
    report_uri = join(summary, "batch_report.json")
    if not config.output.create_summary_reports:
        return report_uri
    finished_at = datetime.now(UTC)
    video_seconds = sum(o.get("input_duration_s") or 0 for o in done)
    status = "stopped" if stopped else ("completed_with_errors" if failed else "completed")
    report = {
        "job_id": job_id,
        "status": status,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "input": config.input,
        "output": output_root,
        "executor": config.batch.executor,
        "config": config.public_dump(),
        "preset": context.preset,
        "encoder_settings": encoder_settings(context),
        "pool": pool.to_dict(),
        "models": models.to_dict() if models and context.analysis else None,
        "placement": placement,
        "totals": {
            "videos": len(outcomes),
            "done": len(done),
            "failed": len(failed),
            "input_duration_s": round(sum(o.get("input_duration_s") or 0 for o in outcomes), 3),
            "output_duration_s": round(sum(o.get("output_duration_s") or 0 for o in done), 3),
            "input_bytes": sum(o.get("input_size_bytes") or 0 for o in outcomes),
            "output_bytes": sum(o.get("output_size_bytes") or 0 for o in done),
        },
        "content_types": _type_summary(outcomes, context),
        "api": api_totals(outcomes, config.metadata.budget_usd, spending),
        "videos": [_video_entry(o, context.preset) for o in outcomes],
    }
    write_json_atomic(report_uri, report)
    metrics = [{**m, "job_id": job_id} for o in outcomes for m in o.get("metrics", [])]
    if config.monitoring.performance_metrics:
        stage_totals: dict[str, dict[str, float]] = {}
        for m in metrics:
            totals = stage_totals.setdefault(m["stage"], {"count": 0, "wall_s": 0.0, "cpu_s": 0.0})
            totals["count"] += 1
            totals["wall_s"] = round(totals["wall_s"] + m["wall_s"], 3)
            totals["cpu_s"] = round(totals["cpu_s"] + m["cpu_s"], 3)
        write_json_atomic(
            join(summary, "processing_metrics.json"),
            {
                "job_id": job_id,
                "wall_time_s": round(wall_s, 3),
                "videos_done": len(done),
                "videos_failed": len(failed),
                "video_seconds_processed": round(video_seconds, 3),
                "realtime_factor": round(video_seconds / wall_s, 4) if wall_s > 0 else None,
                "throughput_videos_per_hour": round(len(done) * 3600 / wall_s, 2) if wall_s > 0 else None,
                "throughput_video_seconds_per_second": round(video_seconds / wall_s, 4)
                if wall_s > 0
                else None,
                "segments_encoded": sum(1 for m in metrics if m["stage"] == "encode" and m["status"] == "ok"),
                "peak_memory_bytes": peak_memory if config.monitoring.resource_monitoring else None,
                "peak_ffmpeg_rss_bytes": max((m["max_rss_bytes"] for m in metrics), default=0),
                "stage_totals": stage_totals,
                "pool": pool.to_dict(),
            },
        )
        # One file per run of the job (process, then each resume or retry).
        name = f"{job_id}.parquet" if run_number == 1 else f"{job_id}.run{run_number}.parquet"
        write_metrics_parquet(join(summary, "metrics", name), metrics)
    return report_uri
