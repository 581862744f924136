"""What metadata for a video is expected to cost, before anything runs."""

from __future__ import annotations

import os
from typing import Any

from raybatch.llm.client import estimate_prompt_tokens, prompt_token_bound
from raybatch.package.chapters import chapter_count
from raybatch.package.writers import (
    MAX_TRANSCRIPT_CHARS,
    MetadataDraft,
    VideoFacts,
    answer_token_cap,
    llm_messages,
)
from raybatch.series.writer import EPISODE_EXCERPT_CHARS, SeriesDraft, series_messages

#: Typical answer length of the metadata call (tokens), and speech density (characters a minute).
TYPICAL_OUTPUT_TOKENS = 450
#: The series call's answer: the playlist, and a few sentences per episode.
SERIES_OUTPUT_TOKENS = 250
SERIES_EPISODE_TOKENS = 90
SPEECH_CHARS_PER_MINUTE = 900


def writer_uses_llm(settings: dict[str, Any]) -> bool:
    """Whether the run would call the chat endpoint (writer not offline and a key in the env)."""
    return settings["writer"] != "offline" and bool(os.environ.get(settings["llm"]["api_key_env"]))


def _call_cost(
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    output_tokens: int,
    llm: dict,
    *,
    cap: int | None = None,
    price_factor: float = 1.0,
) -> dict:
    """Expected and worst-case tokens and cost of one chat call (answers of at most ``cap``
    tokens, else the configured cap; priced at ``price_factor`` of the normal rate)."""
    price = llm["prices"].get(llm["model"], llm["default_price"])
    prompt_bytes = sum(len(m["content"].encode()) for m in messages) + len(str(schema))
    tokens_in = estimate_prompt_tokens(prompt_bytes)
    bound = prompt_token_bound(messages, schema)
    cap = cap or llm["max_output_tokens"]
    output_tokens = min(output_tokens, cap)
    return {
        "calls": 1,
        "input_tokens": tokens_in,
        "output_tokens": output_tokens,
        "cost_usd": price_factor * (tokens_in * price["input"] + output_tokens * price["output"]) / 1e6,
        "worst_case_usd": price_factor * (bound * price["input"] + cap * price["output"]) / 1e6,
    }


def estimate_series(name: str, episodes: list[tuple[str, float]], settings: dict[str, Any]) -> dict[str, Any]:
    """The series step's one call for the playlist and the episodes' neighbour descriptions
    (``episodes``: file name and duration, in order), as if every episode were done."""
    entries = [
        {
            "episode": number,
            "path": path,
            "status": "done",
            "duration_s": duration,
            "description": "x" * EPISODE_EXCERPT_CHARS,
            "keywords": ["keyword"] * 8,
        }
        for number, (path, duration) in enumerate(episodes, 1)
    ]
    messages = series_messages(name, entries, "general", settings["language"], ["keyword"] * 20)
    output_tokens = SERIES_OUTPUT_TOKENS + SERIES_EPISODE_TOKENS * len(episodes)
    result = {"video": f"series: {name}", "duration_s": sum(d for _, d in episodes), "audio_minutes": 0.0}
    result.update(_call_cost(messages, SeriesDraft.model_json_schema(), output_tokens, settings["llm"]))
    result["cost_usd"] = round(result["cost_usd"], 6)
    result["worst_case_usd"] = round(result["worst_case_usd"], 6)
    return result


def estimate_video(
    name: str, duration_s: float, settings: dict[str, Any], same_as: str | None = None
) -> dict[str, Any]:
    """Expected and worst-case calls, tokens and cost for one video of ``duration_s`` (as if
    nothing were cut and nothing cached: an upper estimate). ``same_as``: an earlier video of
    the batch with the same content: its transcript comes from the cache, and with
    ``--cache-similar-content`` its metadata answer too. ``--optimize-requests`` shapes the
    request and caps the answer; with ``--batch-api-calls`` the metadata request is not a call of
    its own (the batch's one job is counted by :func:`batch_job_row`) and is priced at the Batch
    API's rate."""
    llm = settings["llm"]
    transcribing = settings["transcript"]["enabled"] and writer_uses_llm({**settings, "writer": "llm"})
    chapters = chapter_count(duration_s)
    speech_chars = (
        min(MAX_TRANSCRIPT_CHARS, int(duration_s / 60 * SPEECH_CHARS_PER_MINUTE)) if transcribing else 0
    )
    facts = VideoFacts(
        file_name=name,
        duration_s=duration_s,
        source_duration_s=duration_s,
        content_type="general",
        language=settings["language"],
        chapter_count=chapters,
        chapter_evidence=["shot"] * chapters,
        keywords=list(settings["keywords"]),
        transcript=_speech(speech_chars, 0),
        chapter_texts=[_speech(min(800, speech_chars // max(1, chapters)), i + 1) for i in range(chapters)]
        if speech_chars
        else [],
    )
    optimized, batched = llm["optimize_requests"], llm["batch_api_calls"]
    messages = llm_messages(facts, optimized)
    schema = MetadataDraft.model_json_schema()
    cap = answer_token_cap(facts, llm["max_output_tokens"]) if optimized else None
    result: dict[str, Any] = {
        "video": name,
        "duration_s": round(duration_s, 3),
        "calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "audio_minutes": 0.0,
        "cost_usd": 0.0,
        "worst_case_usd": 0.0,
    }
    if same_as:
        result["same_as"] = same_as
    reused_answer = same_as is not None and llm["cache_similar_content"]
    if writer_uses_llm(settings) and not reused_answer:
        factor = llm["batch_price_factor"] if batched else 1.0
        result.update(_call_cost(messages, schema, TYPICAL_OUTPUT_TOKENS, llm, cap=cap, price_factor=factor))
        result["calls"] = 0 if batched else 1
    if transcribing and same_as is None:
        minutes = duration_s / 60
        cost = minutes * settings["transcript"]["price_per_minute"]
        result["calls"] += 1
        result["audio_minutes"] = round(minutes, 3)
        result["cost_usd"] += cost
        result["worst_case_usd"] += cost
    result["cost_usd"] = round(result["cost_usd"], 6)
    result["worst_case_usd"] = round(result["worst_case_usd"], 6)
    return result


def _speech(chars: int, seed: int) -> str:
    """Stand-in speech of ``chars`` characters: words, distinct per ``seed`` (per chapter), so
    that trimming at words and leaving out repeated sentences see what they would in a run."""
    words = " ".join(f"word{seed}x{n}" for n in range(chars // 8 + 1))
    return words[:chars]


def batch_job_row(videos: list[dict[str, Any]]) -> dict[str, Any]:
    """With ``--batch-api-calls``: the one Batch API job the videos' metadata requests go in
    (where the server has none: combined calls, about as few)."""
    return {
        "video": "batch job: every video's metadata",
        "duration_s": 0.0,
        "calls": 1,
        "input_tokens": 0,
        "output_tokens": 0,
        "audio_minutes": 0.0,
        "cost_usd": 0.0,
        "worst_case_usd": 0.0,
        "requests": sum(1 for v in videos if v.get("input_tokens")),
    }
