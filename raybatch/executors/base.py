"""What every executor shares: the observer interface and per-video bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from raybatch.stages.base import RunContext, Stage, WorkItem
from raybatch.stages.finish import failure_outcome

FinishFn = Callable[[RunContext, list[dict[str, Any]], bool], dict[str, Any]]


class Observer(Protocol):
    """Receives progress from an executor (the CLI's live view, the report builder)."""

    def on_item(self, item: WorkItem) -> None: ...

    def on_video(self, outcome: dict[str, Any]) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass
class Pipeline:
    """The stages that turn one video row into work items, and the per-video finish step."""

    stages: list[Stage]
    finish: FinishFn
    keep_work_files: bool = False
    #: With a stage name, every video first runs the stages up to and including that one;
    #: then the batch goes on in ``order`` (``--group-by-type``: the type is known only once
    #: each video has been analysed).
    regroup_after: str | None = None
    order: Callable[[WorkItem], Any] | None = None

    def phases(self) -> tuple[list[Stage], list[Stage]]:
        """The stages before the regrouping point (none without one) and those after it."""
        if not self.regroup_after:
            return [], self.stages
        names = [stage.name for stage in self.stages]
        cut = names.index(self.regroup_after) + 1
        return self.stages[:cut], self.stages[cut:]

    def reorder(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows in the batch's order (stable: ties keep the input order)."""
        if self.order is None:
            return rows
        order = self.order
        return sorted(rows, key=lambda row: order(WorkItem.from_row(row)))


@dataclass
class VideoTracker:
    """Collects each video's work items as they arrive, in any order; says when a video is
    ready to assemble (all items in) or has failed (the first error)."""

    parts: dict[str, list[WorkItem]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def add(self, item: WorkItem) -> tuple[str, Any] | None:
        """``("finish", parts)``, ``("failed", outcome)`` or ``None`` (keep waiting)."""
        key = item.video_key
        if key in self.failed:
            return None
        if item.error_json or item.kind == "video":
            self.failed.add(key)
            metrics = [m for p in self.parts.pop(key, []) for m in p.metrics] + item.metrics
            error = item.error or {
                "file": item.source_uri,
                "stage": "plan",
                "message": "the video produced no work",
                "hint": "report this with the file",
            }
            return "failed", failure_outcome(item, error, metrics)
        parts = self.parts.setdefault(key, [])
        parts.append(item)
        if len(parts) == item.expected_items():
            return "finish", self.parts.pop(key)
        return None
