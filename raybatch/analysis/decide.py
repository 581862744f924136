"""The decisions made for one analysed video: its content type, the edit and the enhancement.

Pure functions of what the picture and sound analyses found and of the run's settings; the
``decide`` stage writes their results (``analysis.json``, ``edl.json``) and hands them on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from raybatch.analysis.edl import Edl, build_edl, merge_spans, policy_for
from raybatch.analysis.enhance import consistent_enhancement, derive_enhancement
from raybatch.analysis.segments import total_frames
from raybatch.analysis.sound import detect_content_type
from raybatch.config.model import ProcessingSettings
from raybatch.config.presets import Preset, resolve_preset

#: How strongly the picture is corrected, by mode.
STRENGTH_BY_MODE = {"fast": 0.6, "balanced": 1.0, "high_quality": 1.2}


@dataclass(frozen=True)
class EditFacts:
    """The small per-video facts every later row of the video carries."""

    content_type: str
    kept_duration_s: float
    loudness_target_lufs: float
    enhancement: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EditFacts:
        return cls(**data)


@dataclass(frozen=True)
class Decision:
    """Content type (and why), the EDL, the enhancement, and where segment seams may fall."""

    content_type: str
    content_type_reason: str
    loudness_target_lufs: float
    edl: Edl
    enhancement: dict[str, Any] | None
    #: Source frames where the picture cuts hard (segment seams may fall there).
    seam_frames: tuple[int, ...] = ()
    #: Source frame ranges inside fades through black (segment seams keep out of them).
    seam_avoid: tuple[tuple[int, int], ...] = ()

    def facts(self) -> EditFacts:
        return EditFacts(
            content_type=self.content_type,
            kept_duration_s=self.edl.kept_seconds(),
            loudness_target_lufs=self.loudness_target_lufs,
            enhancement=self.enhancement,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "edl": self.edl.to_dict(),
            "seam_frames": list(self.seam_frames),
            "seam_avoid": [list(r) for r in self.seam_avoid],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            **{
                **data,
                "edl": Edl.from_dict(data["edl"]),
                "seam_frames": tuple(data["seam_frames"]),
                "seam_avoid": tuple(tuple(r) for r in data.get("seam_avoid", ())),
            }
        )


def keep_everything(fps: str, duration_s: float, why: str) -> Edl:
    """An EDL that cuts nothing."""
    frames = total_frames(duration_s, fps)
    return Edl(fps=fps, source_frames=frames, keep=[(0, frames)], decision=why)


def decide_content_type(configured: str, sound: dict[str, Any] | None, auto_detect: bool) -> tuple[str, str]:
    """The configured type, or (``auto_detect``) the one the sound profile points to."""
    if not auto_detect:
        return configured, "set in the configuration"
    if sound and sound.get("profile"):
        return detect_content_type(sound["profile"])
    return "general", "no audio to tell speech from music"


def decide(
    *,
    fps: str,
    duration_s: float,
    picture: dict[str, Any] | None,
    sound: dict[str, Any] | None,
    preset: Preset,
    processing: ProcessingSettings,
) -> Decision:
    """Content type, EDL and enhancement for one video (``processing``: whether to analyse, to
    detect the type, the speech margin, consistent settings). Without analysis nothing is cut
    and the picture is treated by the preset alone."""
    analysis, auto_detect_type = processing.analysis, processing.auto_detect_type
    if not analysis:
        edl = keep_everything(fps, duration_s, "analysis disabled: nothing is cut")
        return Decision(
            preset.content_type, "set in the configuration", preset.loudness_target_lufs, edl, None
        )
    picture, sound = picture or {}, sound or {}
    content_type, reason = decide_content_type(preset.content_type, sound, auto_detect_type)
    typed = resolve_preset(preset.quality, preset.mode, content_type)
    evidence = sound.get("speech_evidence") or {}
    policy = policy_for(
        content_type,
        preset.mode,
        margin_s=processing.speech_margin_s,
        speech_over_floor_db=evidence.get("speech_over_floor_db"),
    )
    speech = [tuple(s) for s in sound.get("speech", [])]
    silences = [tuple(s) for s in sound.get("silences", [])]
    edl = build_edl(duration_s, fps, total_frames(duration_s, fps), speech, silences, policy)
    if processing.consistent_settings:
        enhancement = consistent_enhancement(preset, content_type)
    else:
        enhancement = derive_enhancement(
            picture.get("statistics") or {}, content_type, preset_strength=STRENGTH_BY_MODE[preset.mode]
        )
    return Decision(
        content_type=content_type,
        content_type_reason=reason,
        # An explicit target in the configuration wins; otherwise the (detected) type's own.
        loudness_target_lufs=preset.loudness_target_lufs
        if content_type == preset.content_type
        else typed.loudness_target_lufs,
        edl=edl,
        enhancement=enhancement.to_dict(),
        seam_frames=tuple(picture.get("content_cuts", [])),
        seam_avoid=span_frames(
            [*picture.get("fades", []), *picture.get("wipes", []), *picture.get("dissolves", [])], fps
        ),
    )


def span_frames(spans_s: list[list[float]], fps: str) -> tuple[tuple[int, int], ...]:
    """Spans (seconds) as source frame ranges, widened to whole frames, overlaps merged."""
    rate = Fraction(fps)
    frames = merge_spans([(math.floor(a * rate), math.ceil(b * rate)) for a, b in spans_s])
    return tuple((int(a), int(b)) for a, b in frames)


def analysis_document(
    *,
    source_uri: str,
    fingerprint: str,
    duration_s: float,
    fps: str,
    picture: dict[str, Any] | None,
    sound: dict[str, Any] | None,
    decision: Decision,
) -> dict[str, Any]:
    """``analysis.json`` as the decision leaves it (the shots are added once the model ran)."""
    picture, sound = picture or {}, sound or {}
    edl = decision.edl.to_dict()
    return {
        "source": source_uri,
        "fingerprint": fingerprint or None,
        "duration_s": duration_s,
        "fps": fps,
        "content_type": {"value": decision.content_type, "reason": decision.content_type_reason},
        "shots": None,
        "speech": sound.get("speech", []),
        "silences": sound.get("silences", []),
        "loudness": sound.get("loudness"),
        "sound_profile": sound.get("profile"),
        "picture": {
            k: picture.get(k) for k in ("statistics", "black", "frozen", "fades", "wipes", "dissolves")
        },
        "enhancement": decision.enhancement,
        "edit": {k: edl[k] for k in ("decision", "kept_duration_s", "removed_duration_s")},
        "models": {
            part: {
                "device": found.get("device"),
                "timings_s": found.get("timings_s"),
                "cached": bool(found.get("cached")),
            }
            for part, found in (("picture", picture), ("sound", sound))
        },
    }


def with_shots(analysis: dict[str, Any], shots: dict[str, Any]) -> dict[str, Any]:
    """``analysis.json`` completed with the shot model's result (it runs beside the encode)."""
    models = dict(analysis.get("models") or {})
    models["shots"] = {
        "device": shots.get("device"),
        "timings_s": shots.get("timings_s"),
        "cached": bool(shots.get("cached")),
        "windows": shots.get("model_windows"),
        "model_only_boundaries": shots.get("shots_model_only"),
    }
    return {
        **analysis,
        "models": models,
        "shots": shots.get("shots", []),
        "transitions": shots.get("transitions", []),
    }
