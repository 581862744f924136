"""The local executor: the same stages and routing, in this process, one row at a time."""

from __future__ import annotations

from raybatch.executors.base import Observer, Pipeline, Router
from raybatch.jobs.records import Outcome, VideoRef
from raybatch.stages.base import Stage
from raybatch.stages.rows import Row


class LocalExecutor:
    """Runs a pipeline in-process without Ray: for tests, debugging and machines without Ray.

    Work goes depth first, so each video finishes before the next starts (the regroup barrier
    of ``--group-by-type`` aside)."""

    name = "local"

    def run(self, videos: list[VideoRef], pipeline: Pipeline, observer: Observer) -> list[Outcome]:
        router = Router(pipeline, len(videos))
        pending = list(reversed(router.start(videos)))
        outcomes: list[Outcome] = []
        while pending and not observer.should_stop():
            delivery = pending.pop()
            for row in run_branch(router.branches[delivery.branch].stages, delivery.row):
                observer.on_row(row)
                deliveries, ended = router.route(row)
                pending.extend(reversed(deliveries))
                for outcome in ended:
                    outcomes.append(outcome)
                    observer.on_video(outcome)
        return outcomes


def run_branch(stages: list[Stage], row: Row) -> list[Row]:
    """``row`` through each stage of a branch in turn."""
    rows = [row]
    for stage in stages:
        rows = [out for current in rows for out in stage.run(current)]
    return rows
