"""The adaptation policy: from load readings of the nodes to the admission gate.

Pure and fed with readings, so its behaviour under a sustained-pressure sequence and a recovery
is tested without a loaded machine (tests/unit/executors/test_adaptation.py). Above a threshold
on any node no new video starts; below every threshold they start again. With adaptive quality,
pressure that lasts ``sustain`` readings steps the quality of the videos not yet started down
one (never below the cheapest), and calm that lasts ``recover`` readings steps it back up one.
A video keeps the quality it started with, so no stream mixes presets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import quality_steps_below
from raybatch.executors.scheduling import Gate

GIB = 1024**3


@dataclass(frozen=True)
class LoadReading:
    """One node's load at one moment."""

    node: str
    memory_used_bytes: int
    memory_total_bytes: int
    cpu_percent: float


@dataclass(frozen=True)
class Thresholds:
    """Where pressure starts on a node: memory in use (``memory_bytes``; unset, a fraction of
    the node's memory; neither: memory never counts) and CPU use (unset: CPU never counts as
    pressure, a busy CPU is what a batch wants)."""

    memory_bytes: float | None = None
    memory_fraction: float | None = 0.9
    cpu_percent: float | None = None

    def pressure(self, reading: LoadReading) -> list[str]:
        """What is over its threshold on this node (empty: nothing)."""
        reasons = []
        fraction = self.memory_fraction * reading.memory_total_bytes if self.memory_fraction else None
        limit = self.memory_bytes or fraction
        if limit and reading.memory_used_bytes > limit:
            reasons.append(
                f"{reading.node}: memory {reading.memory_used_bytes / GIB:.1f} GB over {limit / GIB:.1f} GB"
            )
        if self.cpu_percent is not None and reading.cpu_percent > self.cpu_percent:
            reasons.append(f"{reading.node}: CPU {reading.cpu_percent:.0f}% over {self.cpu_percent:.0f}%")
        return reasons


@dataclass
class AdaptationPolicy:
    """Turns readings into the gate (see the module's docstring); records every change."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    adapt_quality: bool = False
    #: How many qualities there are below the configured one.
    max_steps: int = 0
    sustain: int = 3
    recover: int = 6
    admitting: bool = True
    quality_step: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    _pressed: int = 0
    _calm: int = 0

    @classmethod
    def for_config(cls, config: RaybatchConfig) -> AdaptationPolicy:
        """The policy a run's settings ask for. Only the adaptive strategies adapt: sequential
        and fixed runs keep their shape whatever the load (their gate never closes)."""
        batch = config.batch
        if batch.strategy not in ("adaptive", "smart"):
            return cls(thresholds=Thresholds(memory_fraction=None))
        memory = batch.memory_threshold_gb * GIB if batch.memory_threshold_gb else None
        return cls(
            thresholds=Thresholds(memory_bytes=memory, cpu_percent=batch.cpu_threshold_pct),
            adapt_quality=batch.adaptive_quality and not config.processing.consistent_settings,
            max_steps=quality_steps_below(config.processing.quality),
        )

    def observe(self, readings: list[LoadReading], at_s: float) -> Gate:
        """Take one round of readings (one per node), taken ``at_s`` into the run."""
        reasons = [reason for reading in readings for reason in self.thresholds.pressure(reading)]
        if reasons:
            self._under_pressure(reasons, at_s)
        else:
            self._calm_again(at_s)
        return self.gate()

    def gate(self) -> Gate:
        return Gate(admit=self.admitting, quality_step=self.quality_step)

    def _under_pressure(self, reasons: list[str], at_s: float) -> None:
        self._pressed, self._calm = self._pressed + 1, 0
        if self.admitting:
            self.admitting = False
            self._record(at_s, "hold", "no new video starts", reasons)
        if self.adapt_quality and self._pressed >= self.sustain and self.quality_step < self.max_steps:
            self.quality_step += 1
            self._pressed = 0
            self._record(
                at_s, "quality_down", f"videos not yet started: {self.quality_step} step(s) cheaper", reasons
            )

    def _calm_again(self, at_s: float) -> None:
        self._calm, self._pressed = self._calm + 1, 0
        if not self.admitting:
            self.admitting = True
            self._record(at_s, "resume", "new videos start again", [])
        if self.quality_step and self._calm >= self.recover:
            self.quality_step -= 1
            self._calm = 0
            self._record(
                at_s, "quality_up", f"videos not yet started: {self.quality_step} step(s) cheaper", []
            )

    def _record(self, at_s: float, action: str, effect: str, reasons: list[str]) -> None:
        self.events.append({"at_s": round(at_s, 1), "action": action, "effect": effect, "reasons": reasons})
