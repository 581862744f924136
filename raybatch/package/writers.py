"""Metadata writers: the same facts in, a title, description, tags and chapter titles out.

:class:`OfflineWriter` is deterministic and needs nothing but the analysis; :class:`LlmWriter`
asks an OpenAI-compatible model for the text, validated against :class:`MetadataDraft`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, field_validator

from raybatch.package.chapters import keywords as find_keywords
from raybatch.series.episodes import find_mark

#: YouTube's limits.
MAX_TITLE = 100
MAX_DESCRIPTION = 5000
MAX_TAGS_CHARS = 500
#: How much transcript text a prompt carries at most (characters).
MAX_TRANSCRIPT_CHARS = 12_000


@dataclass
class VideoFacts:
    """What the analysis found about one video: the writers' only input."""

    file_name: str
    duration_s: float  # edited
    source_duration_s: float
    content_type: str
    language: str
    chapter_count: int
    chapter_evidence: list[str] = field(default_factory=list)
    shots: int | None = None
    speech_ratio: float | None = None
    removed_s: float = 0.0
    cuts: int = 0
    loudness_lufs: float | None = None
    resolution: str = ""
    keywords: list[str] = field(default_factory=list)
    transcript: str = ""
    chapter_texts: list[str] = field(default_factory=list)
    series: str | None = None
    episode: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["transcript"] = self.transcript[:MAX_TRANSCRIPT_CHARS]
        data.pop("chapter_texts")
        return data


class MetadataDraft(BaseModel):
    """The text a writer produces (the LLM's answer is validated against this)."""

    title: str = Field(min_length=3, max_length=MAX_TITLE)
    description: str = Field(min_length=10, max_length=MAX_DESCRIPTION - 1500)
    tags: list[str] = Field(min_length=1, max_length=30)
    keywords: list[str] = Field(default_factory=list, max_length=30)
    chapter_titles: list[str] = Field(default_factory=list)
    thumbnail_text: str = Field(min_length=1, max_length=60)

    @field_validator("tags")
    @classmethod
    def _tags_fit(cls, tags: list[str]) -> list[str]:
        tags = [t.strip() for t in tags if t.strip()]
        if sum(len(t) for t in tags) + 2 * max(0, len(tags) - 1) > MAX_TAGS_CHARS:
            raise ValueError(f"tags exceed YouTube's {MAX_TAGS_CHARS} characters")
        return tags


_NOISE = re.compile(
    r"\b(final|copy|edit(ed)?|export(ed)?|render(ed)?|v\d+|take\d*|draft|raw|\d{3,4}p|[hx]26[45]|hevc|"
    r"4k|uhd|hdr|img|vid|dsc|mvi|gopr\d*|\d{8}|\d{6})\b",
    re.IGNORECASE,
)
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "vs",
        "via",
        "with",
    ]
)


def _words(name: str) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]{2,4}$", "", name.rsplit("/", 1)[-1])
    stem = re.sub(r"\(\d+\)|\[[^\]]*\]", " ", stem)
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    return " ".join(re.sub(r"[_.\-+]+", " ", stem).split())


def series_and_episode(name: str) -> tuple[str | None, int | None]:
    """A series name and episode number in a file name (``python_tutorial_ep03``), if any."""
    words = _words(name)
    found = find_mark(words)
    if not found or found[0].episode is None:
        return None, None
    mark, start, _ = found
    series = _NOISE.sub(" ", words[:start]).strip(" -")
    return (title_case(series) if series else None), mark.episode


def episode_title(name: str) -> str | None:
    """The words after an episode marker (``python_tutorial_ep03_loops`` -> ``Loops``)."""
    words = _words(name)
    found = find_mark(words)
    if not found or found[0].episode is None:
        return None
    rest = " ".join(_NOISE.sub(" ", words[found[2] :]).split())
    return title_case(rest) if rest else None


def numbered_title(title: str, series: str, episode: int) -> str:
    """``title`` with the series and episode number in front, unless it already names the
    episode; at most ``MAX_TITLE`` characters (the episode's own words are shortened)."""
    if re.search(rf"(?<![a-z0-9])(?:ep(?:isode)?\.?\s*#?|#|e){episode}(?![0-9])", title, re.IGNORECASE):
        return title[:MAX_TITLE]
    prefix = f"{series} – Episode {episode}"
    if title.casefold().startswith(series.casefold()):
        title = title[len(series) :].lstrip(" :–-|")
    room = MAX_TITLE - len(prefix) - 2
    if not title or room < 8:
        return prefix[:MAX_TITLE]
    return f"{prefix}: {title if len(title) <= room else title[: room - 1].rstrip() + '…'}"


def title_case(text: str) -> str:
    """Headline case that leaves acronyms and small words alone."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        if word.isupper() and len(word) > 1:
            out.append(word)
        elif 0 < i < len(words) - 1 and word.lower() in _SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def title_from_file_name(name: str) -> str:
    """A readable title from a file name: extension, copy counters, export noise and episode
    markers removed, separators turned to spaces, headline case."""
    words = _words(name)
    found = find_mark(words)
    if found and found[0].episode is not None:
        words = (words[: found[1]] + " " + words[found[2] :]).strip()
    cleaned = " ".join(_NOISE.sub(" ", words).split())
    if not cleaned:
        return "Untitled Video"
    # A name too short to be a title ("a.mp4") still names the video.
    return title_case(cleaned) if len(cleaned) >= 3 else f"Video {cleaned.upper()}"


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class OfflineWriter:
    """Deterministic metadata from the analysis alone (no network, no cost)."""

    kind = "offline"

    def write(self, facts: VideoFacts) -> MetadataDraft:
        base = title_from_file_name(facts.file_name)
        if facts.series and facts.episode is not None:
            title = f"{facts.series} – Episode {facts.episode}"
            part = episode_title(facts.file_name)
            if part:
                title += f": {part}"
        elif facts.episode is not None:
            title = f"{base} – Episode {facts.episode}"
        else:
            title = base
        spoken = find_keywords(facts.transcript, 8) if facts.transcript else []
        kind = {"educational": "A lesson", "music": "A music video", "general": "A video"}.get(
            facts.content_type, "A video"
        )
        sentences = [f"{kind} of {_minutes(facts.duration_s)}."]
        if spoken:
            sentences.append("Covers " + ", ".join(spoken[:5]) + ".")
        if facts.chapter_count:
            sentences.append(f"{facts.chapter_count} chapters below let you jump to each part.")
        if facts.removed_s >= 1:
            sentences.append(f"Edited for pace: {_minutes(facts.removed_s)} of pauses removed.")
        if facts.loudness_lufs is not None:
            sentences.append(f"Sound levelled to {facts.loudness_lufs:.0f} LUFS for comfortable listening.")
        tags = _unique(
            [
                *facts.keywords,
                *(w for w in base.lower().split() if len(w) > 3),
                *spoken,
                facts.content_type,
                *([facts.series.lower()] if facts.series else []),
            ]
        )
        return MetadataDraft(
            title=title[:MAX_TITLE],
            description=" ".join(sentences),
            tags=_fit_tags(tags) or [facts.content_type],
            keywords=_unique([*facts.keywords, *spoken])[:20],
            chapter_titles=offline_chapter_titles(facts),
            thumbnail_text=_thumbnail_text(base if not facts.series else title),
        )


def offline_chapter_titles(facts: VideoFacts) -> list[str]:
    """``Intro``, then a chapter's leading keywords when its transcript has any, else ``Part N``."""
    titles = []
    for index in range(facts.chapter_count):
        text = facts.chapter_texts[index] if index < len(facts.chapter_texts) else ""
        words = find_keywords(text, 3) if text else []
        if index == 0:
            titles.append("Intro")
        elif words:
            titles.append(title_case(" ".join(words)))
        else:
            titles.append(f"Part {index + 1}")
    return titles


def _thumbnail_text(title: str) -> str:
    words = title.split()
    text = " ".join(words[:6])
    return text[:60] or "Watch"


def _unique(items) -> list[str]:
    seen, out = set(), []
    for item in items:
        key = item.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out


def _fit_tags(tags: list[str]) -> list[str]:
    out, used = [], 0
    for tag in tags[:30]:
        cost = len(tag) + (2 if out else 0)
        if used + cost > MAX_TAGS_CHARS:
            break
        out.append(tag)
        used += cost
    return out


SYSTEM_PROMPT = (
    "You write publishing metadata for online videos. Use only the facts given; never invent "
    "content the facts do not support. Answer with one JSON object and nothing else."
)


def llm_messages(facts: VideoFacts, optimized: bool = False) -> list[dict[str, str]]:
    """The chat request for one video's metadata; ``optimized`` (``--optimize-requests``):
    only what the writer needs (see :func:`compact_facts`)."""
    titles = (
        f"- chapter_titles: exactly {facts.chapter_count} short titles, in order, the first for the "
        "opening.\n"
        if facts.chapter_count > 1 or not optimized
        else ""  # one chapter: its title is fixed ("Introduction"), not asked for
    )
    instructions = (
        "Write metadata for this video.\n"
        f"- title: at most {MAX_TITLE} characters, specific, no clickbait.\n"
        "- description: 2-4 short paragraphs for the video page (no chapter list; it is added).\n"
        "- tags: 5-15 search tags; keywords: the main topics.\n"
        f"{titles}"
        "- thumbnail_text: 2-5 punchy words for the thumbnail.\n"
        f"- language: write in '{facts.language}'.\n\nFacts:\n"
    )
    if optimized:
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": instructions + compact_facts(facts)},
        ]
    facts_json = json.dumps(facts.to_dict(), ensure_ascii=False, indent=1)
    chapters = "".join(
        f"\nChapter {i + 1} transcript: {text[:800]}" for i, text in enumerate(facts.chapter_texts) if text
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": instructions + facts_json + chapters},
    ]


#: With ``--optimize-requests``: the characters of transcript one chapter's excerpt keeps, and
#: the whole transcript's when there are no chapter excerpts.
EXCERPT_CHARS = 400
COMPACT_TRANSCRIPT_CHARS = 2400


def compact_facts(facts: VideoFacts) -> str:
    """The facts as compact JSON without empty values, and the transcript once: as chapter
    excerpts (sentences already sent in an earlier excerpt left out, each trimmed at a word),
    or trimmed whole when there are none."""
    data = {k: v for k, v in facts.to_dict().items() if v not in (None, "", [], 0, 0.0)}
    data.pop("transcript", None)
    data.pop("source_duration_s", None)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    seen: set[str] = set()
    excerpts = []
    for index, chapter in enumerate(facts.chapter_texts):
        fresh = [s for s in _sentences(chapter) if s.lower() not in seen]
        seen.update(s.lower() for s in fresh)
        excerpt = _trim_words(" ".join(fresh), EXCERPT_CHARS)
        if excerpt:
            excerpts.append(f"\nChapter {index + 1}: {excerpt}")
    if excerpts:
        return text + "".join(excerpts)
    transcript = _trim_words(" ".join(dict.fromkeys(_sentences(facts.transcript))), COMPACT_TRANSCRIPT_CHARS)
    return text + (f"\nTranscript: {transcript}" if transcript else "")


def answer_token_cap(facts: VideoFacts, configured: int) -> int:
    """The most tokens a metadata answer needs (a title, a few paragraphs, tags, one short
    title per chapter), within the configured cap."""
    return min(configured, 520 + 16 * facts.chapter_count)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text or "") if s.strip()]


def _trim_words(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


class LlmWriter:
    """Metadata from a chat model, validated; chapter titles must match the chapters."""

    kind = "llm"

    def __init__(self, caller: Any, optimized: bool = False):
        self.caller = caller
        self.optimized = optimized

    def write(self, facts: VideoFacts) -> MetadataDraft:
        return self.finish(self.caller.chat_json(*self.request(facts), content=facts.transcript), facts)

    def request(self, facts: VideoFacts) -> tuple[str, list[dict[str, str]], type[MetadataDraft], int | None]:
        """The purpose, messages, schema and answer cap of ``facts``' request."""
        cap = answer_token_cap(facts, self.caller.endpoint.max_output_tokens) if self.optimized else None
        return "video_metadata", llm_messages(facts, self.optimized), MetadataDraft, cap

    @staticmethod
    def finish(draft: MetadataDraft, facts: VideoFacts) -> MetadataDraft:
        """The answer with exactly one title per chapter (a wrong count is repaired, not paid for)."""
        titles = draft.chapter_titles
        if len(titles) != facts.chapter_count:
            # The offline titles fill in.
            fallback = offline_chapter_titles(facts)
            titles = [*titles[: facts.chapter_count], *fallback[len(titles) :]][: facts.chapter_count]
        return draft.model_copy(update={"chapter_titles": [t.strip()[:80] or "Part" for t in titles]})
