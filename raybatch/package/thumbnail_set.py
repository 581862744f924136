"""From extracted candidate frames to the video's thumbnails: judge each frame again at full
resolution, rank them, and render one picture per strategy (``clean``, ``title``, ``closeup``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from raybatch.analysis.edl import Edl
from raybatch.config.model import ThumbnailTheme
from raybatch.io.naming import TITLE_FRAME
from raybatch.package import render
from raybatch.package import thumbnails as picking

Frame = tuple[picking.Candidate, np.ndarray]


def rank_frames(
    frames: list[Frame], find_faces: Callable[[np.ndarray], list[picking.Box]], rejected: dict[str, int]
) -> list[Frame]:
    """The frames that pass the rules at full resolution (a sample may hide a flaw), with their
    faces, scored against each other and best first; ``rejected`` counts the others' reasons."""
    usable = []
    for candidate, rgb in frames:
        candidate.quality = picking.frame_quality(rgb)
        reason = picking.rejection(candidate.quality)
        if reason:
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        boxes = find_faces(rgb)
        candidate.faces = [list(b) for b in boxes]
        if boxes:
            left, top, right, bottom = boxes[0]
            candidate.face_fraction = (right - left) * (bottom - top) / (rgb.shape[0] * rgb.shape[1])
        usable.append((candidate, rgb))
    typical = picking.typical_sharpness([c.quality for c, _ in usable]) or 0.0
    for candidate, _ in usable:
        candidate.scores = picking.score(
            candidate.quality, typical, candidate.distance_s, candidate.face_fraction
        )
    return sorted(usable, key=lambda frame: -frame[0].score)


def render_strategy(strategy: str, frame: Frame, text: str, theme: ThumbnailTheme) -> tuple[Any, str | None]:
    """One strategy's picture of ``frame``, and what it focused on (closeup only)."""
    candidate, rgb = frame
    image = render.to_image(rgb)
    centre = _box_centre(candidate.faces[0]) if candidate.faces else None
    if strategy == "clean":
        return render.clean(image, centre), None
    if strategy == "title":
        return render.titled(render.clean(image, centre), text, theme), None
    aspect = render.SIZE[0] / render.SIZE[1]
    if candidate.faces:
        box = picking.closeup_box(image.width, image.height, tuple(candidate.faces[0]), aspect)
        return render.crop_to(image, box), "face"
    return render.crop_to(image, picking.salient_box(rgb, aspect)), "salient region"


Made = tuple[str | None, bytes | None, dict[str, Any]]


def render_thumbnails(
    ranked: list[Frame],
    strategies: list[str],
    text: str,
    theme: ThumbnailTheme,
    edl: Edl,
    *,
    defer_title: bool = False,
) -> list[Made]:
    """Per strategy: the file name, the JPEG and its entry in ``thumbnails.json``. The best
    frame serves every strategy but ``closeup``, which prefers the best frame with a face.
    ``defer_title`` leaves the title's picture (``TITLE_FRAME``) for the series step."""
    best = ranked[0]
    with_face = next((frame for frame in ranked if frame[0].faces), None)
    made: list[Made] = []
    for strategy in strategies:
        frame = with_face if strategy == "closeup" and with_face else best
        if strategy == "title" and defer_title:
            made.append(deferred_title(render_strategy("clean", frame, text, theme)[0], text, frame))
            continue
        picture, focus = render_strategy(strategy, frame, text, theme)
        data, quality = render.jpeg_bytes(render.with_logo(picture, theme))
        candidate = frame[0]
        entry = {
            "file": f"{strategy}.jpg",
            "strategy": strategy,
            "source_time_s": round(candidate.time_s, 3),
            "edited_time_s": _first(edl.to_output_times([candidate.time_s])),
            "text": text if strategy == "title" else None,
            "focus": focus,
            "scores": candidate.scores,
            "quality": candidate.quality.to_dict(),
            "faces": len(candidate.faces),
            "size": list(render.SIZE),
            "bytes": len(data),
            "jpeg_quality": quality,
        }
        made.append((entry["file"], data, entry))
    return made


def deferred_title(picture: Any | None, text: str, frame: Frame | None, fallback: str | None = None) -> Made:
    """The title left for the series step: the picture it is set on (none: a branded card)."""
    data = render.jpeg_bytes(picture)[0] if picture is not None else None
    entry = {
        "file": None,
        "strategy": "title",
        "frame": TITLE_FRAME if data else None,
        "rendered_by": "series",
        "source_time_s": round(frame[0].time_s, 3) if frame else None,
        "text": text,
        "fallback": fallback,
    }
    return (TITLE_FRAME if data else None), data, entry


def still_thumbnail(
    frame: Frame | None, text: str, theme: ThumbnailTheme, reason: str, *, defer: bool
) -> Made:
    """A title thumbnail for a video no frame of which passed the rules: set on its still
    picture (``frame``), or on a plain card in the theme's colours when there is none."""
    picture = render.clean(render.to_image(frame[1])) if frame else None
    if defer:
        return deferred_title(picture, text, frame, reason)
    data, quality = render.jpeg_bytes(
        render.with_logo(render.titled(picture or render.card(theme), text, theme), theme)
    )
    entry = {
        "file": "title.jpg",
        "strategy": "title",
        "source_time_s": round(frame[0].time_s, 3) if frame else None,
        "text": text,
        "fallback": reason,
        "size": list(render.SIZE),
        "bytes": len(data),
        "jpeg_quality": quality,
    }
    return "title.jpg", data, entry


def thumbnail_index(
    made: list[dict[str, Any]], ranked: list[Frame], rejected: dict[str, int]
) -> dict[str, Any]:
    """``thumbnails.json``: what was made, every candidate's scores, and what the rules rejected."""
    return {
        "thumbnails": made,
        "candidates": [
            {"source_time_s": round(c.time_s, 3), "shot": c.shot, "scores": c.scores} for c, _ in ranked
        ],
        "rejected_samples": rejected,
        "rules": {"margin_s": picking.TRANSITION_MARGIN_S, "blur_floor": picking.BLUR_FLOOR},
    }


def _first(values: list[float]) -> float | None:
    return round(values[0], 3) if values else None


def _box_centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
