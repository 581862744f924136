"""The Ray executor on the shared session with small stages made for the test: each kind of
row goes only to its own stream (a segment never waits behind a slow model), a video's parts
come back as one assembly, and a failed video ends alone."""

from __future__ import annotations

import threading
import time

from raybatch.executors.base import Pipeline
from raybatch.executors.ray_data import RayExecutor
from raybatch.executors.resources import TaskReserve
from raybatch.jobs.records import VideoRef
from raybatch.stages.base import Resources, Stage, StageMeasure
from raybatch.stages.rows import Row, ShotsRow, VideoRow
from tests.unit.executors.test_local_executor import Encode, Publish, Recorder, Split
from tests.unit.stages.test_contract import context

MODEL_S = 2.5


class SplitWithShots(Split):
    """Two segments and a shots row per video."""

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        segments = super().process(row, measure)
        for segment in segments:
            segment.parts = 3
        shots = row.spawn(ShotsRow, media=segments[0].media, parts=3, segments=2, edit=segments[0].edit)
        return [*segments, shots]


class SlowModel(Stage[ShotsRow]):
    """A shot model that takes its time."""

    name, handles = "detect_shots", ShotsRow

    def process(self, row: ShotsRow, measure: StageMeasure) -> list[Row]:
        time.sleep(MODEL_S)
        row.result = {"shots": []}
        return [row]


def test_segments_never_wait_behind_the_model_and_every_video_ends(ray_session, tmp_path):
    ctx = context(tmp_path)
    stages = [
        SplitWithShots(ctx),
        Encode(ctx, Resources(num_cpus=0.5, actors=2)),
        SlowModel(ctx, Resources(num_cpus=0.25, actors=1)),
        Publish(ctx),
    ]
    videos = [VideoRef(key, f"/in/{key}.mp4", f"{key}.mp4") for key in ("one", "broken", "two", "three")]
    outcomes = RayExecutor().run(videos, Pipeline(stages), Recorder())
    by_video = {o.video: o for o in outcomes}
    assert {k: o.status for k, o in by_video.items()} == {
        "one": "done", "broken": "failed", "two": "done", "three": "done"
    }  # fmt: skip
    assert by_video["broken"].error.stage == "plan" and by_video["one"].output_uri == "/out/one.mp4"

    def span(video: str, stage: str) -> tuple[float, float]:
        metrics = [m for m in by_video[video].metrics if m["stage"] == stage]
        return min(m["start"] for m in metrics), max(m["end"] for m in metrics)

    # The one model actor takes the videos in turn (in the order they were planned, which the
    # parallel plans decide); the encoders go on meanwhile.
    first, second, last = sorted(("one", "two", "three"), key=lambda v: span(v, "detect_shots")[0])
    assert span(second, "encode")[0] < span(first, "detect_shots")[1]
    assert span(last, "encode")[1] < span(last, "detect_shots")[0]
    assert sorted(m["segment_index"] for m in by_video["two"].metrics if m["stage"] == "encode") == [0, 1]


class SlowEncode(Encode):
    """An encoder that keeps rows queueing, so an autoscaling pool wants to grow."""

    def process(self, row: Row, measure: StageMeasure) -> list[Row]:
        time.sleep(1.0)
        return [row]


def test_an_autoscaling_pool_never_takes_the_tasks_reserve(ray_session, tmp_path):
    """Ray Data grows an autoscaling pool into every CPU it sees free; the CPUs the plan keeps
    for tasks are held apart, so the videos' last task still runs while the pool is at its
    largest (without the hold, four encoders took the two CPUs and the run never ended)."""
    ctx = context(tmp_path)
    stages = [
        Split(ctx),
        SlowEncode(ctx, Resources(num_cpus=0.5, actors=1, autoscale=True)),
        Publish(ctx),
    ]
    videos = [VideoRef(f"v{i}", f"/in/v{i}.mp4", f"v{i}.mp4") for i in range(6)]
    reserve = TaskReserve(cpus=0.5, nodes=(ray_session.get_runtime_context().get_node_id(),))
    finished: list = []
    run = threading.Thread(
        target=lambda: finished.extend(
            RayExecutor().run(videos, Pipeline(stages, task_reserve=reserve), Recorder())
        ),
        daemon=True,
    )
    run.start()
    run.join(timeout=120)
    assert not run.is_alive(), "the run hung: the pool took the CPUs its tasks needed"
    assert {o.status for o in finished} == {"done"} and len(finished) == 6
    encoders = {m["worker"] for o in finished for m in o.metrics if m["stage"] == "encode"}
    assert len(encoders) > 1, "the pool never grew: the test did not meet the hazard"
