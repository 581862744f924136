"""Segment planning: counts, ids, seams at cuts and shots, exact coverage of the kept frames."""

import itertools
from fractions import Fraction

import pytest

from raybatch.analysis.edl import build_edl, policy_for
from raybatch.analysis.segments import (
    plan_edited_segments,
    plan_segments,
    segment_count,
    snap_boundaries,
    total_frames,
)

FPS = "25"


def edl_for(speech, duration=60.0, content_type="educational", mode="balanced", silences=()):
    frames = int(duration * 25)
    return build_edl(duration, FPS, frames, speech, list(silences), policy_for(content_type, mode))


def test_segment_seams_prefer_cuts_then_shots():
    assert snap_boundaries(1000, 2, cut_points=[480], shot_points=[505]) == [480]
    assert snap_boundaries(1000, 2, cut_points=[100], shot_points=[505]) == [505]
    assert snap_boundaries(1000, 2, cut_points=[], shot_points=[]) == [500]
    assert snap_boundaries(10, 1, [], []) == []


def test_edited_segments_cover_the_kept_frames_exactly():
    edl = edl_for([(0.0, 20.0), (30.0, 60.0), (70.0, 100.0)], duration=100.0)
    plans = plan_edited_segments(edl, target_s=30, min_s=10, parallel_slots=2, shot_frames=[1000])
    assert sum(p.frame_count for p in plans) == edl.kept_frames
    covered = [r for p in plans for r in p.source_ranges]
    assert sum(b - a for a, b in covered) == edl.kept_frames
    assert all(p.frame_count == sum(b - a for a, b in p.source_ranges) for p in plans)
    assert len({p.segment_id for p in plans}) == len(plans)


def covers_exactly(plans, frames):
    assert plans[0].start_frame == 0
    for a, b in itertools.pairwise(plans):
        assert a.start_frame + a.frame_count == b.start_frame
    assert sum(p.frame_count for p in plans) == frames


def test_long_video_splits_near_target():
    plans = plan_segments(600.0, "30/1", target_s=60, min_s=10, parallel_slots=2)
    assert len(plans) == 10
    covers_exactly(plans, 18000)
    assert {p.frame_count for p in plans} == {1800}


def test_short_video_split_to_fill_slots():
    plans = plan_segments(40.0, "25/1", target_s=60, min_s=10, parallel_slots=8)
    assert len(plans) == 4  # no segment shorter than min_s
    covers_exactly(plans, 1000)


def test_one_second_video_is_one_segment():
    plans = plan_segments(1.0, "30000/1001", target_s=60, min_s=10, parallel_slots=4)
    assert len(plans) == 1
    assert plans[0].frame_count == 30


def test_tiny_video_has_at_least_one_frame():
    assert plan_segments(0.01, "25/1")[0].frame_count == 1


def test_missing_duration_is_a_clear_error():
    with pytest.raises(ValueError, match="duration is unknown"):
        plan_segments(None, "25/1")


def test_ntsc_rates_count_frames_exactly():
    assert total_frames(10.010, "24000/1001") == 240
    assert total_frames(42.4, Fraction(30)) == 1272


def test_ids_are_deterministic_and_depend_on_settings():
    a = plan_segments(120.0, "30/1", source_fingerprint="x", settings={"crf": 20})
    b = plan_segments(120.0, "30/1", source_fingerprint="x", settings={"crf": 20})
    c = plan_segments(120.0, "30/1", source_fingerprint="x", settings={"crf": 22})
    assert [p.segment_id for p in a] == [p.segment_id for p in b]
    assert a[0].segment_id != c[0].segment_id
    assert len({p.segment_id for p in a}) == len(a)


def test_segment_count_rules():
    assert segment_count(59.0, 60, 10, 1) == 1
    assert segment_count(61.0, 60, 10, 1) == 2
    assert segment_count(25.0, 60, 10, 16) == 2
    # Two segments per slot when there are several slots, so a slow segment does not hold the video.
    assert segment_count(90.0, 60, 10, 2) == 4
    assert segment_count(30.0, 60, 10, 2) == 3
    assert segment_count(600.0, 60, 10, 2) == 10


def test_no_seam_falls_inside_a_fade():
    # The even seam (500) sits in a fade through black: it moves to the fade's nearer end.
    assert snap_boundaries(1000, 2, [], [], avoid=[(480, 530)]) == [480]
    assert snap_boundaries(1000, 2, [], [], avoid=[(470, 510)]) == [510]
    # A fade longer than the window reaches: the seam stays (nothing better within reach).
    assert snap_boundaries(100, 2, [], [], avoid=[(10, 90)]) == [50]
    edl = edl_for([(0.0, 100.0)], duration=100.0)
    plans = plan_edited_segments(edl, target_s=50, min_s=10, avoid_frames=[(1230, 1270)])
    seams = [p.start_frame for p in plans[1:]]
    assert seams and not any(1230 < s < 1270 for s in seams)
