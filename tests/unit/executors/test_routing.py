"""The pipeline cut into branches, and the router that moves rows between them (no Ray): a
segment goes from plan straight to the encoders, never past the shot model; a video's parts
come back as one assembly row; a failure ends the video; the batch regroups by type."""

from __future__ import annotations

from raybatch.analysis.decide import Decision, EditFacts
from raybatch.analysis.edl import Edl
from raybatch.config import load_config
from raybatch.executors.base import Router
from raybatch.executors.cluster import Cluster
from raybatch.executors.plan import plan_run
from raybatch.io.layout import Layout
from raybatch.jobs.records import ErrorRecord, VideoRef
from raybatch.pipeline import build_pipeline, stage_types
from raybatch.stages.base import RunContext
from raybatch.stages.rows import AssemblyRow, AudioRow, SegmentRow, ShotsRow, SoundRef, VideoRow
from tests.unit.stages.test_rows import MEDIA


def pipeline(tmp_path, **overrides):
    config = load_config(None, {"output": {"directory": str(tmp_path)}, **overrides})
    types = stage_types(config)
    plan = plan_run(config, Cluster(on_ray=False), types)
    context = RunContext("batch_1", Layout(str(tmp_path), "batch_1"), config, plan.preset)
    return build_pipeline(types, context, plan)


def names(branches) -> list[list[str]]:
    return [[stage.name for stage in branch.stages] for branch in branches]


def test_the_pipeline_cuts_into_one_branch_per_stream(tmp_path):
    assert names(pipeline(tmp_path).branches()) == [
        ["probe", "analyse_video", "analyse_sound", "decide", "plan", "edit_audio", "audio"],
        ["encode"],
        ["detect_shots"],
        ["assemble", "verify", "package", "publish"],
    ]
    no_analysis = pipeline(tmp_path, processing={"analysis": False})
    assert names(no_analysis.branches()) == [
        ["probe", "decide", "plan", "edit_audio", "audio"],
        ["encode"],
        ["assemble", "verify", "package", "publish"],
    ]
    grouped = pipeline(tmp_path, batch={"group_by_type": True}, processing={"auto_detect_type": True})
    assert names(grouped.branches())[:2] == [
        ["probe", "analyse_video", "analyse_sound", "decide"],
        ["plan", "edit_audio", "audio"],
    ]
    # Only the branch after the barrier takes its rows one at a time, in the group's order.
    assert [b.in_order for b in grouped.branches()] == [False, True, False, False, False]


def video(key: str) -> VideoRef:
    return VideoRef(key, f"/in/{key}.mp4", f"{key}.mp4", 10, f"fp-{key}")


def parts_of(key: str, segments: int = 2) -> list:
    facts = EditFacts("general", 4.0, -14.0)
    common = {"video": video(key), "media": MEDIA, "parts": segments + 2, "segments": segments, "edit": facts}
    rows = [
        SegmentRow(
            index=i,
            segment_id=f"s{i}",
            frame_count=50,
            source_ranges=[(0, 50)],
            output_uri=f"/w/{key}{i}",
            **common,
        )
        for i in range(segments)
    ]
    rows += [ShotsRow(**common), AudioRow(keep=[], sound=SoundRef("/s", MEDIA), output_uri="/a", **common)]
    for row in rows:
        row.last_stage = "plan"
    return rows


def test_parts_go_to_their_own_branches_and_come_back_as_one_assembly(tmp_path):
    router = Router(pipeline(tmp_path), videos=1)
    (start,) = router.start([video("talk")])
    assert start.branch == 0 and isinstance(start.row, VideoRow)
    segment_a, segment_b, shots, audio = parts_of("talk")
    assert [d.branch for d in router.route(segment_a)[0]] == [1]  # the encoders, nothing between
    assert [d.branch for d in router.route(shots)[0]] == [2]  # the shot model
    audio.last_stage = "audio"  # the audio pass ran in the first branch, right after plan
    assert router.route(audio) == ([], [])
    for part in (segment_a, segment_b, shots):
        part.last_stage = {"segment": "encode", "shots": "detect_shots"}[part.kind]
        deliveries, ended = router.route(part)
    (delivery,) = deliveries
    assert delivery.branch == 3 and isinstance(delivery.row, AssemblyRow) and not ended
    delivery.row.last_stage = "publish"
    delivery.row.published = {"folder": "talk", "output_uri": "/out/talk.mp4"}
    assert router.route(delivery.row)[1][0].done and router.finished


def test_a_failure_ends_the_video_and_its_late_parts_are_dropped(tmp_path):
    router = Router(pipeline(tmp_path), videos=2)
    segment_a, segment_b, _, _ = parts_of("talk")
    segment_a.last_stage = "encode"
    router.route(segment_a)
    segment_b.last_stage = "encode"
    segment_b.error = ErrorRecord(file="/in/talk.mp4", stage="encode", message="boom")
    deliveries, (outcome,) = router.route(segment_b)
    assert not deliveries and outcome.status == "failed" and outcome.error.message == "boom"
    assert not router.finished
    late = parts_of("talk")[2]
    late.last_stage = "detect_shots"
    assert router.route(late) == ([], [])


def test_grouping_by_type_holds_every_video_at_the_barrier_then_goes_on_in_type_order(tmp_path):
    grouped = pipeline(tmp_path, batch={"group_by_type": True}, processing={"auto_detect_type": True})
    router = Router(grouped, videos=3)
    edl = Edl(fps="25/1", source_frames=100, keep=[(0, 100)])

    def decided(key: str, content_type: str) -> VideoRow:
        decision = Decision(content_type, "detected", -14.0, edl, None)
        return VideoRow(video=video(key), media=MEDIA, decision=decision, last_stage="decide")

    assert router.route(decided("a", "general")) == ([], [])
    failed = VideoRow(video=video("b"), last_stage="probe")
    failed.error = ErrorRecord(file="/in/b.mp4", stage="probe", message="not a video")
    assert router.route(failed)[0] == []
    deliveries, _ = router.route(decided("c", "music"))
    assert [d.row.video.key for d in deliveries] == ["c", "a"] and {d.branch for d in deliveries} == {1}


def test_a_branch_of_parts_drains_once_every_video_is_planned_and_its_parts_are_back(tmp_path):
    """The encoders' stream ends when no segment can come any more, long before the last video
    is published: Ray Data then lets its actors go (one that died mid-row restarts in their room)."""
    router = Router(pipeline(tmp_path), videos=2)
    router.start([video("talk"), video("lecture")])
    segment_a, segment_b, shots, audio = parts_of("talk")
    for part in (segment_a, segment_b, shots):
        router.route(part)
    # Both videos entered the first branch; talk's audio is still on its way, "lecture" unplanned.
    assert router.close_drained() == [0]
    audio.last_stage = "audio"
    router.route(audio)
    assert router.close_drained() == []  # "lecture" may still make segments and shots
    failed = VideoRow(video=video("lecture"), last_stage="probe")
    failed.error = ErrorRecord(file="/in/lecture.mp4", stage="probe", message="not a video")
    router.route(failed)
    # Every video is planned (or ended): nothing more reaches the encoders or the shot model,
    # whose parts are still in them; the assembly branch waits for them.
    assert router.close_drained() == [1, 2]
    for part in (segment_a, segment_b, shots):
        part.last_stage = {"segment": "encode", "shots": "detect_shots"}[part.kind]
        deliveries, _ = router.route(part)
    assert router.close_drained() == []
    (assembly,) = deliveries
    assembly.row.last_stage = "publish"
    assembly.row.published = {"folder": "talk", "output_uri": "/out/talk.mp4"}
    router.route(assembly.row)
    assert router.close_drained() == [3] and router.close_drained() == []
