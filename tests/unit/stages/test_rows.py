"""Typed rows: one type per kind, dicts of primitives at the executor boundary, and what a
video's parts come to."""

from __future__ import annotations

import json

from raybatch.analysis.decide import Decision, EditFacts
from raybatch.analysis.edl import Edl
from raybatch.jobs.records import ErrorRecord, VideoRef
from raybatch.media.probe import MediaInfo, VideoStream
from raybatch.stages.rows import (
    AssemblyRow,
    AudioRow,
    SegmentRow,
    ShotsRow,
    SoundRef,
    VideoRow,
    assembly_from_parts,
    done_outcome,
    failure_outcome,
    from_row,
)

VIDEO = VideoRef("talk", "/in/talk.mp4", "talk.mp4", 1000, "fp")
MEDIA = MediaInfo(
    format_name="mov,mp4",
    size_bytes=1000,
    duration_s=4.0,
    video=VideoStream(0, "h264", 320, 180, "1:1", 0, "yuv420p", "25/1", False, 0.0, 4.0),
    audio=None,
)
FACTS = EditFacts(content_type="general", kept_duration_s=3.0, loudness_target_lufs=-14.0)


def part(cls, **values):
    return cls(video=VIDEO, media=MEDIA, parts=4, segments=2, edit=FACTS, **values)


def segment(index: int, metrics=()) -> SegmentRow:
    return part(
        SegmentRow,
        index=index,
        segment_id=f"id{index}",
        frame_count=50,
        source_ranges=[(index * 50, index * 50 + 50)],
        output_uri=f"/work/seg{index}.mp4",
        metrics=list(metrics),
    )


def test_every_kind_round_trips_through_a_dict_of_primitives():
    edl = Edl(fps="25/1", source_frames=100, keep=[(0, 40), (60, 100)])
    rows = [
        VideoRow(video=VIDEO, media=MEDIA, decision=Decision("general", "set", -14.0, edl, None, (12,))),
        segment(1),
        part(
            AudioRow,
            keep=[(0, 40)],
            sound=SoundRef("/in/talk.mp4", MEDIA, {"input_i": -20.0}),
            output_uri="/a",
        ),
        part(ShotsRow, result={"shots": []}),
        AssemblyRow(video=VIDEO, media=MEDIA, edit=FACTS, segment_uris=["/work/seg0.mp4"]),
    ]
    for row in rows:
        raw = row.to_row()
        assert raw["kind"] == row.kind
        assert all(value is None or isinstance(value, (str, int, float, bool)) for value in raw.values())
        assert from_row(json.loads(json.dumps(raw))) == row


def test_structured_fields_are_json_and_primitives_stay_as_they_are():
    raw = segment(3).to_row()
    assert raw["index"] == 3 and raw["frame_count"] == 50 and raw["output_uri"] == "/work/seg3.mp4"
    assert json.loads(raw["video"])["key"] == "talk" and json.loads(raw["source_ranges"]) == [[150, 200]]
    assert raw["error"] is None


def test_a_spawned_part_keeps_the_video_and_metrics_but_not_the_logs():
    video = VideoRow(video=VIDEO, metrics=[{"stage": "probe"}], logs=[{"message": "hello"}])
    shots = video.spawn(ShotsRow, media=MEDIA, parts=1, segments=0, edit=FACTS)
    assert shots.video == VIDEO and shots.metrics == [{"stage": "probe"}] and shots.logs == []


def test_parts_become_one_assembly_row_in_segment_order_with_each_metric_once():
    plan_metric = {"stage": "plan", "segment_id": "", "start": 1.0}
    parts = [
        segment(1, [plan_metric, {"stage": "encode", "segment_id": "id1", "start": 3.0}]),
        part(
            AudioRow,
            keep=[],
            sound=SoundRef("/s", MEDIA),
            output_uri="/work/audio.m4a",
            result={"gain_db": 1.0},
        ),
        segment(0, [plan_metric, {"stage": "encode", "segment_id": "id0", "start": 2.0}]),
        part(ShotsRow, result={"shots": [{"frame": 10}]}),
    ]
    assembly = assembly_from_parts(parts)
    assert assembly.segment_uris == ["/work/seg0.mp4", "/work/seg1.mp4"]
    assert assembly.audio_uri == "/work/audio.m4a" and assembly.audio == {"gain_db": 1.0}
    assert assembly.shots == {"shots": [{"frame": 10}]}
    assert [m["stage"] for m in assembly.metrics].count("plan") == 1 and len(assembly.metrics) == 3


def test_outcomes_of_a_failed_and_a_published_video():
    row = segment(0)
    row.error = ErrorRecord(file="/in/talk.mp4", stage="encode", message="boom", kind="timeout")
    failed = failure_outcome(row, [segment(1, [{"stage": "encode", "segment_id": "id1", "start": 1.0}])])
    assert failed.status == "timed_out" and failed.input_duration_s == 4.0 and len(failed.metrics) == 1
    assembly = AssemblyRow(
        video=VIDEO,
        media=MEDIA,
        edit=FACTS,
        segment_uris=["a", "b"],
        verified={"video_duration_s": 3.0, "frames": 75, "width": 320, "height": 180, "warnings": ["w1"]},
        package={"files": ["metadata/metadata.json"], "title": "Talk", "warnings": ["w2"]},
        published={"folder": "talk", "output_uri": "/out/talk.mp4", "output_size_bytes": 10, "metadata": []},
    )
    done = done_outcome(assembly)
    assert done.done and done.segments == 2 and done.frames == 75 and done.output_size == [320, 180]
    assert done.warnings == ["w1", "w2"] and done.package == {"title": "Talk"}
    assert done.content_type == "general" and done.to_dict()["edit"]["kept_duration_s"] == 3.0
