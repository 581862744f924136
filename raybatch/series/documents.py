"""``series_coordination/series_metadata.json``: the series as a playlist, from the episodes'
own results. Pure: the plan, the outcomes and the episodes' metadata in, a document out."""

from __future__ import annotations

from collections import Counter
from typing import Any

from raybatch.config.model import RaybatchConfig
from raybatch.jobs.records import Outcome
from raybatch.series.plan import SeriesPlan

#: How many of the episodes' own keywords join the configured series keywords.
SERIES_KEYWORDS = 15


def series_keywords(configured: list[str], episode_keywords: list[list[str]]) -> list[str]:
    """The configured keywords, then the episodes' most frequent ones (each counted once per
    episode, ties in first-seen order), without repeats (case ignored)."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for keywords in episode_keywords:
        for word in dict.fromkeys(k.strip().casefold() for k in keywords if k.strip()):
            counts[word] += 1
            first_seen.setdefault(word, len(first_seen))
    ranked = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))
    merged = list(dict.fromkeys([k.strip() for k in configured if k.strip()]))
    seen = {k.casefold() for k in merged}
    for word in ranked:
        if len(merged) >= len(configured) + SERIES_KEYWORDS:
            break
        if word not in seen:
            merged.append(word)
            seen.add(word)
    return merged


def episode_entry(outcome: Outcome | None, episode: dict[str, Any], metadata: dict[str, Any] | None) -> dict:
    """One episode of the playlist: its place, how it went, and where its files are."""
    entry: dict[str, Any] = {**episode, "status": outcome.status if outcome else "pending"}
    if outcome is None:
        return entry
    entry["source"] = outcome.source_uri
    if outcome.done:
        entry.update(
            title=(metadata or {}).get("title") or (outcome.package or {}).get("title"),
            duration_s=outcome.output_duration_s,
            output=outcome.output_uri,
            folder=outcome.folder,
            # Every published file of the episode by its stage's name, under the output root.
            files=dict(outcome.files),
            loudness_lufs=(outcome.loudness_after or {}).get("input_i"),
            brightness=outcome.brightness_after,
        )
    elif outcome.error:
        entry["error"] = outcome.error.message
    return entry


def series_metadata(
    config: RaybatchConfig,
    plan: SeriesPlan,
    outcomes: list[Outcome],
    episode_metadata: dict[str, dict[str, Any]],
    concepts: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The whole series: its episodes in order (failed ones listed as such), keywords (the
    configured ones, then the episodes' most frequent keywords and ``concepts``); the playlist
    text is the series writer's (``series.writer``)."""
    by_key = {o.video: o for o in outcomes}
    order = sorted(plan.episodes.items(), key=lambda item: item[1].position)
    entries = [
        episode_entry(by_key.get(key), {"video": key, **episode.to_dict()}, episode_metadata.get(key))
        for key, episode in order
    ]
    concepts = concepts or {}
    keywords = series_keywords(
        config.metadata.series_keywords,
        [[*(m.get("keywords") or []), *concepts.get(key, [])] for key, m in episode_metadata.items()],
    )
    document: dict[str, Any] = {
        "series": {
            "name": plan.name,
            "type": config.processing.content_type,
            "episodes": plan.count,
            "done": sum(e["status"] == "done" for e in entries),
            "failed": [e["video"] for e in entries if e["status"] not in ("done", "pending")],
        },
        "keywords": keywords,
        "episodes": entries,
        "settings": {
            # Effective values: a series: section turns coordination on without the flag.
            "coordination": {
                **config.coordination.model_dump(),
                "enable_series_coordination": config.series_coordinated,
            },
            "progressive_numbering": config.metadata.progressive_numbering,
        },
    }
    return document


def consistency(
    entries: list[dict[str, Any]], analyses: dict[str, dict[str, Any]], target_lufs: float
) -> dict:
    """How alike the done episodes sound and look: each one's delivered loudness and its
    brightness before (the source, as analysed) and after (the output), and the spreads."""
    rows = {}
    for entry in entries:
        if entry["status"] != "done":
            continue
        statistics = ((analyses.get(entry["video"]) or {}).get("picture") or {}).get("statistics") or {}
        rows[entry["video"]] = {
            "episode": entry["episode"],
            "loudness_lufs": entry.get("loudness_lufs"),
            "brightness_before": statistics.get("brightness"),
            "brightness_after": entry.get("brightness"),
        }

    def spread(name: str) -> float | None:
        values = [row[name] for row in rows.values() if row[name] is not None]
        return round(max(values) - min(values), 2) if len(values) > 1 else None

    return {
        "loudness_target_lufs": target_lufs,
        "loudness_spread_lu": spread("loudness_lufs"),
        "brightness_spread_before": spread("brightness_before"),
        "brightness_spread_after": spread("brightness_after"),
        "episodes": rows,
    }
