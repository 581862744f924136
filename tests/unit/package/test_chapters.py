"""Chapter rules (YouTube's), chapter text and topic changes."""

from __future__ import annotations

from raybatch.analysis.edl import Edl
from raybatch.package import chapters as ch


def valid(chapters, duration):
    return not ch.problems(chapters, duration)


def test_shorter_than_30_s_gets_no_chapters():
    assert ch.plan_chapters(29.9, [ch.Boundary(10, "shot"), ch.Boundary(20, "shot")]) == []
    assert ch.chapter_count(29.99) == 0


def test_exactly_30_s_gets_three_ten_second_chapters():
    chapters = ch.plan_chapters(30.0, [])
    assert [c.start_s for c in chapters] == [0.0, 10.0, 20.0]
    assert valid(chapters, 30.0)


def test_boundaries_follow_evidence_near_the_targets():
    boundaries = [ch.Boundary(95.0, "shot"), ch.Boundary(130.0, "pause"), ch.Boundary(170.0, "topic")]
    chapters = ch.plan_chapters(270.0, boundaries)
    assert [c.start_s for c in chapters] == [0.0, 95.0, 170.0]
    assert [c.evidence for c in chapters] == ["start", "shot", "topic"]
    assert valid(chapters, 270.0)


def test_starts_are_whole_seconds_and_stay_ten_seconds_apart():
    chapters = ch.plan_chapters(31.5, [ch.Boundary(10.9, "shot"), ch.Boundary(20.95, "shot")])
    assert all(c.start_s == int(c.start_s) for c in chapters)
    assert valid(chapters, 31.5)


def test_cuts_that_merge_two_chapters():
    # Two shot changes at 40 s and 48 s of the source; the edit removes 41-47 s, so on the
    # edited timeline they are 2 s apart: they cannot both start chapters.
    edl = Edl(fps="25", source_frames=70 * 25, keep=[(0, 41 * 25), (47 * 25, 70 * 25)])
    edited = edl.to_output_times([20.0, 40.0, 48.0, 44.0])
    assert edited == [20.0, 40.0, 42.0]  # 44 s was cut away
    assert edl.cut_times() == [41.0]
    boundaries = [ch.Boundary(t, "shot") for t in edited] + [ch.Boundary(t, "cut") for t in edl.cut_times()]
    chapters = ch.plan_chapters(64.0, boundaries)
    assert valid(chapters, 64.0)
    starts = [c.start_s for c in chapters]
    assert not ({40.0, 42.0} <= set(starts))


def test_millisecond_rounded_times_stay_on_their_frame():
    edl = Edl(fps="30000/1001", source_frames=300, keep=[(0, 100), (150, 300)])
    source = [round(f * 1001 / 30000, 3) for f in (10, 99, 100, 149, 150, 151)]
    assert [round(t * 30000 / 1001) for t in edl.to_output_times(source)] == [10, 99, 100, 101]


def test_a_chapter_that_would_start_after_the_end_is_never_made():
    boundaries = [ch.Boundary(35.0, "topic"), ch.Boundary(80.0, "topic")]  # 80 s is past the end
    chapters = ch.plan_chapters(45.0, boundaries)
    assert valid(chapters, 45.0)
    assert all(c.start_s < 45.0 - ch.MIN_CHAPTER_S + 1e-9 for c in chapters)
    assert ch.problems([ch.Chapter(0, 10), ch.Chapter(10, 20), ch.Chapter(50, 60)], 45.0)


def test_problems_names_each_rule():
    assert "0:00" in ch.problems([ch.Chapter(1, 20), ch.Chapter(20, 40), ch.Chapter(40, 60)], 60)[0]
    assert "at least 3" in ch.problems([ch.Chapter(0, 20), ch.Chapter(20, 40)], 40)[0]
    assert "lasts" in ch.problems([ch.Chapter(0, 20), ch.Chapter(20, 25), ch.Chapter(25, 60)], 60)[0]


def test_long_videos_get_more_chapters_up_to_the_cap():
    assert ch.chapter_count(600) == 7
    assert ch.chapter_count(4 * 3600) == ch.MAX_CHAPTERS
    chapters = ch.plan_chapters(3700.0, [])
    assert valid(chapters, 3700.0) and len(chapters) == ch.MAX_CHAPTERS
    assert ch.chapter_text(chapters, 3700.0).splitlines()[0].startswith("0:00:00 ")


def test_description_text():
    chapters = ch.plan_chapters(95.0, [])
    for c, title in zip(chapters, ["Intro", "Loops", "Wrap-up"], strict=True):
        c.title = title
    assert ch.chapter_text(chapters, 95.0) == "00:00 Intro\n00:31 Loops\n01:03 Wrap-up"


def test_topic_changes_find_where_the_vocabulary_changes():
    cooking = "onions garlic butter pan heat stir pepper salt simmer sauce"
    garden = "soil seeds water compost roots plant prune leaves sunlight shovel"
    segments = [(float(t), float(t + 5), cooking) for t in range(0, 120, 5)]
    segments += [(float(t), float(t + 5), garden) for t in range(120, 240, 5)]
    changes = ch.topic_changes(segments, window_s=30, step_s=5, top=1)
    assert changes and abs(changes[0] - 120.0) <= 10


def test_no_chapter_starts_inside_a_transition():
    # The evenly spaced targets (15 s, 30 s) and a shot change sit inside slow dissolves.
    dissolves = [(14.2, 16.4), (29.5, 31.2)]
    chapters = ch.plan_chapters(45.0, [ch.Boundary(15.0, "shot")], transitions=dissolves)
    starts = [c.start_s for c in chapters]
    assert starts == [0.0, 17.0, 32.0]
    assert not any(a < s < b for s in starts for a, b in dissolves)
    assert not ch.problems(chapters, 45.0)
