"""What the analysis left about one video, on the source timeline: the thumbnail rules and the
chapter planner read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from raybatch.analysis.edl import Edl, Span, merge_spans


@dataclass
class Evidence:
    """Shots, transitions (the shot model's, and the blends the picture scan found), silences,
    speech and sampled frames of one video, and its EDL."""

    duration_s: float  # source
    content_type: str
    edl: Edl
    shots_s: list[float] = field(default_factory=list)
    transitions_s: list[Span] = field(default_factory=list)
    silences_s: list[Span] = field(default_factory=list)
    speech_s: float | None = None
    samples: dict[str, list[float]] | None = None
    loudness_lufs: float | None = None

    @property
    def keep_s(self) -> list[Span]:
        """The EDL's keep-ranges in source seconds."""
        rate = Fraction(self.edl.fps)
        return [(float(a / rate), float(b / rate)) for a, b in self.edl.keep]

    @property
    def removed_s(self) -> float:
        return (self.edl.source_frames - self.edl.kept_frames) / float(Fraction(self.edl.fps))

    @classmethod
    def from_documents(
        cls,
        *,
        analysis: dict[str, Any] | None,
        edl: dict[str, Any],
        samples: dict[str, list[float]] | None,
        shots: dict[str, Any] | None,
        duration_s: float | None,
        content_type: str,
        loudness_lufs: float | None,
    ) -> Evidence:
        """From the video's ``analysis.json`` and ``edl.json``, its sampled frame statistics and
        the shot model's result (any may be missing: no analysis, no shots)."""
        analysis, shots = analysis or {}, shots or {}
        parsed = Edl.from_dict(edl)
        speech = analysis.get("speech") or []
        blends = (analysis.get("picture") or {}).get("dissolves") or []
        return cls(
            duration_s=duration_s or parsed.source_frames / float(Fraction(parsed.fps)),
            content_type=(analysis.get("content_type") or {}).get("value") or content_type,
            edl=parsed,
            shots_s=[s["time_s"] for s in shots.get("shots", [])],
            # The picture's blends (a title fading in or out, too) are no place for a thumbnail.
            transitions_s=merge_spans([tuple(t) for t in shots.get("transitions", []) + blends]),
            silences_s=[tuple(s) for s in analysis.get("silences") or []],
            speech_s=sum(b - a for a, b in speech) if analysis else None,
            samples=samples,
            loudness_lufs=loudness_lufs,
        )
