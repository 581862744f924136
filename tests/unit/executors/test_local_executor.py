"""The local executor runs any pipeline in this process, with the same routing as on Ray:
small stages made for the test stand in for ffmpeg and the models."""

from __future__ import annotations

from raybatch.analysis.decide import EditFacts
from raybatch.errors import StageFailure
from raybatch.executors.base import Pipeline
from raybatch.executors.local import LocalExecutor
from raybatch.jobs.records import VideoRef
from raybatch.stages.base import Resources, Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row, SegmentRow, VideoRow
from tests.unit.stages.test_contract import context
from tests.unit.stages.test_rows import MEDIA


class Split(Stage[VideoRow]):
    name, handles, emits = "plan", VideoRow, (SegmentRow,)

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        if row.video.key == "broken":
            raise StageFailure("not a video", hint="remove it")
        common = {"media": MEDIA, "parts": 2, "segments": 2, "edit": EditFacts("general", 4.0, -14.0)}
        return [
            row.spawn(
                SegmentRow, index=i, segment_id=f"s{i}", frame_count=50, **self.ranges(row, i), **common
            )
            for i in range(2)
        ]

    @staticmethod
    def ranges(row: VideoRow, index: int) -> dict:
        return {"source_ranges": [(0, 50)], "output_uri": f"/w/{row.video.key}{index}"}


class Encode(Stage[SegmentRow]):
    name, handles = "encode", SegmentRow


class Publish(Stage[AssemblyRow]):
    name, handles = "publish", AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        row.published = {"folder": row.video.key, "output_uri": f"/out/{row.video.key}.mp4"}
        return [row]


class Recorder:
    def __init__(self, stop_on_error: bool = False):
        self.events, self.stop_on_error, self.stopped = [], stop_on_error, False
        self.started: list[tuple[str, str]] = []

    def on_stage_started(self, video_key: str, stage: str) -> None:
        self.started.append((video_key, stage))

    def on_row(self, row: Row) -> None:
        self.events.append((row.video.key, row.last_stage))

    def on_video(self, outcome) -> None:
        self.events.append((outcome.video, outcome.status))
        self.stopped = self.stopped or (self.stop_on_error and not outcome.done)

    def should_stop(self) -> bool:
        return self.stopped


def run(tmp_path, keys, observer):
    ctx = context(tmp_path)
    stages = [Split(ctx), Encode(ctx, Resources(actors=2)), Publish(ctx)]
    videos = [VideoRef(key, f"/in/{key}.mp4", f"{key}.mp4") for key in keys]
    return LocalExecutor().run(videos, Pipeline(stages), observer)


def test_each_video_goes_through_its_parts_and_finishes_before_the_next(tmp_path):
    observer = Recorder()
    outcomes = run(tmp_path, ["a", "broken", "b"], observer)
    assert [(o.video, o.status) for o in outcomes] == [("a", "done"), ("broken", "failed"), ("b", "done")]
    assert outcomes[0].output_uri == "/out/a.mp4" and outcomes[0].segments == 2
    assert outcomes[1].error.hint == "remove it"
    finished = [event for event in observer.events if event[1] in ("done", "failed")]
    assert observer.events.index(finished[0]) < observer.events.index(("b", "encode"))
    assert {m["stage"] for m in outcomes[0].metrics} == {"plan", "encode", "publish"}


def test_error_handling_stop_leaves_the_rest_unreached(tmp_path):
    outcomes = run(tmp_path, ["broken", "a"], Recorder(stop_on_error=True))
    assert [o.video for o in outcomes] == ["broken"]


def test_every_stage_tells_when_it_takes_a_video(tmp_path):
    observer = Recorder()
    run(tmp_path, ["a"], observer)
    names = [Split.name, Encode.name, Encode.name, Publish.name]  # two segments encoded
    assert observer.started == [("a", name) for name in names]
