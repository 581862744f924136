"""Segment planning: where a video's work segments begin and end on the edited timeline, the
source frames each one takes, and their ids."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from raybatch.analysis.edl import Edl


@dataclass(frozen=True)
class SegmentPlan:
    """Frames ``[start_frame, start_frame + frame_count)`` of the output timeline."""

    index: int
    start_frame: int
    frame_count: int
    segment_id: str
    #: The source frame ranges this segment's frames come from (after the EDL's cuts).
    source_ranges: tuple[tuple[int, int], ...] = ()

    def start_s(self, fps: Fraction) -> float:
        return float(self.start_frame / fps)


def total_frames(duration_s: float | None, fps: str | Fraction) -> int:
    """Frames on the constant-rate output timeline for a source of ``duration_s`` seconds."""
    if duration_s is None:
        raise ValueError("the video's duration is unknown; probe it with a packet scan first")
    if duration_s <= 0:
        raise ValueError(f"the video's duration must be positive (got {duration_s})")
    return max(1, round(Fraction(duration_s).limit_denominator(10**6) * Fraction(fps)))


def segment_count(duration_s: float, target_s: float, min_s: float, parallel_slots: int) -> int:
    """How many segments a video is cut into: about ``target_s`` each, but split finer (down to
    ``min_s``) so that one video gives each of several encoder slots two segments. Two, not one:
    equal-length segments do not take equal time (content, a neighbouring audio pass), and with
    one each the whole video waits for the slowest; with two, a slot that finishes early takes
    the next one."""
    by_length = max(1, math.ceil(duration_s / target_s - 1e-9))
    wanted = 2 * parallel_slots if parallel_slots > 1 else 1
    by_slots = min(wanted, max(1, int(duration_s // min_s)))
    return max(by_length, by_slots)


def segment_id(source_fingerprint: str, start_frame: int, frame_count: int, settings: dict[str, Any]) -> str:
    """Deterministic id: the same source, range and settings always give the same id."""
    payload = json.dumps(
        {
            "source": source_fingerprint,
            "start": start_frame,
            "frames": frame_count,
            "settings": settings,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan_segments(
    duration_s: float | None,
    fps: str,
    *,
    target_s: float = 60.0,
    min_s: float = 10.0,
    parallel_slots: int = 1,
    source_fingerprint: str = "",
    settings: dict[str, Any] | None = None,
) -> list[SegmentPlan]:
    """Split an uncut timeline into segments of whole frames that cover it exactly once."""
    frames = total_frames(duration_s, fps)
    return plan_edited_segments(
        Edl(fps=fps, source_frames=frames, keep=[(0, frames)]),
        target_s=target_s,
        min_s=min_s,
        parallel_slots=parallel_slots,
        source_fingerprint=source_fingerprint,
        settings=settings,
    )


def snap_boundaries(
    total: int,
    count: int,
    cut_points: list[int],
    shot_points: list[int],
    window_fraction: float = 0.25,
    avoid: list[tuple[int, int]] = (),
) -> list[int]:
    """Inner boundaries of ``count`` segments over ``total`` frames, each moved from its even
    position to the nearest cut (inside a removed silence: the seam is already a join) or,
    failing that, the nearest shot boundary (the picture changes there anyway) within
    ``window_fraction`` of a segment's length; one that would fall inside an ``avoid`` range
    (a fade) moves to the nearer of its ends, where the window allows."""
    if count <= 1:
        return []
    length = total / count
    reach = max(1, int(length * window_fraction))
    boundaries: list[int] = []
    for k in range(1, count):
        ideal = round(k * length)
        low = max(boundaries[-1] + 1 if boundaries else 1, ideal - reach)
        high = min(total - (count - k), ideal + reach)
        chosen = ideal
        for points in (cut_points, shot_points):
            candidates = [p for p in points if low <= p <= high]
            if candidates:
                chosen = min(candidates, key=lambda p: (abs(p - ideal), p))
                break
        chosen = min(max(chosen, low), high)
        inside = next(((a, b) for a, b in avoid if a < chosen < b), None)
        if inside is not None:
            ends = [e for e in inside if low <= e <= high]
            chosen = min(ends, key=lambda e: abs(e - chosen)) if ends else chosen
        boundaries.append(chosen)
    return boundaries


def plan_edited_segments(
    edl: Edl,
    *,
    target_s: float = 60.0,
    min_s: float = 10.0,
    parallel_slots: int = 1,
    shot_frames: list[int] = (),
    avoid_frames: list[tuple[int, int]] = (),
    source_fingerprint: str = "",
    settings: dict[str, Any] | None = None,
) -> list[SegmentPlan]:
    """Segments of the edited timeline, with seams at cuts or shot boundaries where possible and
    never inside ``avoid_frames`` (source ranges: fades), each knowing the source ranges its
    frames come from."""
    total = edl.kept_frames
    rate = Fraction(edl.fps)
    count = min(segment_count(total / rate, target_s, min_s, parallel_slots), total)
    cut_points = [start for start, _ in edl.output_ranges()[1:]]
    shots = sorted({f for f in (edl.to_output_frame(s) for s in shot_frames) if f is not None})
    avoid = [
        (round(a * rate), round(b * rate))
        for a, b in edl.to_output_spans([(float(s / rate), float(e / rate)) for s, e in avoid_frames])
    ]
    edges = [0, *snap_boundaries(total, count, cut_points, shots, avoid=avoid), total]
    plans = []
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        ranges = tuple(edl.source_ranges(start, end))
        ident = segment_id(source_fingerprint, start, end - start, {**(settings or {}), "ranges": ranges})
        plans.append(SegmentPlan(index, start, end - start, ident, ranges))
    return plans
