"""The series' own text: the playlist title and description, and for every episode a
description that places it between its neighbours. The LLM writer drafts them when one is
configured (one call for the whole series, within the run's budget, cached like every other
call); the offline writer otherwise, or when the LLM cannot answer (the reason is recorded)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from raybatch.config.model import RaybatchConfig
from raybatch.llm.client import BudgetExceeded, Caller, LlmUnavailable, chat_endpoint
from raybatch.package.writers import SYSTEM_PROMPT

MAX_PLAYLIST_TITLE = 150
MAX_PLAYLIST_DESCRIPTION = 5000
MAX_EPISODE_DESCRIPTION = 1000
#: How much of an episode's own description the request carries.
EPISODE_EXCERPT_CHARS = 400
KINDS = {"educational": "course", "music": "collection"}


class EpisodeBlurb(BaseModel):
    episode: int
    description: str = Field(min_length=10, max_length=MAX_EPISODE_DESCRIPTION)


class SeriesDraft(BaseModel):
    """The series text a writer produces (the LLM's answer is validated against this)."""

    playlist_title: str = Field(min_length=3, max_length=MAX_PLAYLIST_TITLE)
    playlist_description: str = Field(min_length=10, max_length=MAX_PLAYLIST_DESCRIPTION)
    episode_descriptions: list[EpisodeBlurb] = Field(default_factory=list)

    def descriptions(self) -> dict[int, str]:
        return {blurb.episode: blurb.description.strip() for blurb in self.episode_descriptions}


def _title(entry: dict[str, Any]) -> str:
    return entry.get("title") or entry["path"]


def neighbour_description(name: str, entries: list[dict[str, Any]], index: int) -> str:
    """Where episode ``entries[index]`` sits in the series: its number, the one before, the one after."""
    entry = entries[index]
    lines = [f"Episode {entry['episode']} of {len(entries)} in {name}: {_title(entry)}."]
    if index > 0:
        before = entries[index - 1]
        lines.append(f"Previously: episode {before['episode']}, {_title(before)}.")
    if index + 1 < len(entries):
        after = entries[index + 1]
        lines.append(f"Next: episode {after['episode']}, {_title(after)}.")
    return " ".join(lines)[:MAX_EPISODE_DESCRIPTION]


def running_time(seconds: float) -> str:
    """A listing's running time in words: "45 seconds", "about 12 minutes", "about 1 h 20 min"."""
    if seconds < 90:
        return f"{round(seconds)} seconds"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minutes"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def offline_draft(name: str, entries: list[dict[str, Any]], content_type: str) -> SeriesDraft:
    """A playlist that walks through the done episodes in order, and neighbour lines."""
    done = [e for e in entries if e["status"] == "done"]
    kind = KINDS.get(content_type, "series")
    length = running_time(sum(e.get("duration_s") or 0.0 for e in done))
    lines = [f"{name}, the whole {kind} in order: {len(entries)} episodes, {length}."]
    lines += [f"{e['episode']}. {_title(e)}" for e in done]
    return SeriesDraft(
        playlist_title=f"{name} – Full {kind.title()}"[:MAX_PLAYLIST_TITLE],
        playlist_description="\n".join(lines)[:MAX_PLAYLIST_DESCRIPTION],
        episode_descriptions=[
            EpisodeBlurb(episode=e["episode"], description=neighbour_description(name, done, i))
            for i, e in enumerate(done)
        ],
    )


def series_messages(
    name: str, entries: list[dict[str, Any]], content_type: str, language: str, keywords: list[str]
) -> list[dict[str, str]]:
    """The chat request for the series' text: the episodes in order with what they are about."""
    done = [e for e in entries if e["status"] == "done"]
    facts = {
        "series": name,
        "kind": KINDS.get(content_type, "series"),
        "keywords": keywords[:20],
        "episodes": [
            {
                "episode": e["episode"],
                "title": _title(e),
                "minutes": round((e.get("duration_s") or 0) / 60, 1),
                "about": (e.get("description") or "")[:EPISODE_EXCERPT_CHARS],
                "keywords": (e.get("keywords") or [])[:8],
            }
            for e in done
        ],
    }
    instructions = (
        "Write the text of this series' playlist.\n"
        f"- playlist_title: at most {MAX_PLAYLIST_TITLE} characters.\n"
        "- playlist_description: 1-3 short paragraphs on what the series covers, in order.\n"
        "- episode_descriptions: one per episode, by its number: 2-3 sentences on what it covers "
        "that name the episode before it and the episode after it (when there is one) and how "
        "they connect.\n"
        f"- language: write in '{language}'.\n\nFacts:\n"
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": instructions + json.dumps(facts, ensure_ascii=False, indent=1)},
    ]


def write_series_text(
    config: RaybatchConfig, name: str, entries: list[dict[str, Any]], keywords: list[str], ledger: Any
) -> tuple[SeriesDraft, dict[str, Any], dict[str, Any] | None]:
    """The series' text, who wrote it, and the calls it took (``None``: none)."""
    content_type, settings = config.processing.content_type, config.metadata
    offline = offline_draft(name, entries, content_type)
    endpoint = chat_endpoint(settings.model_dump(), ledger) if settings.writer != "offline" else None
    if endpoint is None:
        reason = {"fallback_reason": "no API key"} if settings.writer == "llm" else {}
        return offline, {"kind": "offline", **reason}, None
    caller = Caller(endpoint, ledger)
    messages = series_messages(name, entries, content_type, settings.language, keywords)
    try:
        draft = caller.chat_json("series_playlist", messages, SeriesDraft)
    except (BudgetExceeded, LlmUnavailable) as exc:
        reason = "budget" if isinstance(exc, BudgetExceeded) else str(exc)
        return offline, {"kind": "offline", "fallback_reason": reason}, caller.usage()
    # An episode the answer left out keeps its offline lines rather than paying again.
    given = draft.descriptions()
    blurbs = [
        EpisodeBlurb(episode=b.episode, description=given.get(b.episode) or b.description)
        for b in offline.episode_descriptions
    ]
    cached = all(record.cached for record in caller.records)
    info = {"kind": "llm", "model": endpoint.model, "cached": cached}
    return draft.model_copy(update={"episode_descriptions": blurbs}), info, caller.usage()
