"""The stage contract every executor relies on: a failure becomes the row's error, bugs stay
bugs, rows of other kinds and failed rows pass through, the video's deadline holds, every run
leaves one metrics row, setup runs once, and a worker's log records travel on the row."""

from __future__ import annotations

import json
import logging
import time

import pytest

from raybatch.config import load_config
from raybatch.errors import StageFailure
from raybatch.io.layout import Layout
from raybatch.jobs.records import ErrorRecord, VideoRef
from raybatch.media.runner import MediaError
from raybatch.stages.base import RunContext, Stage, StageMeasure
from raybatch.stages.rows import Row, ShotsRow, VideoRow

log = logging.getLogger("raybatch.tests.contract")


def context(tmp_path, forward_logs: bool = False, **batch) -> RunContext:
    overrides = {"batch": batch, "output": {"directory": str(tmp_path)}, "monitoring": {"log_level": "INFO"}}
    config = load_config(None, overrides)
    layout = Layout(str(tmp_path), "batch_1")
    return RunContext("batch_1", layout, config, config.preset(), forward_logs=forward_logs)


class Probe(Stage[VideoRow]):
    """A stage whose work is whatever the test hands it."""

    name = "probe"
    handles = VideoRow

    def __init__(self, context, work):
        super().__init__(context)
        self.work, self.setups = work, 0

    def setup(self) -> None:
        self.setups += 1
        log.info("model loaded")

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        measure.frames = 25
        return self.work(row)


def video() -> VideoRow:
    return VideoRow(video=VideoRef("talk", "/in/talk.mp4", "talk.mp4", 10, "fp"))


def test_a_result_gets_one_metrics_row_and_setup_runs_once(tmp_path):
    stage = Probe(context(tmp_path), lambda row: [row])
    first, second = stage.run(video()), stage.run(video())
    assert stage.setups == 1
    (row,) = first
    (metric,) = row.metrics
    assert metric["stage"] == "probe" and metric["status"] == "ok" and metric["frames"] == 25
    assert metric["video"] == "talk" and metric["segment_index"] == -1 and metric["wall_s"] >= 0
    assert row.last_stage == "probe" and second[0].error is None


@pytest.mark.parametrize(
    "failure",
    [
        StageFailure("bad frames", hint="re-export it"),
        MediaError("ffmpeg failed", hint="check the file", stderr_tail="[error] x", command="ffmpeg -i"),
        PermissionError("cannot read /in/talk.mp4"),
    ],
)
def test_a_video_failure_becomes_the_rows_error_with_a_hint(tmp_path, failure):
    def fail(row):
        raise failure

    (row,) = Probe(context(tmp_path), fail).run(video())
    assert row.error.stage == "probe" and row.error.file == "/in/talk.mp4" and row.error.hint
    assert row.metrics[-1]["status"] == "error"
    if isinstance(failure, MediaError):
        assert row.error.detail == "[error] x" and row.error.command == "ffmpeg -i"


def test_detailed_error_records_carry_ffmpegs_words_the_redacted_command_and_the_inputs(tmp_path):
    command = "ffmpeg -i https://me:hunter2@cdn.example/in.mp4?X-Amz-Signature=abc123&v=2 -f null -"
    failure = MediaError("ffmpeg failed", stderr_tail="[error] x", command=command)

    def fail(row):
        raise failure

    (row,) = Probe(context(tmp_path), fail).run(video())
    assert row.error.detail == "[error] x"
    assert row.error.command == "ffmpeg -i https://***@cdn.example/in.mp4?X-Amz-Signature=***&v=2 -f null -"
    assert row.error.inputs == {"row": "video", "source": "/in/talk.mp4"}
    assert "hunter2" not in json.dumps(row.error.to_dict())
    basic = context(tmp_path)
    basic.config.monitoring.error_logging = "basic"
    (row,) = Probe(basic, fail).run(video())
    assert set(row.error.to_dict()) == {"file", "stage", "message", "hint"}


def test_a_bug_is_not_turned_into_a_videos_error(tmp_path):
    def bug(row):
        return {}["missing"]

    with pytest.raises(KeyError):
        Probe(context(tmp_path), bug).run(video())


def test_other_kinds_and_failed_rows_pass_through_untouched(tmp_path):
    stage = Probe(context(tmp_path), lambda row: pytest.fail("must not run"))
    failed = video()
    failed.error = ErrorRecord(file="/in/talk.mp4", stage="decode", message="earlier")
    assert stage.run(failed) == [failed] and failed.metrics == []
    other = ShotsRow.__new__(ShotsRow)
    assert stage.run(other) == [other]


def test_the_videos_deadline_starts_at_its_first_stage_and_cuts_it_off(tmp_path):
    stage = Probe(context(tmp_path, video_timeout_s=30), lambda row: [row])
    (row,) = stage.run(video())
    assert row.video.deadline == pytest.approx(time.time() + 30, abs=5)
    row.video = row.video.__class__(**{**row.video.to_dict(), "deadline": time.time() - 1})
    (late,) = stage.run(row)
    assert late.error.kind == "timeout" and "--timeout" in late.error.message


def test_in_a_worker_the_stages_log_records_travel_on_the_first_output(tmp_path):
    def work(row):
        log.warning("found %d frames", 25)
        log.debug("below the run's level: not kept")
        return [row]

    stage = Probe(context(tmp_path, forward_logs=True), work)
    (row,) = stage.run(video())
    messages = [(r["stage"], r["level"], r["message"]) for r in row.logs]
    assert messages == [
        ("probe", logging.INFO, "model loaded"),
        ("probe", logging.WARNING, "found 25 frames"),
    ]
    (again,) = stage.run(video())
    assert [r["message"] for r in again.logs] == ["found 25 frames"]  # setup's records once


def test_in_this_process_records_are_not_collected_twice(tmp_path):
    (row,) = Probe(context(tmp_path), lambda row: [row]).run(video())
    assert row.logs == []
