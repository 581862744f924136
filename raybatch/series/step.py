"""The series step: once a run's episodes are done, the driver writes what belongs to the whole
series under ``OUT/series_coordination/`` from the episodes' small results, and renders every
episode's title thumbnail in the series branding. A failed episode does not stop it (the files
list it as failed), and every ``resume`` or ``retry`` writes them again with what the job has
by then."""

from __future__ import annotations

import io
import logging
import posixpath
from typing import Any

import numpy as np
from PIL import Image

from raybatch.config.model import RaybatchConfig
from raybatch.errors import RunFailure
from raybatch.io.layout import Layout
from raybatch.io.naming import METADATA, THUMBNAIL_INDEX, TITLE_FRAME
from raybatch.io.storage import (
    exists,
    is_storage_failure,
    join,
    read_bytes,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
)
from raybatch.jobs.records import Outcome
from raybatch.jobs.schema import inside
from raybatch.package import render
from raybatch.package.chapters import keywords
from raybatch.series import branding
from raybatch.series.documents import consistency, series_metadata
from raybatch.series.links import (
    EpisodeProfile,
    continuity,
    difficulty,
    episode_text,
    prerequisites,
    related,
    text_profile,
)
from raybatch.series.plan import SeriesPlan
from raybatch.series.writer import write_series_text

log = logging.getLogger(__name__)

#: The series' own folder in the output, and its branding's.
SERIES_DIR = "series_coordination"
BRANDING_DIR = "unified_branding"


def series_dir(output_root: str) -> str:
    return join(output_root, SERIES_DIR)


def published_episodes(outcomes: list[Outcome]) -> list[Outcome]:
    """The done episodes that were published."""
    return [o for o in outcomes if o.done and o.folder]


def episode_file(layout: Layout, outcome: Outcome, name: str) -> str | None:
    """Where an episode's file ``name`` was published; ``None`` for a path outside the output
    (an earlier run's result comes back from the manifest, which may have been edited)."""
    relative = outcome.published(name)
    return layout.file(relative) if relative and inside("", relative) else None


def episode_documents(layout: Layout, outcomes: list[Outcome], name: str) -> dict[str, dict[str, Any]]:
    """Each done episode's published JSON document ``name`` (an unreadable one is left out,
    logged)."""
    found: dict[str, dict[str, Any]] = {}
    for outcome in published_episodes(outcomes):
        uri = episode_file(layout, outcome, name)
        if uri is None or not exists(uri):
            continue
        try:
            found[outcome.video] = read_json(uri)
        except (OSError, ValueError) as exc:
            log.warning("series: cannot read %s (%s); the series files leave it out", uri, exc)
    return found


def write_series(
    config: RaybatchConfig,
    plan: SeriesPlan,
    outcomes: list[Outcome],
    layout: Layout,
    logo: bytes | None = None,
    ledger: Any = None,
) -> dict[str, Any] | None:
    """Write the series files (and the episodes' branded title thumbnails and series text);
    returns the API calls the series text took (``None``: none). ``logo`` is the series logo,
    checked when the run started; ``ledger`` holds what is left of the run's budget."""
    folder = series_dir(layout.root)
    try:
        metadata = episode_documents(layout, outcomes, METADATA)
        profiles = episode_profiles(plan, outcomes, metadata)
        concepts = {p.key: p.concepts for p in profiles}
        document = series_metadata(config, plan, outcomes, metadata, concepts)
        usage = None
        if config.metadata.playlist_optimization:
            usage = describe_series(config, plan, document, metadata, layout, outcomes, ledger)
        if config.metadata.cross_references:
            write_json_atomic(join(folder, "cross_references.json"), cross_references(config, plan, profiles))
        if config.coordination.difficulty_progression:
            document["difficulty"] = difficulty(profiles)
        analyses = episode_documents(layout, outcomes, "metadata/analysis.json")
        document["consistency"] = consistency(
            document["episodes"], analyses, config.preset().loudness_target_lufs
        )
        if config.series_branding:
            document["branding"] = brand_episodes(config, plan, outcomes, layout, logo)
        write_json_atomic(join(folder, "series_metadata.json"), document)
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        raise RunFailure(
            f"cannot write the series files under {folder}: {exc}",
            hint="free space or make the output writable, then: "
            f"raybatch batch resume --job-id {layout.job_id}",
        ) from exc
    return usage


def describe_series(
    config: RaybatchConfig,
    plan: SeriesPlan,
    document: dict[str, Any],
    metadata: dict[str, dict[str, Any]],
    layout: Layout,
    outcomes: list[Outcome],
    ledger: Any,
) -> dict[str, Any] | None:
    """The playlist text into ``document``, and each done episode's neighbour-aware description
    into it and into the episode's ``metadata.json`` (its ``series`` entry). Returns the calls."""
    entries = [
        {**e, **{k: metadata.get(e["video"], {}).get(k) for k in ("description", "keywords")}}
        for e in document["episodes"]
    ]
    draft, writer, usage = write_series_text(config, plan.name, entries, document["keywords"], ledger)
    document["playlist"] = {
        "title": draft.playlist_title,
        "description": draft.playlist_description,
        "writer": writer,
    }
    descriptions = draft.descriptions()
    done = [e for e in document["episodes"] if e["status"] == "done"]
    by_key = {o.video: o for o in published_episodes(outcomes)}
    for index, entry in enumerate(done):
        entry["series_description"] = descriptions.get(entry["episode"])
        outcome, episode_metadata = by_key.get(entry["video"]), metadata.get(entry["video"])
        uri = episode_file(layout, outcome, METADATA) if outcome and episode_metadata else None
        if uri is None:
            continue
        after = done[index + 1] if index + 1 < len(done) else None
        episode_metadata["series"] = {
            "name": plan.name,
            "episode": entry["episode"],
            "episodes": plan.count,
            "previous": _neighbour(done[index - 1] if index else None),
            "next": _neighbour(after),
            "description": entry["series_description"],
        }
        write_json_atomic(uri, episode_metadata)
    return usage


def _neighbour(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"episode": entry["episode"], "title": entry.get("title")} if entry else None


def episode_profiles(
    plan: SeriesPlan, outcomes: list[Outcome], metadata: dict[str, dict[str, Any]]
) -> list[EpisodeProfile]:
    """The done episodes' profiles, in order: what the ``embed_text`` stage found (an episode
    done before cross-references were on has its metadata text profiled here, unembedded)."""
    series_words = set(keywords(plan.name, 20))
    profiles = []
    for outcome in published_episodes(outcomes):
        episode, document = plan.episode_of(outcome.video), metadata.get(outcome.video, {})
        found = (outcome.package or {}).get("series_text")
        duration = outcome.output_duration_s or 0.0
        if found is None:
            found = text_profile(episode_text(document, None), transcript=False, duration_s=duration)
        profiles.append(
            EpisodeProfile(
                key=outcome.video,
                number=episode.number if episode else 0,
                title=document.get("title") or outcome.relative_path,
                vector=np.asarray(found.get("embedding") or [], dtype=np.float32),
                concepts=[c for c in found["concepts"] if c not in series_words],
                profile=found,
                duration_s=duration,
                speech_share=(document.get("evidence") or {}).get("speech_ratio"),
            )
        )
    return sorted(profiles, key=lambda p: p.number)


def cross_references(
    config: RaybatchConfig, plan: SeriesPlan, profiles: list[EpisodeProfile]
) -> dict[str, Any]:
    """``cross_references.json``: each episode's most related others and shared concepts, its
    prerequisites, and the concepts used before they are introduced."""
    embedded = [p for p in profiles if p.vector.size]
    similar = related(embedded)
    tracking = config.coordination.prerequisite_tracking
    earlier = prerequisites(profiles) if tracking else {}
    episodes = [
        {
            "video": p.key,
            "episode": p.number,
            "title": p.title,
            "text_source": p.profile.get("source"),
            "concepts": p.concepts,
            "related": similar.get(p.key, []),
            **({"prerequisites": earlier.get(p.key, [])} if tracking else {}),
        }
        for p in profiles
    ]
    document: dict[str, Any] = {
        "series": plan.name,
        "model": "all-MiniLM-L6-v2 sentence embeddings, cosine similarity",
        "episodes": episodes,
        "not_embedded": [p.key for p in profiles if not p.vector.size],
    }
    if config.coordination.concept_continuity:
        document["concepts_used_before_introduced"] = continuity(profiles)
    return document


def brand_episodes(
    config: RaybatchConfig, plan: SeriesPlan, outcomes: list[Outcome], layout: Layout, logo: bytes | None
) -> str:
    """Render every done episode's title thumbnail in the series palette; write
    ``unified_branding/branding.json`` and ``preview.jpg``. Returns the branding folder."""
    indexes = episode_documents(layout, outcomes, THUMBNAIL_INDEX)
    episodes_by_key = {o.video: o for o in published_episodes(outcomes)}
    titles = {key: _series_title(index) for key, index in indexes.items()}
    titles = {key: entry for key, entry in titles.items() if entry is not None}
    frames = {key: _frame(layout, episodes_by_key[key], entry) for key, entry in titles.items()}
    palette = _palette(config, [f for f in frames.values() if f is not None])
    theme = branding.series_theme(config.thumbnails.theme, palette)
    made, episodes = [], {}
    for key in sorted(titles, key=lambda k: plan.episodes[k].position if k in plan.episodes else 0):
        outcome, episode = episodes_by_key[key], plan.episode_of(key)
        number = episode.number if episode else None
        picture = branding.render_title(frames[key], titles[key]["text"], number, theme, logo)
        data, quality = render.jpeg_bytes(picture)
        title_uri = episode_file(layout, outcome, "thumbnails/title.jpg")
        index_uri = episode_file(layout, outcome, THUMBNAIL_INDEX)
        if title_uri is None or index_uri is None:
            continue
        write_bytes_atomic(title_uri, data)
        file = posixpath.basename(title_uri)
        titles[key].update(file=file, palette=palette.band, bytes=len(data), jpeg_quality=quality)
        write_json_atomic(index_uri, indexes[key])
        made.append((f"{number or '-'}. {titles[key]['text']}", picture))
        episodes[key] = {
            "episode": number,
            "title_thumbnail": outcome.published("thumbnails/title.jpg"),
            "set_on": "its title frame" if frames[key] is not None else "the series card",
            "fallback": titles[key].get("fallback"),
        }
    target = join(series_dir(layout.root), BRANDING_DIR)
    sheet, _ = render.jpeg_bytes(branding.preview_sheet(made))
    write_bytes_atomic(join(target, "preview.jpg"), sheet)
    write_json_atomic(
        join(target, "branding.json"), _branding_document(config, theme, palette, logo, episodes)
    )
    return f"{SERIES_DIR}/{BRANDING_DIR}"


def _series_title(index: dict[str, Any]) -> dict[str, Any] | None:
    """The title entry the series step renders, in an episode's ``thumbnails.json``."""
    return next(
        (
            e
            for e in index.get("thumbnails", [])
            if e.get("strategy") == "title" and e.get("rendered_by") == "series"
        ),
        None,
    )


def _frame(layout: Layout, outcome: Outcome, entry: dict[str, Any]) -> Image.Image | None:
    uri = episode_file(layout, outcome, f"thumbnails/{TITLE_FRAME}") if entry.get("frame") else None
    if uri is None or not exists(uri):
        return None
    return Image.open(io.BytesIO(read_bytes(uri))).convert("RGB")


def _palette(config: RaybatchConfig, frames: list[Image.Image]) -> branding.Palette:
    """The configured palette; else one derived from the episodes' frames (with a unified
    colour scheme); else the thumbnail theme's own colours."""
    settings, theme = config.series.branding, config.thumbnails.theme
    if settings.palette:
        return branding.configured_palette(settings.palette)
    derived = branding.derive_palette(frames) if settings.unified_color_scheme else None
    return derived or branding.Palette(
        theme.band_color, theme.accent_color, theme.text_color, "thumbnail theme"
    )


def _branding_document(
    config: RaybatchConfig,
    theme: Any,
    palette: branding.Palette,
    logo: bytes | None,
    episodes: dict[str, Any],
) -> dict[str, Any]:
    """``branding.json``: the palette, the title template, the logo's placement, the episodes."""
    return {
        "palette": palette.to_dict(),
        "template": {
            "size": list(render.SIZE),
            "font": getattr(render.load_font(theme.font, theme.font_size), "path", "Pillow default"),
            "band_position": theme.band_position,
            "band_opacity": theme.band_opacity,
            "text_align": theme.text_align,
            "episode_badge": branding.BADGE_POSITION,
        },
        "logo": {
            "source": config.series.branding.series_logo,
            "position": theme.logo_position,
            "scale": theme.logo_scale,
        }
        if logo
        else None,
        "preview": "preview.jpg",
        "episodes": episodes,
    }
