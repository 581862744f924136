"""How a series' episodes relate: what each is about (its text's concepts and embedding), the
episodes most related to each, prerequisites, concepts used before they are introduced, and how
difficulty progresses. Pure: the episodes' small profiles in, documents out."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean, pstdev
from typing import Any

import numpy as np

from raybatch.package.chapters import STOPWORDS, keywords

#: How many concepts each episode is described by, and how many related episodes it lists.
CONCEPTS = 12
RELATED = 3


#: Words that say where an episode sits or how it was made, not what it is about.
STRUCTURE_WORDS = frozenset(
    [
        "episode",
        "episodes",
        "lesson",
        "lessons",
        "part",
        "parts",
        "chapter",
        "chapters",
        "intro",
        "outro",
        "video",
        "videos",
        "course",
        "series",
        "tutorial",
        "season",
        "untitled",
        "educational",
        "general",
        "music",
        "full",
    ]
)


def episode_text(metadata: dict[str, Any], transcript: str | None) -> str:
    """What an episode says: its transcript when there is one, else its metadata text (title,
    keywords, tags, chapter titles, and the description when a language model wrote it: the
    offline writer's description only restates the edit)."""
    if transcript and transcript.strip():
        return transcript
    written = (metadata.get("writer") or {}).get("kind") not in (None, "offline")
    parts = [
        metadata.get("title") or "",
        metadata.get("description") or "" if written else "",
        *(metadata.get("keywords") or []),
        *(metadata.get("tags") or []),
        *(c.get("title") or "" for c in metadata.get("chapters") or []),
    ]
    return "\n".join(p for p in parts if p)


def text_profile(text: str, *, transcript: bool, duration_s: float) -> dict[str, Any]:
    """An episode's concepts and the text measures difficulty is judged on."""
    words = text.split()
    content = keywords(text, 10_000, exclude=STOPWORDS | STRUCTURE_WORDS)
    return {
        "source": "transcript" if transcript else "metadata",
        "concepts": content[:CONCEPTS],
        "words": len(words),
        "words_per_minute": round(len(words) / (duration_s / 60), 1)
        if transcript and duration_s > 0
        else None,
        "mean_word_length": round(mean(len(w) for w in words), 2) if words else None,
        "distinct_content_words": len(content),
    }


@dataclass
class EpisodeProfile:
    """One done episode as the series step sees it."""

    key: str
    number: int
    title: str
    vector: np.ndarray
    concepts: list[str]
    profile: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    speech_share: float | None = None


def related(episodes: list[EpisodeProfile], top: int = RELATED) -> dict[str, list[dict[str, Any]]]:
    """For each episode, the ``top`` most similar others (cosine similarity of their
    embeddings), with the concepts they share."""
    if len(episodes) < 2:
        return {e.key: [] for e in episodes}
    vectors = np.stack([e.vector for e in episodes])
    similarity = vectors @ vectors.T
    links = {}
    for i, episode in enumerate(episodes):
        order = [j for j in np.argsort(-similarity[i], kind="stable") if j != i][:top]
        links[episode.key] = [
            {
                "video": episodes[j].key,
                "episode": episodes[j].number,
                "title": episodes[j].title,
                "similarity": round(float(similarity[i, j]), 3),
                "shared_concepts": [c for c in episode.concepts if c in set(episodes[j].concepts)],
            }
            for j in order
        ]
    return links


def first_appearance(episodes: list[EpisodeProfile]) -> dict[str, int]:
    """Each concept's first episode number (episodes in series order)."""
    first: dict[str, int] = {}
    for episode in sorted(episodes, key=lambda e: e.number):
        for concept in episode.concepts:
            first.setdefault(concept, episode.number)
    return first


def prerequisites(episodes: list[EpisodeProfile]) -> dict[str, list[dict[str, Any]]]:
    """For each episode, the earlier episodes where its concepts first appeared."""
    first = first_appearance(episodes)
    by_number = {e.number: e for e in episodes}
    links: dict[str, list[dict[str, Any]]] = {}
    for episode in episodes:
        earlier: dict[int, list[str]] = {}
        for concept in episode.concepts:
            if first[concept] < episode.number:
                earlier.setdefault(first[concept], []).append(concept)
        links[episode.key] = [
            {"video": by_number[n].key, "episode": n, "title": by_number[n].title, "concepts": concepts}
            for n, concepts in sorted(earlier.items())
        ]
    return links


def continuity(episodes: list[EpisodeProfile]) -> list[dict[str, Any]]:
    """Concepts used before they are introduced: a concept is introduced by the first episode
    whose title names it; earlier episodes that already use it are flagged."""
    ordered = sorted(episodes, key=lambda e: e.number)
    introduced: dict[str, int] = {}
    for episode in ordered:
        for concept in keywords(episode.title, 50, exclude=STOPWORDS | STRUCTURE_WORDS):
            introduced.setdefault(concept, episode.number)
    flags = []
    for concept, number in introduced.items():
        used = [e.number for e in ordered if e.number < number and concept in e.concepts]
        if used:
            flags.append({"concept": concept, "introduced_in": number, "used_before_in": used})
    return flags


def difficulty(episodes: list[EpisodeProfile]) -> dict[str, Any]:
    """A relative difficulty per episode (1 easiest to 5 hardest in this series) from speech
    rate, vocabulary and duration, with the evidence, and whether it rises with the episodes."""
    measures = {
        "speech_rate": [e.profile.get("words_per_minute") or e.speech_share for e in episodes],
        "vocabulary": [e.profile.get("mean_word_length") for e in episodes],
        "duration": [e.duration_s for e in episodes],
    }
    scores = np.zeros(len(episodes))
    used = []
    for name, values in measures.items():
        known = [v for v in values if v is not None]
        if len(known) < 2 or pstdev(known) == 0:
            continue
        centre, spread = mean(known), pstdev(known)
        scores += np.array([(v - centre) / spread if v is not None else 0.0 for v in values])
        used.append(name)
    if used:
        scores /= len(used)
    levels = np.clip(np.round(3 + scores * 1.5), 1, 5).astype(int)
    numbers = np.array([e.number for e in episodes], dtype=float)
    trend = float(np.corrcoef(numbers, scores)[0, 1]) if len(episodes) > 2 and scores.std() > 0 else 0.0
    return {
        "measures": used,
        "trend": "rising" if trend > 0.4 else "falling" if trend < -0.4 else "flat or mixed",
        "correlation_with_order": round(trend, 2),
        "episodes": {
            e.key: {
                "episode": e.number,
                "level": int(level),
                "evidence": {
                    "words_per_minute": e.profile.get("words_per_minute"),
                    "speech_share": e.speech_share,
                    "mean_word_length": e.profile.get("mean_word_length"),
                    "distinct_content_words": e.profile.get("distinct_content_words"),
                    "duration_s": e.duration_s,
                },
            }
            for e, level in zip(episodes, levels, strict=True)
        },
    }
