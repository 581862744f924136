"""How episodes relate: related episodes, prerequisites, continuity, difficulty, the text."""

import numpy as np

from raybatch.series.links import (
    EpisodeProfile,
    continuity,
    difficulty,
    episode_text,
    prerequisites,
    related,
    text_profile,
)


def _episode(number: int, title: str, vector: list[float], concepts: list[str], **profile) -> EpisodeProfile:
    unit = np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector)
    return EpisodeProfile(f"ep{number}", number, title, unit, concepts, profile, duration_s=60.0 * number)


SERIES = [
    _episode(1, "Variables", [1, 0, 0], ["variables", "types"], words_per_minute=110, mean_word_length=4.0),
    _episode(2, "Loops", [0.8, 0.6, 0], ["loops", "variables"], words_per_minute=130, mean_word_length=4.5),
    _episode(
        3,
        "Functions",
        [0, 0.6, 0.8],
        ["functions", "loops", "classes"],
        words_per_minute=150,
        mean_word_length=5.2,
    ),
    _episode(4, "Classes", [0, 0, 1], ["classes", "functions"], words_per_minute=160, mean_word_length=5.6),
]


def test_each_episode_lists_its_most_similar_others_with_shared_concepts():
    links = related(SERIES, top=2)
    assert [link["episode"] for link in links["ep1"]] == [2, 3]
    assert links["ep1"][0]["similarity"] == 0.8 and links["ep1"][0]["shared_concepts"] == ["variables"]
    assert [link["episode"] for link in links["ep4"]] == [3, 1]  # a tie keeps series order
    assert related(SERIES[:1]) == {"ep1": []}


def test_prerequisites_point_to_where_a_concept_first_appeared():
    links = prerequisites(SERIES)
    assert links["ep1"] == []
    assert links["ep3"] == [{"video": "ep2", "episode": 2, "title": "Loops", "concepts": ["loops"]}]
    assert links["ep4"] == [
        {"video": "ep3", "episode": 3, "title": "Functions", "concepts": ["classes", "functions"]}
    ]


def test_a_concept_used_before_the_episode_that_introduces_it_is_flagged():
    assert continuity(SERIES) == [{"concept": "classes", "introduced_in": 4, "used_before_in": [3]}]


def test_difficulty_rises_with_speech_rate_vocabulary_and_length():
    found = difficulty(SERIES)
    assert found["trend"] == "rising" and found["measures"] == ["speech_rate", "vocabulary", "duration"]
    levels = [found["episodes"][f"ep{n}"]["level"] for n in range(1, 5)]
    assert levels == sorted(levels) and levels[0] < levels[-1]


def test_the_text_is_the_transcript_else_the_metadata_without_the_offline_boilerplate():
    metadata = {
        "title": "Python – Episode 2: Loops",
        "description": "A lesson of 14 s. Sound levelled to -16 LUFS.",
        "keywords": ["iteration"],
        "tags": ["python"],
        "chapters": [{"title": "For loops"}],
        "writer": {"kind": "offline"},
    }
    text = episode_text(metadata, None)
    assert "Loops" in text and "iteration" in text and "For loops" in text and "LUFS" not in text
    assert "LUFS" in episode_text({**metadata, "writer": {"kind": "llm"}}, None)
    assert episode_text(metadata, "we talk about loops") == "we talk about loops"
    profile = text_profile("we talk about loops and loops and lists", transcript=True, duration_s=30.0)
    assert profile["concepts"][0] == "loops" and profile["words_per_minute"] == 16.0
    assert "episode" not in text_profile(text, transcript=False, duration_s=30.0)["concepts"]
