"""The Ray executor: every branch of the pipeline is a Ray Data stream, all of them in one
streaming execution, fed through mailboxes and routed by the driver.

The first branch takes the videos the admission starts (all at once unless the strategy,
``--max-concurrent`` or the resource monitor holds some back: see ``scheduling``): probe,
picture analysis (tasks), sound analysis (Silero actors), the decision, ``plan`` and the audio
(tasks). The driver posts the parts ``plan`` made to their branches: segments to the encoder
pool, shots to the TransNetV2 actors, each stream on its own, so no row waits behind a stage
that does not work on it. When a video's last part is back, its assembly row goes through
assemble, verify, package and publish (tasks). Every stage claims the resources the run plan
gave it; Ray Data schedules them all.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from raybatch.executors.base import Branch, Delivery, Observer, Pipeline, Router
from raybatch.executors.mailbox import END, Mailbox, Outbox, pull_from
from raybatch.jobs.events import events_actor_name, quiet_worker
from raybatch.jobs.records import Outcome, VideoRef
from raybatch.stages.base import Stage
from raybatch.stages.rows import from_row

log = logging.getLogger(__name__)


class _StageActor:
    """Hosts one stateful stage in a Ray actor: ``setup`` once, then one row per call."""

    def __init__(self, stage: Stage):
        self.stage = stage
        quiet_worker(stage.context.job_id)
        stage.ensure_ready()

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return self.stage(row)


class RayExecutor:
    """Runs a pipeline on the connected Ray cluster with Ray Data."""

    name = "ray"

    def run(self, videos: list[VideoRef], pipeline: Pipeline, observer: Observer) -> list[Outcome]:
        import ray

        router = Router(pipeline, len(videos))
        # The mailbox and the tasks that read it only pass rows on: they stay on the driver's
        # node, off the cores of the nodes that encode.
        beside_driver = {"ray.io/node-id": ray.get_runtime_context().get_node_id()}
        mailbox = ray.remote(num_cpus=0, label_selector=beside_driver)(Mailbox)
        name = events_actor_name(pipeline.stages[0].context.job_id)
        mailbox = mailbox.options(name=name).remote([b.name for b in router.branches])
        try:
            with _data_settings(), _task_reserve(pipeline) as in_reserve, _stage_starts(mailbox, observer):
                outbox = Outbox(mailbox)
                _post(outbox, router.branches, router.start(videos))
                stream = self._stream(ray, mailbox, router.branches, in_reserve, beside_driver)
                return self._drive(stream, outbox, router, observer)
        finally:
            ray.kill(mailbox)

    def _stream(
        self,
        ray,
        mailbox: Any,
        branches: list[Branch],
        in_reserve: dict[str, Any],
        beside_driver: dict[str, str],
    ):
        """Every branch as a dataset, united into one streaming execution. Each starts from its
        mailbox (the first from the videos the admission starts, now and as slots free); tasks
        run in the reserve."""
        datasets = []
        for branch in branches:
            source = ray.data.from_items([{"branch": branch.name}]).flat_map(
                pull_from(mailbox), num_cpus=0, label_selector=beside_driver
            )
            datasets.append(self._stages(ray, source, branch, in_reserve))
        union = datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]
        # No prefetching: a row is handed over the moment it leaves its branch (a prefetching
        # iterator holds each row back until the next one arrives).
        return union.iter_batches(prefetch_batches=0, batch_size=None, batch_format="pyarrow")

    def _stages(self, ray, dataset, branch: Branch, in_reserve: dict[str, Any]):
        """A branch's stages after its source; stateful stages on actor pools."""
        for stage in branch.stages:
            res = stage.resources
            claims = {
                "num_cpus": res.num_cpus,
                "num_gpus": res.num_gpus or None,
                "memory": res.memory_bytes or None,
                "resources": res.custom or None,
            }
            if not res.stateful:
                # max_calls=0 is Ray's default for tasks, stated: it also keeps Ray Data from fusing
                # a task stage into the actor pool after it (operators fuse only when their remote
                # arguments agree), which would run every video's picture decode inside the one
                # speech model actor.
                in_flight = 1 if branch.in_order else res.max_in_flight
                with _reserve_args_allowed():
                    dataset = dataset.flat_map(
                        stage, max_calls=0, concurrency=in_flight, **claims, **in_reserve
                    )
                continue
            # A worker that dies mid-row is transient: Ray Data restarts the actor and retries the
            # row (its defaults; tests/integration/executors/test_faults.py kills one). A bad
            # input is an error in the row, never an exception, so it is not retried.
            with _reserve_args_allowed():
                dataset = dataset.flat_map(
                    _StageActor,
                    fn_constructor_args=(stage,),
                    compute=ray.data.ActorPoolStrategy(**_pool_sizes(stage)),
                    **claims,
                    **_preference(res.prefer_nodes, res.spread),
                )
        return dataset

    def _drive(self, stream: Iterator, outbox: Outbox, router: Router, observer: Observer) -> list[Outcome]:
        """Route every row that leaves a branch until every video has an outcome."""
        outcomes: list[Outcome] = []
        try:
            for batch in stream:
                for raw in batch.to_pylist():
                    row = from_row(raw)
                    observer.on_row(row)
                    deliveries, ended = router.route(row)
                    _post(outbox, router.branches, deliveries + router.admit())
                    for outcome in ended:
                        outcomes.append(outcome)
                        observer.on_video(outcome)
                if observer.should_stop():
                    break  # closing the stream below cancels the rest
                # A stream ends once nothing more can reach it; the loop ends with the last.
                _close(outbox, [router.branches[i] for i in router.close_drained()])
        finally:
            with contextlib.suppress(Exception):
                stream.close()
        return outcomes


@contextlib.contextmanager
def _stage_starts(mailbox: Any, observer: Observer, interval_s: float = 1.0) -> Iterator[None]:
    """While the run lasts, drain the stage starts the workers told the mailbox into the
    observer, every ``interval_s``."""
    import ray

    stop = threading.Event()

    def drain() -> None:
        while not stop.wait(interval_s):
            try:
                started = ray.get(mailbox.drain_started.remote(), timeout=10)
            except Exception as exc:  # a busy or ending cluster: the next round tries again
                log.debug("stage starts not drained: %s", exc)
                continue
            for video_key, stage in started:
                observer.on_stage_started(video_key, stage)

    thread = threading.Thread(target=drain, name="raybatch-stage-starts", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval_s + 11)


def _preference(nodes: tuple[str, ...], spread: bool = False) -> dict[str, Any]:
    """Actors go to these nodes while they have room, elsewhere after: x264 encoders fill the
    CPU-only nodes first, so an encoder never takes the CPU a GPU node's model actor is about to
    need (once it did, and the model actor and every video waited for ever); they still grow
    onto GPU nodes once the models are done. Without preferred nodes, ``spread`` puts them on
    the nodes evenly (Ray packs by default): every node's CPUs and memory share the load, and
    the pool, which hands each segment to the first idle actor, gives the faster nodes more."""
    if not nodes:
        return {"scheduling_strategy": "SPREAD"} if spread else {}
    from ray.util.scheduling_strategies import In, NodeLabelSchedulingStrategy

    return {"scheduling_strategy": NodeLabelSchedulingStrategy({}, soft={"ray.io/node-id": In(*nodes)})}


def _pool_sizes(stage: Stage) -> dict[str, Any]:
    """An exact pool sends a row only to an idle actor. An autoscaling one grows while rows
    queue and the cluster has room (nodes that joined included), from its planned size up;
    Ray Data measures demand by rows in flight per actor, so each actor may hold a second."""
    res = stage.resources
    if res.autoscale and res.max_actors != res.actors:
        return {"min_size": res.actors, "max_size": res.max_actors, "max_tasks_in_flight_per_actor": 2}
    return {"size": res.actors, "max_tasks_in_flight_per_actor": 1}


def _post(outbox: Outbox, branches: list[Branch], deliveries: list[Delivery]) -> None:
    by_branch: dict[str, list[dict[str, Any]]] = {}
    for delivery in deliveries:
        by_branch.setdefault(branches[delivery.branch].name, []).append(delivery.row.to_row())
    for name, rows in by_branch.items():
        outbox.post(name, rows)


def _close(outbox: Outbox, branches: list[Branch]) -> None:
    for branch in branches:
        outbox.post(branch.name, [END])


@contextlib.contextmanager
def _task_reserve(pipeline: Pipeline) -> Iterator[dict[str, Any]]:
    """Hold the plan's task reserve in a placement group while the run lasts (no actor can take
    its CPUs), and say how a task is scheduled into it; nothing when the plan keeps none."""
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    reserve = pipeline.task_reserve
    tasks = [stage.resources for stage in pipeline.stages if not stage.resources.stateful]
    if not tasks or reserve.cpus <= 0:
        yield {}
        return
    bundle = {"CPU": max(res.num_cpus for res in tasks)}
    if any(res.memory_bytes for res in tasks):
        bundle["memory"] = max(res.memory_bytes for res in tasks)
    count = max(1, math.floor(reserve.cpus / bundle["CPU"] + 1e-9))
    on_nodes = {"ray.io/node-id": f"in({','.join(reserve.nodes)})"} if reserve.nodes else {}
    # Spread: a cluster's tasks (downloads, decodes, uploads) run beside its encoders.
    group = placement_group(
        [bundle] * count, strategy="SPREAD", bundle_label_selector=[on_nodes] * count if on_nodes else None
    )
    try:
        yield {"scheduling_strategy": PlacementGroupSchedulingStrategy(group)}
    finally:
        remove_placement_group(group)


@contextlib.contextmanager
def _reserve_args_allowed() -> Iterator[None]:
    """Ray Data 2.60 takes a task's placement group (and an actor's scheduling strategy) only
    through ``ray_remote_args``, which it marks for removal in 2.64 without a named replacement
    yet: the warning is for raybatch's developers (tests/integration/executors/
    test_routing_on_ray.py hangs when the reserve does not hold), not for the user's terminal."""
    from ray.util.annotations import RayDeprecationWarning

    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="`ray_remote_args` is deprecated", category=RayDeprecationWarning
        )
        yield


#: Ray Data settings for a raybatch run (restored afterwards).
_DATA_SETTINGS = {
    # Rows are tiny, and a block is the unit an actor receives: larger blocks would send all
    # segments of a video to one encoder.
    "target_max_block_size": 1,
    # raybatch has its own live view.
    "enable_progress_bars": False,
    # Ray Data's per-operator reservations split the cluster's CPUs over the operators in order
    # and give the last ones nothing on a small machine: with its dozen operators the finish
    # stages never ran on 2 CPUs. The run plan sizes every claim itself and keeps CPUs free for
    # tasks, so Ray's own scheduler is the only gate.
    "op_resource_reservation_enabled": False,
}


@contextlib.contextmanager
def _data_settings() -> Iterator[None]:
    import ray.data

    context = ray.data.DataContext.get_current()
    saved = {name: getattr(context, name) for name in _DATA_SETTINGS}
    for name, value in _DATA_SETTINGS.items():
        setattr(context, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
