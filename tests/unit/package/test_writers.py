"""Titles from file names, series and episodes, the offline writer."""

from __future__ import annotations

import pytest

from raybatch.package.writers import (
    MetadataDraft,
    OfflineWriter,
    VideoFacts,
    answer_token_cap,
    llm_messages,
    series_and_episode,
    title_from_file_name,
)


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
    base = dict(
        file_name="python_tutorial_ep03_loops.mp4",
        duration_s=125.0,
        source_duration_s=140.0,
        content_type="educational",
        language="en",
        chapter_count=3,
        removed_s=15.0,
        loudness_lufs=-16.0,
        keywords=["python"],
        series="Python Tutorial",
        episode=3,
    )
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


def _lecture_facts(chapters: int = 3) -> VideoFacts:
    sentences = [
        f"In part {i} we write a loop that adds the numbers from one to {10 * i}." for i in range(30)
    ]
    transcript = " ".join(sentences)
    thirds = [" ".join(sentences[i * 10 : (i + 1) * 10]) for i in range(3)]
    # The way the package stage builds them: chapter texts overlap where a sentence spans a cut.
    chapter_texts = [thirds[0], thirds[0][-200:] + " " + thirds[1], thirds[2]][:chapters]
    return VideoFacts(
        "loops.mp4", 600.0, 640.0, "educational", "en", chapter_count=chapters,
        transcript=transcript, chapter_texts=chapter_texts, speech_ratio=0.8,
    )  # fmt: skip


def test_optimised_requests_send_each_transcript_sentence_once_and_less_overall():
    facts = _lecture_facts()
    full = llm_messages(facts)[1]["content"]
    optimised = llm_messages(facts, optimized=True)[1]["content"]
    assert len(optimised) < 0.5 * len(full)
    sentence = "In part 9 we write a loop that adds the numbers from one to 90."
    assert full.count(sentence) == 3 and optimised.count(sentence) <= 1
    assert '"file_name":"loops.mp4"' in optimised and "source_duration_s" not in optimised
    assert "exactly 3 short titles" in optimised


def test_a_single_chapter_is_not_asked_for_and_the_answer_is_capped():
    facts = _lecture_facts(chapters=1)
    assert "chapter_titles" not in llm_messages(facts, optimized=True)[1]["content"]
    assert "chapter_titles" in llm_messages(facts)[1]["content"]
    assert answer_token_cap(_lecture_facts(3), 900) == 568 and answer_token_cap(_lecture_facts(3), 300) == 300
