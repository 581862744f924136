"""Which videos start when: the strategies' admission limits and the smart queue's order.

A video is *in flight* from the moment it is admitted into the pipeline until its outcome. The
strategies bound that number (README "Scheduling"): ``sequential`` one, ``fixed`` exactly
``--max-concurrent``, ``adaptive`` and ``smart`` what ``--max-concurrent`` allows (two per
encoder without it) while the resource monitor's gate is open. A held gate never holds the last
slot: with nothing in flight the next video always starts, so a batch always progresses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from raybatch.jobs.records import VideoRef
from raybatch.stages.rows import Row


def in_flight_limit(strategy: str, max_concurrent: int | None, encoders: int) -> int:
    """How many videos may be in flight at once. Adaptive: ``--max-concurrent``, else two per
    encoder (one encoding while the next is analysed), so the monitor's gate has videos to hold
    back and a batch of hundreds does not fill the scratch disk with all their work at once."""
    if strategy == "sequential":
        return 1
    if strategy == "fixed":
        return max_concurrent or encoders
    return max_concurrent or max(2, 2 * encoders)


def queue_order(videos: Sequence[VideoRef], smart: bool) -> list[VideoRef]:
    """The order videos start in. Smart: the longest first, so their segments fan out over the
    encoders while the short ones fill the gaps at the end. Before probing, a video's size is the
    measure of its length there is (probing every input up front would read each one twice,
    across the network for a bucket); equal sizes keep the batch's order."""
    if not smart:
        return list(videos)
    return sorted(videos, key=lambda video: -video.size_bytes)


@dataclass(frozen=True)
class Gate:
    """What the resource monitor says now: whether a new video may start, and how many quality
    steps below the configured one it takes."""

    admit: bool = True
    quality_step: int = 0


def open_gate() -> Gate:
    return Gate()


@dataclass
class Admission:
    """The videos not yet started, released as the limit and the gate allow. It queues rows:
    videos at the start of a run, or the decided videos a regroup barrier lets go on (the limit
    applies from there: every video must reach the barrier first)."""

    limit: int | None = None
    gate: Callable[[], Gate] = open_gate
    queue: list[Row] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)

    def enqueue(self, rows: Sequence[Row]) -> None:
        self.queue.extend(rows)

    def release(self) -> list[Row]:
        """The rows whose videos start now."""
        started: list[Row] = []
        while self.queue and (self.limit is None or len(self.in_flight) < self.limit):
            gate = self.gate()
            if self.in_flight and not gate.admit:
                break
            row = self.queue.pop(0)
            if gate.quality_step:
                row.video = replace(row.video, quality_step=gate.quality_step)
            self.in_flight.add(row.video.key)
            started.append(row)
        return started

    def ended(self, key: str) -> None:
        """A video has its outcome: its slot is free."""
        self.in_flight.discard(key)
