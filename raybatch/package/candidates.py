"""Which moments of a video are thumbnail candidates, from the frames its analysis sampled."""

from __future__ import annotations

from raybatch.package import thumbnails as picking
from raybatch.package.evidence import Evidence


def candidates_from_samples(evidence: Evidence, count: int) -> tuple[list[picking.Candidate], dict[str, int]]:
    """Scored candidates from the analysis's sampled frames that pass the rules, and how many
    samples each rule rejected. Where those are too few (no analysis, or a short clip whose
    samples all sit near a transition), the middles of the longest stretches clear of every
    transition fill in, to be judged once extracted."""
    avoid = picking.avoid_zones(evidence.duration_s, evidence.shots_s, evidence.transitions_s)
    boundaries = [0.0, evidence.duration_s, *evidence.shots_s]
    candidates, rejected = _sampled(evidence, avoid, boundaries, count)
    if len(candidates) < count:
        unknown = picking.FrameQuality(0, 0, 0, 0, 0)
        for middle in picking.spread(picking.free_spans(evidence.keep_s, avoid), count - len(candidates)):
            if all(abs(middle - c.time_s) >= 0.25 for c in candidates):
                distance = picking.distance_to(middle, boundaries)
                shot = picking.shot_index(middle, evidence.shots_s)
                candidates.append(picking.Candidate(middle, shot, unknown, distance))
    return candidates, rejected


def _sampled(
    evidence: Evidence, avoid: list, boundaries: list[float], count: int
) -> tuple[list[picking.Candidate], dict[str, int]]:
    table = evidence.samples or {}
    if not table.get("time_s"):
        return [], {}
    names = ("brightness", "contrast", "saturation", "sharpness", "colourfulness")
    qualities = [picking.FrameQuality(*values) for values in zip(*(table[n] for n in names), strict=True)]
    typical = picking.typical_sharpness(qualities)
    verdicts = picking.eligible(
        table["time_s"], qualities, kept=evidence.keep_s, avoid=avoid, typical=typical
    )
    rejected: dict[str, int] = {}
    candidates = []
    for index, reason in verdicts:
        if reason:
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        time_s = table["time_s"][index]
        distance = picking.distance_to(time_s, boundaries)
        candidate = picking.Candidate(
            time_s, picking.shot_index(time_s, evidence.shots_s), qualities[index], distance
        )
        candidate.scores = picking.score(candidate.quality, typical or 0.0, distance, 0.0)
        candidates.append(candidate)
    return picking.choose(candidates, count), rejected
