"""What every executor shares: the pipeline's branches, routing rows between them, collecting
a video's parts, and the observer that hears about progress.

A *branch* is a run of consecutive stages that one stream of rows goes through; each executor
runs a branch as one stream. A new branch starts where rows must not wait for stages that do
not work on them: at an actor pool for another kind of row (a row passing through a busy pool
would queue there), at a kind of row no stage before it in the branch makes, and where the batch
regroups. Task stages for a kind the branch makes stay in it: a row passes a task instantly.
The :class:`Router` sends every row that leaves a branch to the next branch that handles its
kind: a segment goes from ``plan`` straight to the encoders and never waits behind the shot
model. Parts of a
video are collected until all are back; then one assembly row carries the video on. A row with
an error ends its video's journey (the video failed there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from raybatch.executors.resources import TaskReserve
from raybatch.executors.scheduling import Admission, Gate, open_gate, queue_order
from raybatch.jobs.records import Outcome, VideoRef
from raybatch.stages.base import Stage
from raybatch.stages.rows import (
    PART_KINDS,
    AssemblyRow,
    PartRow,
    Row,
    VideoRow,
    assembly_from_parts,
    done_outcome,
    failure_outcome,
)


class Observer(Protocol):
    """Hears from an executor (the job's bookkeeping, the CLI's live view)."""

    def on_row(self, row: Row) -> None: ...

    def on_video(self, outcome: Outcome) -> None: ...

    def on_stage_started(self, video_key: str, stage: str) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass
class Branch:
    """Consecutive stages that handle one kind of row: one stream of the executor."""

    kind: str
    stages: list[Stage]
    #: Its rows are taken one at a time, in the order they are posted: the branch after a
    #: regroup, so that the first group's videos reach the encoders first.
    in_order: bool = False

    @property
    def name(self) -> str:
        return self.stages[0].name


@dataclass
class Pipeline:
    """The run's stages in order, and where the batch regroups (``--group-by-type``)."""

    stages: list[Stage]
    #: With a stage name, every video runs up to and including that stage before any goes on;
    #: then the batch goes on in ``order``.
    regroup_after: str | None = None
    order: Callable[[Row], Any] | None = None
    #: Called in the driver with every row held at the barrier, before they go on: what must
    #: see the whole batch before any video is encoded (the series look).
    at_barrier: Callable[[list[Row]], None] | None = None
    #: Whether the branch after the barrier takes its rows one at a time, in ``order`` (the
    #: first type group reaches the encoders first); otherwise they only start in that order.
    ordered_after_barrier: bool = True
    #: CPUs the run plan keeps for the task stages where no actor may take them.
    task_reserve: TaskReserve = field(default_factory=TaskReserve)
    #: Videos in flight at once (``None``: no bound), whether the longest start first, and the
    #: resource monitor's say on starting another (see :mod:`raybatch.executors.scheduling`).
    in_flight_limit: int | None = None
    smart_queue: bool = False
    gate: Callable[[], Gate] = open_gate

    def branches(self) -> list[Branch]:
        """The stages cut into branches (see the module's docstring)."""
        branches: list[Branch] = []
        for stage in self.stages:
            current = branches[-1] if branches else None
            if current and self._continues(current, stage):
                current.stages.append(stage)
            else:
                regrouped = bool(current) and current.stages[-1].name == self.regroup_after
                in_order = regrouped and self.ordered_after_barrier
                branches.append(Branch(stage.handles.kind, [stage], in_order=in_order))
        return branches

    def _continues(self, branch: Branch, stage: Stage) -> bool:
        if branch.stages[-1].name == self.regroup_after:
            return False
        kind = stage.handles.kind
        if kind == branch.stages[-1].handles.kind:
            return True
        made_here = any(kind in earlier.kinds_out() for earlier in branch.stages)
        return made_here and not stage.resources.stateful


@dataclass(frozen=True)
class Delivery:
    """A row on its way into a branch."""

    branch: int
    row: Row


@dataclass
class Router:
    """Routes rows between a pipeline's branches and turns finished videos into outcomes."""

    pipeline: Pipeline
    videos: int
    branches: list[Branch] = field(init=False)
    _stage_branch: dict[str, int] = field(init=False)
    _parts: dict[str, list[PartRow]] = field(default_factory=dict)
    _ended: set[str] = field(default_factory=set)
    _held: list[Delivery] = field(default_factory=list)
    _past_barrier: set[str] = field(default_factory=set)
    #: Per video, how many of its parts have been made; the videos with all of them made.
    _made: dict[str, int] = field(default_factory=dict)
    _planned: set[str] = field(default_factory=set)
    #: Per branch, the parts delivered to it and not back yet.
    _in_flight: dict[int, int] = field(default_factory=dict)
    _closed: set[int] = field(default_factory=set)
    #: Which videos start when: the pipeline's limit and gate.
    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.branches = self.pipeline.branches()
        self._stage_branch = {s.name: i for i, b in enumerate(self.branches) for s in b.stages}
        self.admission = Admission(self.pipeline.in_flight_limit, self.pipeline.gate)

    @property
    def finished(self) -> bool:
        """Every video has an outcome."""
        return len(self._ended) >= self.videos

    def start(self, videos: list[VideoRef]) -> list[Delivery]:
        """The first deliveries: the videos the admission starts now, into the first branch
        (the longest first with the smart queue). With a regroup barrier every video starts:
        all must reach it; the admission applies after it."""
        rows = [VideoRow(video=video) for video in queue_order(videos, self.pipeline.smart_queue)]
        if self._barrier_branch() is not None:
            return [Delivery(0, row) for row in rows]
        self.admission.enqueue(rows)
        return self.admit()

    def admit(self) -> list[Delivery]:
        """The videos the admission starts now (a slot freed, the monitor's gate opened)."""
        branch = self._barrier_branch() or 0
        return [Delivery(branch, row) for row in self.admission.release()]

    @property
    def _all_entered(self) -> bool:
        """No video waits to enter the first branch (with a barrier, all entered at the start)."""
        return self._barrier_branch() is not None or not self.admission.queue

    def route(self, row: Row) -> tuple[list[Delivery], list[Outcome]]:
        """Where a row that left a branch goes next, and any video that just ended."""
        if isinstance(row, PartRow):
            self._count_part(row)
        deliveries, ended = self._route(row)
        for delivery in deliveries:
            if isinstance(delivery.row, PartRow):
                self._in_flight[delivery.branch] = self._in_flight.get(delivery.branch, 0) + 1
        return deliveries, ended

    def _route(self, row: Row) -> tuple[list[Delivery], list[Outcome]]:
        key = row.video.key
        if key in self._ended:
            return [], []  # a late part of a video that already failed
        if row.error is not None:
            self._ended.add(key)
            outcome = failure_outcome(row, self._parts.pop(key, []))
            return self._passed_barrier(key) + self._ended_here(key), [outcome]
        target = self._next_branch(row)
        if target is not None:
            return self._deliver(Delivery(target, row)), []
        if isinstance(row, AssemblyRow):
            self._ended.add(key)
            return self._ended_here(key), [done_outcome(row)]
        if isinstance(row, PartRow):
            return self._collect(row), []
        raise AssertionError(f"no stage takes {row.kind} rows after {row.last_stage or 'the start'}")

    def _ended_here(self, key: str) -> list[Delivery]:
        """A video has its outcome: its slot goes to the next one waiting."""
        self.admission.ended(key)
        return self.admit()

    def close_drained(self) -> list[int]:
        """The branches no row will reach any more, each said once. A branch of parts drains
        as soon as every video is planned and no part of its kind is on its way to it; its
        stream can then end, and its actors go (an actor that died mid-row restarts only in
        resources another leaves: a grown pool may have taken its own). The others drain
        once every video has its outcome."""
        planned = len(self._planned | self._ended) >= self.videos and not self._held
        drained = [
            i
            for i in range(len(self.branches))
            if i not in self._closed
            and (self.finished or (planned and self._no_parts_coming(i)) or (i == 0 and self._all_entered))
        ]
        self._closed.update(drained)
        return drained

    def _no_parts_coming(self, branch: int) -> bool:
        kind = self.branches[branch].kind
        earlier = (i for i in range(1, branch) if self.branches[i].kind == kind)
        return kind in PART_KINDS and not any(self._in_flight.get(i, 0) for i in earlier)

    def _count_part(self, part: PartRow) -> None:
        """A part back from a branch of its kind is no longer in flight there; any other is
        newly made (by ``plan``, in a branch of videos)."""
        branch = self._stage_branch.get(part.last_stage, -1)
        if branch >= 0 and self.branches[branch].kind == part.kind:
            self._in_flight[branch] = max(0, self._in_flight.get(branch, 0) - 1)
            return
        key = part.video.key
        self._made[key] = self._made.get(key, 0) + 1
        if self._made[key] >= part.parts:
            self._planned.add(key)

    def _next_branch(self, row: Row) -> int | None:
        current = self._stage_branch.get(row.last_stage, -1)
        return next(
            (i for i in range(current + 1, len(self.branches)) if self.branches[i].kind == row.kind), None
        )

    def _collect(self, part: PartRow) -> list[Delivery]:
        parts = self._parts.setdefault(part.video.key, [])
        parts.append(part)
        if len(parts) < part.parts:
            return []
        assembly = assembly_from_parts(self._parts.pop(part.video.key))
        target = self._next_branch(assembly)
        if target is None:
            raise AssertionError("the pipeline has no stage for assembled videos")
        return [Delivery(target, assembly)]

    # -- the regroup barrier (--group-by-type) ----------------------------------------------------

    def _deliver(self, delivery: Delivery) -> list[Delivery]:
        if self._barrier_branch() != delivery.branch:
            return [delivery]
        self._held.append(delivery)
        return self._passed_barrier(delivery.row.video.key)

    def _barrier_branch(self) -> int | None:
        after = self.pipeline.regroup_after
        return self._stage_branch[after] + 1 if after else None

    def _passed_barrier(self, key: str) -> list[Delivery]:
        """Once every video has reached the barrier (or failed before it), the held rows go on
        in the pipeline's order."""
        if self._barrier_branch() is None:
            return []
        self._past_barrier.add(key)
        if len(self._past_barrier) < self.videos or not self._held:
            return []
        held, self._held = self._held, []
        if self.pipeline.at_barrier:
            self.pipeline.at_barrier([delivery.row for delivery in held])
        order = self.pipeline.order
        held = sorted(held, key=lambda d: order(d.row)) if order else held
        self.admission.enqueue([delivery.row for delivery in held])
        return self.admit()
