"""Sound analysis on 16 kHz mono samples: level, silences, and the content-type decision."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.edl import Span, merge_spans
from raybatch.analysis.speech import FRAME_S, SpeechFound, frame_levels_db


def silence_threshold_db(integrated_lufs: float | None) -> float:
    """What counts as silence: well under the programme's loudness, never above -35 dBFS and
    never below -60 dBFS (so a quiet recording's pauses still count, and hiss is not speech)."""
    if integrated_lufs is None or not np.isfinite(integrated_lufs):
        return -50.0
    return float(min(-35.0, max(-60.0, integrated_lufs - 20.0)))


def silent_spans(
    levels: np.ndarray, threshold_db: float, min_s: float, frame_s: float = FRAME_S
) -> list[Span]:
    """Stretches of at least ``min_s`` seconds whose level stays under ``threshold_db``."""
    spans, start = [], None
    for index, quiet in enumerate([*(levels < threshold_db).tolist(), False]):
        if quiet and start is None:
            start = index
        elif not quiet and start is not None:
            if (index - start) * frame_s >= min_s:
                spans.append((round(start * frame_s, 3), round(index * frame_s, 3)))
            start = None
    return spans


def sound_profile(levels: np.ndarray, threshold_db: float, speech: list[Span], duration_s: float) -> dict:
    """The evidence the content-type decision rests on."""
    active = levels >= threshold_db if len(levels) else np.zeros(0, dtype=bool)
    speech_s = sum(b - a for a, b in merge_spans(speech))
    # Level steadiness over 1 s windows: music holds a level, speech comes and goes in phrases.
    # Levels are floored at the silence threshold so digital silence (-120 dB) does not count
    # as a 100 dB swing.
    floored = np.maximum(levels, threshold_db)
    per_second = [floored[i : i + 50].mean() for i in range(0, len(floored) - 49, 50)]
    return {
        "speech_ratio": round(speech_s / duration_s, 3) if duration_s > 0 else 0.0,
        "active_ratio": round(float(active.mean()), 3) if len(active) else 0.0,
        "level_steadiness_db": round(float(np.std(per_second)), 2) if len(per_second) > 1 else 0.0,
    }


def detect_content_type(profile: dict) -> tuple[str, str]:
    """educational / music / general from the sound profile, with the reason."""
    speech, active, steadiness = (
        profile["speech_ratio"],
        profile["active_ratio"],
        profile["level_steadiness_db"],
    )
    if speech >= 0.35:
        return "educational", f"speech in {speech:.0%} of the video"
    if active >= 0.85 and speech < 0.35 and steadiness <= 6.0:
        return (
            "music",
            f"sound in {active:.0%} of the video at a steady level ({steadiness:.1f} dB) with little speech",
        )
    return "general", f"speech in {speech:.0%}, sound in {active:.0%} of the video: neither talk nor music"


#: The sound analysis of a video without audio.
NO_AUDIO = {"has_audio": False, "speech": [], "silences": [], "loudness": None, "profile": None}


def describe_sound(
    samples: np.ndarray, sample_rate: int, loudnorm: dict[str, float], found: SpeechFound
) -> dict:
    """The stored sound analysis: speech (and the evidence it rests on), silences under a
    threshold derived from the programme's loudness, the loudness itself and the content-type
    evidence.
    ``loudnorm`` is ffmpeg's first-pass measurement, which the audio pass reuses as long as it
    normalises this very sound."""
    levels = frame_levels_db(samples, sample_rate)
    threshold = silence_threshold_db(loudnorm.get("input_i"))
    return {
        "has_audio": True,
        "speech": [[round(a, 3), round(b, 3)] for a, b in found.spans],
        "speech_evidence": found.evidence(),
        "silences": [list(s) for s in silent_spans(levels, threshold, min_s=0.5)],
        "silence_threshold_db": threshold,
        "loudnorm": loudnorm,
        "loudness": {
            "integrated_lufs": loudnorm.get("input_i"),
            "true_peak_dbtp": loudnorm.get("input_tp"),
            "lra_lu": loudnorm.get("input_lra"),
        },
        "profile": sound_profile(levels, threshold, found.spans, len(samples) / sample_rate),
    }
