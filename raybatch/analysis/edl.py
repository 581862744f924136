"""The edit decision list: which source frames to keep, and why the rest goes.

Ranges are half-open frame ranges ``[start, end)`` on the constant-rate timeline that every
segment encode uses (frame ``i`` starts at ``i / fps`` seconds), so cuts are frame-exact in
both the picture and the sound.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction

Range = tuple[int, int]
Span = tuple[float, float]

#: Dead air (educational) and silence (general) shorter than this is never cut, by mode (s).
DEAD_AIR_BY_MODE = {"fast": 0.5, "balanced": 0.75, "high_quality": 1.0}
LONG_SILENCE_BY_MODE = {"fast": 3.0, "balanced": 4.0, "high_quality": 5.0}
#: Air kept on each side of clean speech, by mode (s); it grows where speech is weak
#: (:func:`speech_margin_s`). General content keeps more.
SPEECH_MARGIN_BY_MODE = {"fast": 0.13, "balanced": 0.2, "high_quality": 0.25}
GENERAL_MARGIN_S = 0.5


@dataclass(frozen=True)
class EditPolicy:
    """How hard to cut: what counts as removable and how much air to leave around speech."""

    content_type: str
    cut: bool
    min_gap_s: float = 0.75  # shortest removable stretch (before margins)
    margin_s: float = 0.2  # kept on each side of speech
    min_cut_s: float = 0.2  # a cut shorter than this after margins is not worth a seam
    min_kept_fraction: float = 0.25  # never keep less than this of the video
    min_speech_s: float = 1.0  # less detected speech than this: nothing to anchor cuts to


def policy_for(
    content_type: str, mode: str, *, margin_s: float | None = None, speech_over_floor_db: float | None = None
) -> EditPolicy:
    """The content type's policy at the mode's strength. The margin is ``margin_s`` when set;
    otherwise the mode's, grown where speech stands little over the noise floor."""
    if content_type == "educational":
        gaps, base = DEAD_AIR_BY_MODE, SPEECH_MARGIN_BY_MODE[mode]
    elif content_type == "general":
        gaps, base = LONG_SILENCE_BY_MODE, GENERAL_MARGIN_S
    else:
        return EditPolicy(content_type, False)
    margin = speech_margin_s(base, speech_over_floor_db) if margin_s is None else margin_s
    return EditPolicy(content_type, True, min_gap_s=gaps[mode], margin_s=margin)


def speech_margin_s(base_s: float, speech_over_floor_db: float | None) -> float:
    """Air kept around speech: ``base_s`` on clean speech (30 dB or more over the noise floor),
    growing to ``base_s + 0.15`` at 10 dB and under, where its ends are least certain."""
    if speech_over_floor_db is None:
        return base_s
    weakness = min(1.0, max(0.0, (30.0 - speech_over_floor_db) / 20.0))
    return round(base_s + 0.15 * weakness, 3)


@dataclass
class Edl:
    """Keep-ranges on the source timeline, the cuts between them and the reasons."""

    fps: str
    source_frames: int
    keep: list[Range]
    cuts: list[dict] = field(default_factory=list)
    policy: dict = field(default_factory=dict)
    decision: str = ""

    @property
    def kept_frames(self) -> int:
        return sum(end - start for start, end in self.keep)

    def kept_seconds(self) -> float:
        return float(self.kept_frames / Fraction(self.fps))

    def kept_spans_s(self) -> list[Span]:
        """The kept ranges on the source timeline, in seconds."""
        rate = Fraction(self.fps)
        return [(float(start / rate), float(end / rate)) for start, end in self.keep]

    def output_ranges(self) -> list[Range]:
        """Where each kept range lands on the edited timeline."""
        ranges, position = [], 0
        for start, end in self.keep:
            ranges.append((position, position + end - start))
            position += end - start
        return ranges

    def to_output_frame(self, source_frame: int) -> int | None:
        """The edited-timeline frame of a kept source frame (``None`` when it was cut)."""
        for (start, end), (out_start, _) in zip(self.keep, self.output_ranges(), strict=True):
            if start <= source_frame < end:
                return out_start + source_frame - start
        return None

    def to_output_times(self, source_times_s: list[float]) -> list[float]:
        """Source times on the edited timeline (seconds); times the edit removed are dropped."""
        rate = Fraction(self.fps)
        # Times arrive rounded to the millisecond: a twentieth of a frame of slack keeps a frame's
        # own start time on that frame.
        frames = (self.to_output_frame(math.floor(t * rate + 0.05)) for t in source_times_s)
        return [float(f / rate) for f in frames if f is not None]

    def to_output_spans(self, source_spans_s: list[Span]) -> list[Span]:
        """Source spans on the edited timeline (seconds): the parts of each the edit kept."""
        rate = Fraction(self.fps)
        found = []
        for start_s, end_s in source_spans_s:
            first, last = math.floor(start_s * rate + 0.05), math.ceil(end_s * rate - 0.05)
            for (start, end), (out_start, _) in zip(self.keep, self.output_ranges(), strict=True):
                lo, hi = max(first, start), min(last, end)
                if lo < hi:
                    shift = out_start - start
                    found.append((float((lo + shift) / rate), float((hi + shift) / rate)))
        return found

    def cut_times(self) -> list[float]:
        """Where the edit joins two kept ranges, on the edited timeline (seconds)."""
        rate = Fraction(self.fps)
        return [float(start / rate) for start, _ in self.output_ranges()[1:]]

    def source_ranges(self, out_start: int, out_end: int) -> list[Range]:
        """The source ranges that make up edited frames ``[out_start, out_end)``."""
        pieces = []
        for (start, _end), (o_start, o_end) in zip(self.keep, self.output_ranges(), strict=True):
            lo, hi = max(out_start, o_start), min(out_end, o_end)
            if lo < hi:
                pieces.append((start + lo - o_start, start + hi - o_start))
        return pieces

    def to_dict(self) -> dict:
        rate = Fraction(self.fps)

        def secs(frame: int) -> float:
            return round(float(frame / rate), 6)

        return {
            "fps": self.fps,
            "source_frames": self.source_frames,
            "source_duration_s": secs(self.source_frames),
            "kept_frames": self.kept_frames,
            "kept_duration_s": secs(self.kept_frames),
            "removed_duration_s": secs(self.source_frames - self.kept_frames),
            "policy": self.policy,
            "decision": self.decision,
            "keep": [
                {
                    "source": {"start_frame": s, "end_frame": e, "start_s": secs(s), "end_s": secs(e)},
                    "output": {"start_frame": os_, "end_frame": oe, "start_s": secs(os_), "end_s": secs(oe)},
                }
                for (s, e), (os_, oe) in zip(self.keep, self.output_ranges(), strict=True)
            ],
            "cuts": self.cuts,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Edl:
        return cls(
            fps=data["fps"],
            source_frames=data["source_frames"],
            keep=[(k["source"]["start_frame"], k["source"]["end_frame"]) for k in data["keep"]],
            cuts=data.get("cuts", []),
            policy=data.get("policy", {}),
            decision=data.get("decision", ""),
        )


def merge_spans(spans: list[Span], join_gap_s: float = 0.0) -> list[Span]:
    """Sorted, overlapping (or closer than ``join_gap_s``) spans merged."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start - merged[-1][1] <= join_gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def complement(spans: list[Span], duration_s: float) -> list[Span]:
    """The parts of ``[0, duration_s)`` not covered by ``spans``."""
    gaps, position = [], 0.0
    for start, end in merge_spans(spans):
        if start > position:
            gaps.append((position, min(start, duration_s)))
        position = max(position, end)
    if position < duration_s:
        gaps.append((position, duration_s))
    return [(a, b) for a, b in gaps if b > a]


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """Spans covered by both lists."""
    out = []
    for a0, a1 in merge_spans(a):
        for b0, b1 in merge_spans(b):
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return out


def removable_spans(
    duration_s: float, speech: list[Span], silences: list[Span], policy: EditPolicy
) -> list[tuple[Span, str, dict]]:
    """Stretches the policy may remove, already shrunk by the speech margin, with a reason and
    the evidence the cut rests on (where speech ends and resumes, the air left).

    Educational: every gap between speech (dead air). General: level-silence that holds no
    speech. Neither ever touches detected speech: margins are taken from the gap's sides.
    """
    if policy.content_type == "educational":
        gaps = complement(speech, duration_s)
        reason = "dead air"
    else:
        gaps = intersect(silences, complement(speech, duration_s))
        reason = "long silence"
    spans = []
    for start, end in gaps:
        if end - start < policy.min_gap_s:
            continue
        # No margin is needed against the very start or end of the video.
        cut_start = start if start <= 0 else start + policy.margin_s
        cut_end = end if end >= duration_s else end - policy.margin_s
        if cut_end - cut_start >= policy.min_cut_s - 1e-9:
            evidence = {
                "speech_ends_s": round(start, 3) if start > 0 else None,
                "speech_resumes_s": round(end, 3) if end < duration_s else None,
                "margin_s": policy.margin_s,
            }
            spans.append(((cut_start, cut_end), f"{reason} of {end - start:.2f} s", evidence))
    return spans


def frame_cuts(
    duration_s: float,
    rate: Fraction,
    source_frames: int,
    spans: list[tuple[Span, str, dict]],
    policy: EditPolicy,
) -> list[dict]:
    """Removable spans as frame-exact cuts, each with its reason; cuts too short to be worth a
    seam are dropped."""
    cuts = []
    for (start_s, end_s), reason, evidence in spans:
        # Round inwards: a cut never reaches into the margin it was given.
        start = min(source_frames, math.ceil(start_s * rate - 1e-9))
        end = source_frames if end_s >= duration_s else min(source_frames, math.floor(end_s * rate + 1e-9))
        if end - start < max(1, math.ceil(policy.min_cut_s * rate)):
            continue
        cuts.append(
            {
                "start_frame": start,
                "end_frame": end,
                "start_s": round(float(start / rate), 6),
                "end_s": round(float(end / rate), 6),
                "reason": reason,
                "evidence": evidence,
            }
        )
    return cuts


def complement_frames(removed: list[Range], source_frames: int) -> list[Range]:
    """The frame ranges left between sorted removed ranges."""
    keep, position = [], 0
    for start, end in removed:
        if start > position:
            keep.append((position, start))
        position = max(position, end)
    if position < source_frames:
        keep.append((position, source_frames))
    return keep


def build_edl(
    duration_s: float,
    fps: str,
    source_frames: int,
    speech: list[Span],
    silences: list[Span],
    policy: EditPolicy,
) -> Edl:
    """Decide the keep-ranges for one video and explain the decision."""
    rate = Fraction(fps)
    everything = Edl(fps=fps, source_frames=source_frames, keep=[(0, source_frames)], policy=asdict(policy))
    if not policy.cut:
        everything.decision = f"{policy.content_type}: nothing is cut"
        return everything
    speech_s = sum(b - a for a, b in merge_spans(speech))
    if policy.content_type == "educational" and speech_s < policy.min_speech_s:
        everything.decision = (
            f"educational, but only {speech_s:.1f} s of speech was detected: with no speech to keep, "
            "dead-air cutting would remove the whole video, so nothing is cut"
        )
        return everything
    cuts = frame_cuts(
        duration_s, rate, source_frames, removable_spans(duration_s, speech, silences, policy), policy
    )
    keep = complement_frames([(c["start_frame"], c["end_frame"]) for c in cuts], source_frames)
    kept = sum(e - s for s, e in keep)
    if not keep or kept < policy.min_kept_fraction * source_frames:
        everything.decision = (
            f"{policy.content_type}: the cuts would keep only "
            f"{kept / max(1, source_frames):.0%} of the video (minimum {policy.min_kept_fraction:.0%}); "
            "that is not an edit but a loss, so nothing is cut"
        )
        return everything
    edl = Edl(fps=fps, source_frames=source_frames, keep=keep, cuts=cuts, policy=asdict(policy))
    edl.decision = (
        f"{policy.content_type}: {len(cuts)} cut(s) remove {float((source_frames - kept) / rate):.2f} s "
        f"of {float(source_frames / rate):.2f} s"
        if cuts
        else f"{policy.content_type}: nothing long enough to cut"
    )
    return edl
