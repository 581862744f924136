"""The EDL: span helpers, cut policies per content type and mode, mapping between timelines."""

import pytest

from raybatch.analysis.edl import Edl, build_edl, complement, merge_spans, policy_for

FPS = "25"


def edl_for(speech, duration=60.0, content_type="educational", mode="balanced", silences=()):
    frames = int(duration * 25)
    return build_edl(duration, FPS, frames, speech, list(silences), policy_for(content_type, mode))


def test_span_helpers():
    assert merge_spans([(3, 4), (0, 1), (0.5, 2)]) == [(0, 2), (3, 4)]
    assert complement([(1, 2), (4, 5)], 6) == [(0, 1), (2, 4), (5, 6)]


def test_dead_air_is_cut_with_margins_and_speech_is_never_touched():
    speech = [(1.0, 5.0), (9.0, 12.0), (12.5, 20.0)]
    edl = edl_for(speech, duration=25.0)
    # Gaps: 0-1 (margin only before the speech), 5-9 (margins both sides), 12-12.5 (too short),
    # 20-25 (margin only after the speech).
    assert [(c["start_s"], c["end_s"]) for c in edl.cuts] == [(0.0, 0.8), (5.2, 8.8), (20.2, 25.0)]
    for start, end in speech:
        for frame in range(int(start * 25), int(end * 25)):
            assert edl.to_output_frame(frame) is not None, f"speech frame {frame} was cut"
    assert edl.kept_frames == round((25 - 0.8 - 3.6 - 4.8) * 25)
    assert all("dead air" in c["reason"] for c in edl.cuts)


def test_threshold_follows_the_mode():
    speech = [(0.0, 5.0), (5.6, 10.0)]  # a 0.6 s pause
    assert edl_for(speech, 10.0, mode="fast").cuts  # 0.5 s threshold: cut (0.2 s after margins)
    assert not edl_for(speech, 10.0, mode="high_quality").cuts  # 1.0 s threshold: kept


def test_no_speech_means_no_cut_and_the_reason_says_so():
    edl = edl_for([], duration=24.0)
    assert edl.keep == [(0, 600)] and not edl.cuts
    assert "speech" in edl.decision and "nothing is cut" in edl.decision


def test_cutting_almost_everything_is_refused():
    edl = edl_for([(10.0, 11.5)], duration=60.0)  # 1.5 s of speech in a minute
    assert edl.keep == [(0, 1500)]
    assert "would keep only" in edl.decision


def test_music_keeps_everything_and_general_cuts_only_long_silence():
    assert edl_for([(1, 2)], 30.0, content_type="music").keep == [(0, 750)]
    general = edl_for(
        [(0, 10), (20, 30)], 30.0, content_type="general", silences=[(10.5, 12.0), (13.0, 19.5)]
    )
    assert [(c["start_s"], c["end_s"]) for c in general.cuts] == [(13.52, 19.0)]  # rounded inwards


def test_edl_maps_between_timelines_and_round_trips():
    edl = edl_for([(1.0, 5.0), (9.0, 12.0)], duration=12.0)
    assert edl.output_ranges()[0][0] == 0
    assert edl.source_ranges(0, edl.kept_frames) == edl.keep
    assert Edl.from_dict(edl.to_dict()).keep == edl.keep
    assert edl.to_dict()["kept_duration_s"] == pytest.approx(edl.kept_seconds())


def test_spans_map_to_the_edited_timeline_in_their_kept_parts():
    edl = edl_for([(1.0, 5.0), (9.0, 12.0)], duration=12.0)  # keeps 0.8-5.2 s and 8.8-12 s
    assert edl.to_output_spans([(2.0, 3.0)]) == [(1.2, 2.2)]
    assert edl.to_output_spans([(10.0, 11.0)]) == [(5.6, 6.6)]
    assert edl.to_output_spans([(6.0, 7.0)]) == []  # cut entirely
    assert edl.to_output_spans([(4.0, 9.6)]) == [(3.2, 4.4), (4.4, 5.2)]  # both kept parts
