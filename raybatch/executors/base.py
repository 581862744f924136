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
