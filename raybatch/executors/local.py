"""The local executor: the same stages and routing, in this process, one row at a time."""

from __future__ import annotations

from raybatch.executors.base import Observer, Pipeline, Router
from raybatch.jobs.events import set_sink
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
        set_sink(observer.on_stage_started)  # the stages run here: they tell the observer
        try:
            self._drain(pending, router, observer, outcomes)
        finally:
            set_sink(None)
        return outcomes

    @staticmethod
    def _drain(pending: list, router: Router, observer: Observer, outcomes: list[Outcome]) -> None:
        while pending and not observer.should_stop():
            delivery = pending.pop()
            for row in run_branch(router.branches[delivery.branch].stages, delivery.row):
                observer.on_row(row)
                deliveries, ended = router.route(row)
                pending.extend(reversed(deliveries))
                for outcome in ended:
                    outcomes.append(outcome)
                    observer.on_video(outcome)


def run_branch(stages: list[Stage], row: Row) -> list[Row]:
    """``row`` through each stage of a branch in turn."""
    rows = [row]
    for stage in stages:
        rows = [out for current in rows for out in stage.run(current)]
    return rows
