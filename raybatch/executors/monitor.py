"""Watching the nodes while a run lasts: CPU and memory of every node, sampled in the background,
fed to the adaptation policy (which holds or opens the admission gate), and summed up per node
for the report (the guide's "resource efficiency").

The driver's node is read with psutil in this process; every other node of a Ray cluster by a
tiny sampler actor there (no CPU claimed, one call per sample). Sampling costs well under a
millisecond per node, once a second.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from raybatch.executors.adaptation import AdaptationPolicy, LoadReading
from raybatch.executors.cluster import Cluster
from raybatch.executors.scheduling import Gate

log = logging.getLogger(__name__)


def read_load(node: str) -> LoadReading:
    """This machine's load now (CPU since the previous call)."""
    memory = psutil.virtual_memory()
    return LoadReading(
        node=node,
        memory_used_bytes=int(memory.total - memory.available),
        memory_total_bytes=int(memory.total),
        cpu_percent=float(psutil.cpu_percent(interval=None)),
    )


class NodeSampler:
    """Reads its node's load (a Ray actor pinned to that node)."""

    def __init__(self, node: str):
        self.node = node
        psutil.cpu_percent(interval=None)  # the first reading only starts the count

    def sample(self) -> LoadReading:
        return read_load(self.node)


@dataclass
class NodeUsage:
    """One node's CPU and memory over the run."""

    samples: int = 0
    cpu_sum: float = 0.0
    cpu_peak: float = 0.0
    memory_sum: float = 0.0
    memory_peak: int = 0
    memory_total: int = 0

    def add(self, reading: LoadReading) -> None:
        self.samples += 1
        self.cpu_sum += reading.cpu_percent
        self.cpu_peak = max(self.cpu_peak, reading.cpu_percent)
        self.memory_sum += reading.memory_used_bytes
        self.memory_peak = max(self.memory_peak, reading.memory_used_bytes)
        self.memory_total = reading.memory_total_bytes

    def to_dict(self) -> dict[str, Any]:
        mean = (lambda total: total / self.samples) if self.samples else (lambda total: 0.0)
        return {
            "samples": self.samples,
            "cpu_mean_percent": round(mean(self.cpu_sum), 1),
            "cpu_peak_percent": round(self.cpu_peak, 1),
            "memory_mean_bytes": int(mean(self.memory_sum)),
            "memory_peak_bytes": self.memory_peak,
            "memory_total_bytes": self.memory_total,
            "memory_peak_fraction": round(self.memory_peak / self.memory_total, 3)
            if self.memory_total
            else None,
        }


@dataclass
class ResourceMonitor:
    """Samples every node while entered; its :meth:`gate` is the admission's say."""

    cluster: Cluster
    policy: AdaptationPolicy = field(default_factory=AdaptationPolicy)
    interval_s: float = 1.0
    usage: dict[str, NodeUsage] = field(default_factory=dict)
    _samplers: list[Any] = field(default_factory=list)
    _here: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def gate(self) -> Gate:
        with self._lock:
            return self.policy.gate()

    def sample(self) -> list[LoadReading]:
        """One reading per node now."""
        readings = [read_load(self._here)]
        if self._samplers:
            import ray

            try:
                readings += ray.get([sampler.sample.remote() for sampler in self._samplers], timeout=5)
            except Exception as exc:  # a node that left, or a slow one: the next round tries again
                log.debug("node load sample failed: %s", exc)
        return readings

    def observe(self) -> None:
        """Sample once, feed the policy, count the usage."""
        readings = self.sample()
        with self._lock:
            for reading in readings:
                self.usage.setdefault(reading.node, NodeUsage()).add(reading)
            self.policy.observe(readings, time.monotonic() - self._started)

    def report(self) -> dict[str, Any]:
        """Per node: mean and peak CPU and memory; and every adaptation the policy made."""
        with self._lock:
            return {
                "interval_s": self.interval_s,
                "nodes": {node: usage.to_dict() for node, usage in self.usage.items()},
                "adaptations": list(self.policy.events),
            }

    def __enter__(self) -> ResourceMonitor:
        self._started = time.monotonic()
        self._here, self._samplers = self._start_samplers()
        psutil.cpu_percent(interval=None)
        self._thread = threading.Thread(target=self._loop, name="raybatch-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.interval_s + 6)
        if self._samplers:
            import ray

            for sampler in self._samplers:
                ray.kill(sampler)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.observe()

    def _start_samplers(self) -> tuple[str, list[Any]]:
        """This node's name, and a sampler on every other node of the cluster."""
        if not self.cluster.on_ray:
            return socket.gethostname(), []
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = ray.get_runtime_context().get_node_id()
        remote = ray.remote(num_cpus=0)(NodeSampler)
        samplers = [
            remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["id"], soft=False)).remote(
                node_name(node)
            )
            for node in self.cluster.nodes
            if node["id"] != here
        ]
        named_here = next((node_name(node) for node in self.cluster.nodes if node["id"] == here), here)
        return named_here, samplers


def node_name(node: dict[str, Any]) -> str:
    """How the report names a Ray node: its address, and its id's start (one machine may run
    several nodes)."""
    return f"{node['address']} ({node['id'][:8]})"
