"""Planning a run on its cluster: the encoder, the encoder pool, the model actors, and what
each stage's demand claims.

``plan_run`` is the one place these are decided: it counts the model stages the pipeline
declares, sizes the pools from the cluster's resources and the limits the user set, and leaves
the CPUs that tasks need free (a pool that claims every CPU starves the tasks that feed it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import Preset
from raybatch.executors.cluster import Cluster
from raybatch.executors.costs import output_calibration, planned_encoder_memory
from raybatch.executors.placement import (
    NVENC_RESOURCE,
    EncoderChoice,
    choose_video_encoder,
    probe_on_cluster,
    try_encoder,
)
from raybatch.executors.resources import (
    ModelPlan,
    PoolLimits,
    PoolPlan,
    TaskReserve,
    plan_encoder_pool,
    plan_model_actors,
    plan_nvenc_pool,
)
from raybatch.media.commands import video_encoder_options
from raybatch.stages.base import Demand, Resources, Stage


@dataclass(frozen=True)
class RunPlan:
    """What a run claims where: its encoder, the encoder pool, the model actors."""

    cluster: Cluster
    encoder: EncoderChoice
    #: The configured preset with the chosen encoder.
    preset: Preset
    pool: PoolPlan
    models: ModelPlan
    #: How many stages of the pipeline run model actors.
    model_stages: int
    #: Whether the encoder pool grows with the cluster (nodes joining), up to ``max_encoders``.
    autoscale: bool = False
    max_encoders: int | None = None
    #: Encoders spread over the nodes evenly (``--resource-balancing``) rather than packed.
    spread_encoders: bool = False
    #: What each encoder is estimated to hold, and the calibration from earlier runs.
    memory_model: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def resources_for(self, demand: Demand) -> Resources:
        """What one instance of a stage with ``demand`` claims in this run."""
        if demand.runs_as == "encoder":
            return Resources(
                num_cpus=self.pool.num_cpus,
                memory_bytes=self.pool.memory_bytes,
                actors=self.pool.size,
                custom={NVENC_RESOURCE: 1} if self.encoder.hardware else {},
                autoscale=self.autoscale,
                max_actors=self.max_encoders,
                prefer_nodes=() if self.encoder.hardware else self.cpu_only_nodes(),
                spread=self.spread_encoders,
            )
        if demand.runs_as == "model":
            return Resources(
                num_cpus=self.models.num_cpus,
                num_gpus=self.models.num_gpus,
                memory_bytes=demand.memory_bytes,
                actors=self.models.size,
            )
        # Tasks fit in the CPUs the pools leave free, so one can always be scheduled.
        cpus = min(demand.cpus, self.pool.reserved_cpus) if demand.cpus else self.pool.task_cpus
        in_flight = self.models.size if demand.paced_by_models and self.model_stages else None
        return Resources(num_cpus=cpus, memory_bytes=demand.memory_bytes, max_in_flight=in_flight)

    def task_reserve(self) -> TaskReserve:
        """The CPUs kept for tasks, where the executor must hold them. A fixed pool is sized to
        leave them free; a pool that grows takes whatever it sees free (a grown pool once held
        a one-CPU node's last core while that node's assembly waited for it, for ever). Held on
        the nodes without GPUs when there are such: a GPU node's CPUs are for its model actors
        and for the encoders that fit beside them once those finish."""
        if not self.autoscale:
            return TaskReserve()
        return TaskReserve(cpus=self.pool.reserved_cpus, nodes=self.cpu_only_nodes())

    def cpu_only_nodes(self) -> tuple[str, ...]:
        """The nodes with CPUs and no GPU, when the cluster also has GPU nodes (else none: there
        is no GPU node's CPU to keep for its model actors)."""
        nodes = self.cluster.nodes
        if not any(node["resources"].get("GPU") for node in nodes):
            return ()
        return tuple(
            node["id"] for node in nodes if node["resources"].get("CPU") and not node["resources"].get("GPU")
        )

    def report(self) -> dict[str, Any]:
        """What the run's report says about the plan: preset, encoder settings, pools, placement."""
        return {
            "preset": self.preset.to_dict(),
            "encoder_settings": self.encoder_settings(),
            "pool": self.pool.to_dict(),
            "models": self.models.to_dict(),
            "placement": {**self.placement(), "memory_model": self.memory_model},
        }

    def placement(self) -> dict[str, Any]:
        """For the report: the nodes, the encoder and why, pool growth, warnings."""
        return {
            "nodes": self.cluster.nodes,
            "encoder": {"name": self.encoder.encoder, "reason": self.encoder.reason},
            "autoscaling_encoder_pool": self.autoscale,
            "encoders_spread_over_nodes": self.spread_encoders,
            "inside_ray_job": self.cluster.inside_ray_job,
            "warnings": list(self.warnings),
        }

    def encoder_settings(self) -> dict[str, Any]:
        """The encoder settings every segment of the run used (for the report)."""
        options = video_encoder_options(self.preset, "30", self.pool.threads)
        options.pop("g")
        options.pop("keyint_min")
        options["keyframe_interval_s"] = 2
        return options


def count_model_stages(stages: list[type[Stage]]) -> int:
    return sum(1 for stage in stages if stage.demand.runs_as == "model")


def plan_run(
    config: RaybatchConfig,
    cluster: Cluster,
    stages: list[type[Stage]],
    probe: Callable[[str], str | None] | None = None,
) -> RunPlan:
    """Decide the run's encoder and pools on ``cluster`` for the pipeline's ``stages``.
    ``probe(encoder)`` test-encodes on an NVENC node (default: on the cluster, or here)."""
    batch, processing = config.batch, config.processing
    probe = probe or (probe_on_cluster if cluster.on_ray else try_encoder)
    choice = choose_video_encoder(processing.encoder, cluster.nvenc_sessions, probe)
    preset = dataclasses.replace(processing.preset(), encoder=choice.encoder)
    model_stages = count_model_stages(stages)
    models = plan_model_actors(
        cluster.cpus,
        cluster.gpus,
        processing.model_gpus,
        max(1, model_stages),
        beside_encoders=cluster.on_ray,
    )
    # Model actors hold their CPUs for the whole run: they come out of what encoders may use.
    models_cpus = model_stages * models.size * models.num_cpus
    calibration = output_calibration(config.output.directory)
    threads = max(1, math.ceil(processing.encoder_cpus - 1e-9))
    encoder_memory = planned_encoder_memory(preset, threads, calibration)
    pool = _encoder_pool(config, cluster, choice, encoder_memory, models, models_cpus)
    # On a cluster the pool follows its resources as nodes join, up to --max-concurrent; an
    # embedded Ray (one machine, nothing joins) and the fixed strategy keep the planned size.
    autoscale = (
        cluster.on_ray
        and not cluster.started_here
        and not choice.hardware  # NVENC sessions are counted exactly
        and batch.strategy != "fixed"
    )
    warnings = cluster.local_path_warnings(config.input or "", config.output.directory)
    warnings += [choice.warning] if choice.warning else []
    return RunPlan(
        cluster=cluster,
        encoder=choice,
        preset=preset,
        pool=pool,
        models=models,
        model_stages=model_stages,
        autoscale=autoscale,
        max_encoders=batch.max_concurrent_jobs,
        spread_encoders=batch.resource_balancing,
        memory_model={
            "encoder_bytes": encoder_memory,
            "calibration_factor": round(calibration.memory_factor, 3),
            "calibrated_from_encodes": calibration.encodes,
        },
        warnings=tuple(warnings),
    )


def _encoder_pool(
    config: RaybatchConfig,
    cluster: Cluster,
    choice: EncoderChoice,
    encoder_memory: int,
    models: ModelPlan,
    models_cpus: float,
) -> PoolPlan:
    batch = config.batch
    if choice.hardware:
        return plan_nvenc_pool(
            cluster.nvenc_sessions,
            cluster.cpus,
            encoder_memory_bytes=encoder_memory,
            models_cpus=models_cpus,
        )
    cpu_nodes = cluster.cpu_node_cpus
    return plan_encoder_pool(
        cpu_nodes or cluster.cpus,
        cluster.memory_bytes,
        encoder_cpus=config.processing.encoder_cpus,
        encoder_memory_bytes=encoder_memory,
        limits=PoolLimits(
            max_concurrent=batch.max_concurrent_jobs,
            max_memory_bytes=batch.max_memory_gb * 1024**3 if batch.max_memory_gb else None,
            fixed=batch.strategy == "fixed",
        ),
        # Model actors with a GPU claim run on GPU nodes, not on the CPU nodes counted here.
        models_cpus=0.0 if cpu_nodes and models.num_gpus else models_cpus,
    )
