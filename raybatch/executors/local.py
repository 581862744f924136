"""The local executor: the same stages, in this process, one item at a time, without Ray."""

from __future__ import annotations

from typing import Any

from raybatch.executors.base import Observer, Pipeline, VideoTracker
from raybatch.stages.base import RunContext, Stage, WorkItem


class LocalExecutor:
    """Runs a pipeline sequentially in-process: for tests, debugging and machines without Ray."""

    name = "local"

    def __init__(self, context: RunContext):
        self.context = context

    def run(self, videos: list[WorkItem], pipeline: Pipeline, observer: Observer) -> list[dict[str, Any]]:
        tracker = VideoTracker()
        outcomes: list[dict[str, Any]] = []
        head, tail = pipeline.phases()
        starts = [video.to_row() for video in videos]
        if head:
            starts = pipeline.reorder([out for row in starts for out in _run_stages(head, [row])])
        for start in starts:
            if observer.should_stop():
                break
            for row in _run_stages(tail, [start]):
                item = WorkItem.from_row(row)
                observer.on_item(item)
                event = tracker.add(item)
                if event is None:
                    continue
                kind, payload = event
                outcome = (
                    pipeline.finish(self.context, [p.to_row() for p in payload], pipeline.keep_work_files)
                    if kind == "finish"
                    else payload
                )
                outcomes.append(outcome)
                observer.on_video(outcome)
        return outcomes


def _run_stages(stages: list[Stage], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for stage in stages:
        rows = [out for row in rows for out in stage(row)]
    return rows
