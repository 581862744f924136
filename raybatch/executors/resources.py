"""Sizing the actor pools (encoders, models) from what the cluster has."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from raybatch.errors import ClusterError


@dataclass(frozen=True)
class PoolPlan:
    """How many encoder actors run, what each claims, and what is left for tasks."""

    size: int
    num_cpus: float  # logical CPUs each encoder actor claims
    memory_bytes: int  # memory each encoder actor claims (Ray's memory resource)
    threads: int  # encoder threads per actor
    task_cpus: float  # CPUs each task (probe, plan, audio, assemble) claims
    reserved_cpus: float  # kept free so tasks can always be scheduled

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TaskReserve:
    """CPUs held for the task stages while a run lasts, where no actor can take them, and the
    nodes that hold them (none named: any node)."""

    cpus: float = 0.0
    nodes: tuple[str, ...] = ()


def reserved_cpus_for(cluster_cpus: float) -> float:
    """CPUs never given to encoder actors: an actor pool that claims every CPU starves the
    read and map tasks that feed it, and the pipeline deadlocks."""
    return min(4.0, max(0.5, 0.125 * cluster_cpus))


@dataclass(frozen=True)
class ModelPlan:
    """What each model actor claims, and how many actors each model stage runs."""

    size: int
    num_cpus: float
    num_gpus: float
    threads: int  # torch threads in each model actor

    def to_dict(self) -> dict:
        return asdict(self)


def plan_model_actors(
    cluster_cpus: float,
    cluster_gpus: float,
    gpu_fraction: float,
    model_stages: int = 1,
    *,
    beside_encoders: bool = True,
) -> ModelPlan:
    """Model actors: on GPUs when the cluster has them (a fraction of one each, so several
    share a GPU, the GPUs' slots split between the ``model_stages``), else small CPU claims so
    they never crowd out the encoders; torch inside them may still use a few threads (Ray's CPU
    numbers are for scheduling, not a cap). Beside busy encoders (on Ray) a CPU model gets a
    quarter of the cores as threads: more torch threads than free cores only spin at their
    barriers (measured on 2 busy cores: TransNetV2 with 2 threads took 1.8x the CPU and 1.3x
    the time of 1 thread). Alone (the local executor runs one thing at a time) it gets them all."""
    if cluster_gpus > 0:
        per_gpu = max(1, math.floor(1 / gpu_fraction + 1e-9))
        slots = math.floor(cluster_gpus) * per_gpu // max(1, model_stages)
        size = max(1, min(slots, math.floor(cluster_cpus / 8) or 1))
        return ModelPlan(
            size=size, num_cpus=1.0 if cluster_cpus >= 8 else 0.25, num_gpus=gpu_fraction, threads=2
        )
    num_cpus = 0.25 if cluster_cpus < 8 else 1.0
    size = max(1, math.floor(cluster_cpus / 32))
    share = cluster_cpus / 4 if beside_encoders else cluster_cpus
    return ModelPlan(size=size, num_cpus=num_cpus, num_gpus=0.0, threads=max(1, min(4, math.floor(share))))


@dataclass(frozen=True)
class PoolLimits:
    """What the user set: ``--max-concurrent``, ``--max-memory``, and the fixed strategy (exactly
    ``max_concurrent`` encoders). The sequential strategy bounds videos, not encoders: one
    video's segments still encode in parallel (``raybatch.executors.scheduling``)."""

    max_concurrent: int | None = None
    max_memory_bytes: float | None = None
    fixed: bool = False


def plan_encoder_pool(
    cluster_cpus: float,
    cluster_memory_bytes: float | None,
    *,
    encoder_cpus: float = 1.0,
    encoder_memory_bytes: int,
    limits: PoolLimits = PoolLimits(),
    models_cpus: float = 0.0,
) -> PoolPlan:
    """Size the pool: by CPUs (minus the reserve and the model actors), by memory
    (``--max-memory`` or what the cluster has), and by the user's ``limits``."""
    if cluster_cpus <= 0:
        raise ClusterError("the Ray cluster reports no CPUs: add a node with CPUs (ray start --num-cpus N)")
    reserved = min(reserved_cpus_for(cluster_cpus), cluster_cpus / 2)
    # Model actors hold their CPUs for the whole run: they come out of what encoders may use.
    usable = max(0.1 * cluster_cpus, cluster_cpus - reserved - models_cpus)
    # Encoders claim slightly less than a whole CPU each so the reserve stays free for tasks.
    by_cpu = max(1, math.floor(cluster_cpus / encoder_cpus + 1e-9))
    budgets = [b for b in (limits.max_memory_bytes, cluster_memory_bytes) if b]
    by_memory = max(1, math.floor(min(budgets) / encoder_memory_bytes)) if budgets else by_cpu
    size = min(by_cpu, by_memory)
    if limits.max_concurrent:
        size = limits.max_concurrent if limits.fixed else min(size, limits.max_concurrent)
    # Rounded down so the pool never claims more than the usable CPUs.
    num_cpus = math.floor(min(encoder_cpus, usable / size) * 1000) / 1000
    memory = encoder_memory_bytes
    if limits.max_memory_bytes:
        memory = min(memory, int(limits.max_memory_bytes // size))
    return PoolPlan(
        size=size,
        num_cpus=num_cpus,
        memory_bytes=int(memory),
        threads=max(1, math.ceil(num_cpus - 1e-9)),
        task_cpus=round(min(0.25, reserved / 2), 3),
        reserved_cpus=reserved,
    )


def plan_nvenc_pool(
    nvenc_sessions: float, cluster_cpus: float, *, encoder_memory_bytes: int, models_cpus: float = 0.0
) -> PoolPlan:
    """One encoder actor per advertised NVENC session. Each still decodes and filters on the CPU
    of its (GPU) node, so it claims a CPU when the cluster has them to spare."""
    size = max(1, math.floor(nvenc_sessions + 1e-9))
    reserved = min(reserved_cpus_for(cluster_cpus), cluster_cpus / 2)
    usable = max(0.1 * cluster_cpus, cluster_cpus - reserved - models_cpus)
    num_cpus = math.floor(min(1.0, usable / size) * 1000) / 1000
    return PoolPlan(
        size=size,
        num_cpus=num_cpus,
        memory_bytes=encoder_memory_bytes,
        threads=2,
        task_cpus=round(min(0.25, reserved / 2), 3),
        reserved_cpus=reserved,
    )
