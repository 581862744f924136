"""The Ray executor: segments of every video stream through one Ray Data pipeline.

probe -> analyse picture (one low-resolution decode, tasks) -> analyse sound (Silero actors) ->
decide the edit -> plan (one video row becomes segment rows, a shots row and an audio row) ->
audio pass (tasks) -> shot detection (TransNetV2 actors, shots rows only: the model runs while the
segments encode) -> enhance+encode (an actor pool sized from the cluster) -> the driver, which
collects each video's rows and launches its assemble+verify task the moment its last item arrives.
With ``--group-by-type`` the batch is analysed up to the decision first, then goes on in type order.
"""

from __future__ import annotations

import logging
from typing import Any

from raybatch.executors.base import Observer, Pipeline, VideoTracker
from raybatch.executors.resources import PoolPlan
from raybatch.stages.base import RunContext, Stage, WorkItem

log = logging.getLogger(__name__)


class _StageActor:
    """Hosts one stateful stage in a Ray actor: ``setup`` once, then one row per call."""

    def __init__(self, stage: Stage):
        self.stage = stage
        stage.context.apply_storage()
        stage.setup()
        stage._ready = True

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return self.stage(row)


class RayExecutor:
    """Runs a pipeline on the connected Ray cluster with Ray Data."""

    name = "ray"

    def __init__(self, context: RunContext, pool: PoolPlan):
        self.context = context
        self.pool = pool

    def run(self, videos: list[WorkItem], pipeline: Pipeline, observer: Observer) -> list[dict[str, Any]]:
        import ray
        import ray.data

        data_context = ray.data.DataContext.get_current()
        saved = (data_context.target_max_block_size, data_context.enable_progress_bars)
        # One row per block: rows are tiny, and a block is the unit an actor receives, so
        # larger blocks would send all segments of a video to one encoder.
        data_context.target_max_block_size = 1
        data_context.enable_progress_bars = False
        try:
            return self._run(ray, videos, pipeline, observer)
        finally:
            data_context.target_max_block_size, data_context.enable_progress_bars = saved

    def _dataset(self, ray, rows: list[dict[str, Any]], stages: list[Stage]):
        """Rows streamed through ``stages``: stateful ones on actor pools, the rest as tasks."""
        dataset = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
        for stage in stages:
            res = stage.resources()
            if stage.stateful:
                # Autoscaling: Ray Data adds actors while rows queue and the cluster has room
                # (nodes that joined included); ``pool_size`` is the floor. It measures demand
                # by rows in flight per actor, so an autoscaling pool lets each actor hold a
                # second row; a fixed one sends a row only to an idle actor.
                grows = res.autoscale and res.max_pool_size != res.pool_size
                sizes = (
                    {
                        "min_size": res.pool_size,
                        "max_size": res.max_pool_size,
                        "max_tasks_in_flight_per_actor": 2,
                    }
                    if grows
                    else {"size": res.pool_size, "max_tasks_in_flight_per_actor": 1}
                )
                dataset = dataset.flat_map(
                    _StageActor,
                    fn_constructor_args=(stage,),
                    compute=ray.data.ActorPoolStrategy(**sizes),
                    num_cpus=res.num_cpus,
                    num_gpus=res.num_gpus or None,
                    memory=res.memory_bytes or None,
                    resources=res.custom or None,
                    # A worker that dies mid-row is transient: Ray Data restarts the actor and
                    # retries the row (its defaults; tests/integration/test_faults.py kills one).
                    # A bad input is an error in the row, never an exception, so it is not retried.
                )
            else:
                dataset = dataset.flat_map(stage, num_cpus=self.pool.task_cpus)
        return dataset

    def _run(self, ray, videos, pipeline: Pipeline, observer: Observer) -> list[dict[str, Any]]:
        pool = self.pool
        head, tail = pipeline.phases()
        starts = [v.to_row() for v in videos]
        if head:
            starts = pipeline.reorder(list(self._dataset(ray, starts, head).iter_rows()))
        dataset = self._dataset(ray, starts, tail)
        finish_remote = ray.remote(num_cpus=pool.task_cpus, max_retries=2)(pipeline.finish)
        tracker = VideoTracker()
        outcomes: list[dict[str, Any]] = []
        pending: dict[Any, str] = {}

        def collect(timeout: float | None) -> None:
            if not pending:
                return
            done, _ = ray.wait(
                list(pending), num_returns=len(pending) if timeout == 0 else 1, timeout=timeout
            )
            for ref in done:
                pending.pop(ref)
                outcome = ray.get(ref)
                outcomes.append(outcome)
                observer.on_video(outcome)

        rows = iter(dataset.iter_rows())
        try:
            for row in rows:
                item = WorkItem.from_row(row)
                observer.on_item(item)
                event = tracker.add(item)
                if event is not None:
                    kind, payload = event
                    if kind == "finish":
                        ref = finish_remote.remote(
                            self.context, [p.to_row() for p in payload], pipeline.keep_work_files
                        )
                        pending[ref] = item.video_key
                    else:
                        outcomes.append(payload)
                        observer.on_video(payload)
                collect(0)
                if observer.should_stop():
                    break
        finally:
            close = getattr(rows, "close", None)
            if close:
                close()  # stops the streaming executor when we leave early
        if observer.should_stop():
            for ref in pending:
                ray.cancel(ref)
            collect(0)
            return outcomes
        while pending:
            collect(None)
        return outcomes
