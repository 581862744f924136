"""Chapter rules, captions and the offline writer as pure functions."""

from __future__ import annotations

import pytest

from raybatch.analysis.edl import Edl
from raybatch.package import captions
from raybatch.package import chapters as ch
from raybatch.package.writers import (
    MetadataDraft,
    OfflineWriter,
    VideoFacts,
    series_and_episode,
    title_from_file_name,
)


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


def test_captions_srt_and_vtt():
    segments = [(0.5, 2.0, "Hello there."), (1.8, 4.0, " "), (2.0, 61.25, "A " * 60)]
    srt = captions.to_srt(segments, duration_s=60.0)
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,000\nHello there.\n")
    assert "00:01:00,000" in srt and "00:01:01" not in srt  # clipped to the video's end
    for block in srt.strip().split("\n\n"):
        lines = block.splitlines()
        assert len(lines) <= 4 and all(len(line) <= 42 for line in lines[2:])
    vtt = captions.to_vtt(segments, duration_s=60.0)
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello there.\n")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("my_first_vlog_FINAL_v2 (1).mp4", "My First Vlog"),
        ("IntroToRay-1080p.mov", "Intro to Ray"),
        ("the.art.of.war.mkv", "The Art of War"),
        ("python_tutorial_ep03_loops.mp4", "Python Tutorial Loops"),
        ("VID_20240101.mp4", "Untitled Video"),
        ("a.mp4", "Video A"),
    ],
)
def test_titles_from_file_names(name, title):
    assert title_from_file_name(name) == title


def test_series_and_episode_from_file_names():
    assert series_and_episode("python_tutorial_ep03_loops.mp4") == ("Python Tutorial", 3)
    assert series_and_episode("Show S02E11.mkv") == ("Show", 11)
    assert series_and_episode("lecture.mp4") == (None, None)


def facts(**changes) -> VideoFacts:
    base = dict(file_name="python_tutorial_ep03_loops.mp4", duration_s=125.0, source_duration_s=140.0,
                content_type="educational", language="en", chapter_count=3, removed_s=15.0,
                loudness_lufs=-16.0, keywords=["python"], series="Python Tutorial", episode=3)  # fmt: skip
    return VideoFacts(**{**base, **changes})


def test_offline_writer_is_deterministic_and_useful():
    first = OfflineWriter().write(facts())
    assert first == OfflineWriter().write(facts())
    assert first.title == "Python Tutorial – Episode 3: Loops"
    assert "2 min 05 s" in first.description and "15 s of pauses removed" in first.description
    assert "python" in first.tags and "educational" in first.tags
    assert first.chapter_titles == ["Intro", "Part 2", "Part 3"]
    MetadataDraft.model_validate(first.model_dump())


def test_offline_writer_uses_transcript_words_for_chapters():
    draft = OfflineWriter().write(
        facts(
            transcript="loops loops iterate",
            chapter_texts=["hello", "loops iterate loops", "generators yield"],
        )
    )
    assert draft.chapter_titles[1] == "Loops Iterate"
    assert "loops" in draft.keywords
