"""Publish-ready metadata for one video: the facts the writers get, chapter evidence on the
edited timeline, and ``metadata.json``."""

from __future__ import annotations

import os
from typing import Any

from raybatch.io.names import printable
from raybatch.package import chapters as chapter_rules
from raybatch.package.evidence import Evidence
from raybatch.package.writers import MetadataDraft, VideoFacts, numbered_title, series_and_episode

#: Silences at least this long (kept in the edit) are chapter boundary evidence.
PAUSE_S = 1.5

_LANGUAGE_CODES = {
    "english": "en",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "japanese": "ja",
    "chinese": "zh",
    "korean": "ko",
}


def language_code(language: str | None) -> str | None:
    """Whisper answers with a name ("english"); metadata wants a code."""
    if not language:
        return None
    return _LANGUAGE_CODES.get(language.lower(), language.lower())


def chapter_boundaries(evidence: Evidence, transcript: dict[str, Any] | None) -> list[chapter_rules.Boundary]:
    """Where chapters may start, on the edited timeline: shot changes, the edit's cuts, long
    pauses and (with a transcript) topic changes."""
    edl = evidence.edl
    boundaries = [chapter_rules.Boundary(t, "shot") for t in edl.to_output_times(evidence.shots_s)]
    boundaries += [chapter_rules.Boundary(t, "cut") for t in edl.cut_times()]
    pauses = [(a + b) / 2 for a, b in evidence.silences_s if b - a >= PAUSE_S]
    boundaries += [chapter_rules.Boundary(t, "pause") for t in edl.to_output_times(pauses)]
    if transcript:
        boundaries += [
            chapter_rules.Boundary(t, "topic") for t in chapter_rules.topic_changes(transcript["segments"])
        ]
    return boundaries


def video_facts(
    evidence: Evidence,
    *,
    relative_path: str,
    duration_s: float,
    resolution: tuple[int, int],
    chapters: list[chapter_rules.Chapter],
    transcript: dict[str, Any] | None,
    language: str,
    keywords: list[str],
) -> VideoFacts:
    """What the writers are told about one video."""
    transcript = transcript or {}
    segments = transcript.get("segments", [])
    chapter_texts = [
        " ".join(text for a, b, text in segments if a < c.end_s and b > c.start_s) for c in chapters
    ]
    file_name = printable(os.path.basename(relative_path))
    series, episode = series_and_episode(file_name)
    speech_ratio = None
    if evidence.speech_s is not None and evidence.duration_s:
        speech_ratio = round(evidence.speech_s / evidence.duration_s, 3)
    return VideoFacts(
        file_name=file_name,
        duration_s=round(duration_s, 3),
        source_duration_s=round(evidence.duration_s, 3),
        content_type=evidence.content_type,
        language=transcript.get("language") or language,
        chapter_count=len(chapters),
        chapter_evidence=[c.evidence for c in chapters],
        shots=len(evidence.shots_s) + 1 if evidence.shots_s or evidence.samples else None,
        speech_ratio=speech_ratio,
        removed_s=round(evidence.removed_s, 3),
        cuts=max(0, len(evidence.keep_s) - 1),
        loudness_lufs=evidence.loudness_lufs,
        resolution="x".join(str(v) for v in resolution),
        keywords=list(keywords),
        transcript=transcript.get("text", ""),
        chapter_texts=chapter_texts,
        series=series,
        episode=episode,
    )


def metadata_document(
    facts: VideoFacts,
    draft: MetadataDraft,
    chapters: list[chapter_rules.Chapter],
    boundaries: list[chapter_rules.Boundary],
    *,
    writer: dict[str, Any],
    usage: dict[str, Any],
) -> dict[str, Any]:
    """``metadata.json``: the writer's text with the chapters titled and listed in the description."""
    for chapter, title in zip(chapters, draft.chapter_titles, strict=False):
        chapter.title = title
    chapter_list = chapter_rules.chapter_text(chapters, facts.duration_s)
    return {
        "title": draft.title,
        "description": draft.description + (f"\n\nChapters:\n{chapter_list}" if chapters else ""),
        "tags": draft.tags,
        "keywords": draft.keywords,
        "language": facts.language,
        "chapters": [c.to_dict() for c in chapters],
        "chapters_text": chapter_list,
        "thumbnail_text": draft.thumbnail_text,
        "duration_s": facts.duration_s,
        "series": {"name": facts.series, "episode": facts.episode} if facts.episode is not None else None,
        "writer": writer,
        "usage": usage,
        "evidence": {
            **facts.to_dict(),
            "transcript": bool(facts.transcript),
            "chapter_boundaries": {
                k: sum(1 for b in boundaries if b.kind == k) for k in chapter_rules.STRENGTH
            },
        },
    }


def with_draft(document: dict[str, Any], draft: MetadataDraft, writer: dict[str, Any]) -> dict[str, Any]:
    """``document`` (a published ``metadata.json``) with the writer's text: title (numbered in a
    series), description with the chapter list, tags, keywords, chapter titles (as many as there
    are chapters; the offline ones fill in) and thumbnail text."""
    chapters = [
        chapter_rules.Chapter(c["start_s"], c["end_s"], c["title"], c["evidence"])
        for c in document["chapters"]
    ]
    titles = [t.strip()[:80] or "Part" for t in draft.chapter_titles[: len(chapters)]]
    for chapter, title in zip(chapters, titles, strict=False):
        chapter.title = title
    listing = chapter_rules.chapter_text(chapters, document["duration_s"])
    series = document.get("series") or {}
    title = (
        numbered_title(draft.title, series["name"], series["episode"])
        if series.get("episode")
        else draft.title
    )
    return {
        **document,
        "title": title,
        "description": draft.description + (f"\n\nChapters:\n{listing}" if chapters else ""),
        "tags": draft.tags,
        "keywords": draft.keywords,
        "chapters": [c.to_dict() for c in chapters],
        "chapters_text": listing,
        "thumbnail_text": draft.thumbnail_text,
        "writer": writer,
    }
