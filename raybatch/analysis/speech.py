"""Where the speech is: the spans the edit must never cut into.

Silero VAD scores quiet speech lower than the same speech loud, so a distant or soft voice fell
under its default threshold of 0.5 and its words were cut as dead air. Three things make the
decision robust to level and room:

- the VAD hears the video brought to a standard level first (its loud frames at -20 dBFS), so
  a recording's own level does not decide what counts as speech;
- its threshold is 0.35, with Silero's own hysteresis (speech ends only under 0.2): a phrase
  stays speech through its quiet ends;
- a second, independent signal, the level in the voice band (300-3400 Hz) against the video's
  own noise floor, extends every VAD span over voiced stretches next to it (a trailing word the
  VAD scored low).

Where the evidence is weak (little level above the noise floor), the edit leaves more air around
speech (:func:`raybatch.analysis.edl.speech_margin_s`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from raybatch.analysis.edl import Span, merge_spans

FRAME_S = 0.02
#: The level the VAD hears the video at: its loud frames (95th percentile) here.
VAD_LEVEL_DBFS = -20.0
MAX_VAD_GAIN_DB = 40.0
#: Silero's onset threshold; it ends speech 0.15 lower.
VAD_THRESHOLD = 0.35
VOICE_BAND_HZ = (300.0, 3400.0)
#: A voiced stretch stands this far over the noise floor (dB) for at least ``VOICED_MIN_S``,
#: and no further than ``VOICED_UNDER_LOUD_DB`` under the video's loud frames (on a clean
#: recording the floor is digital silence, and a breath is not a word).
VOICED_OVER_FLOOR_DB = 10.0
VOICED_UNDER_LOUD_DB = 30.0
VOICED_MIN_S = 0.1
VOICED_JOIN_S = 0.1
#: How far from a VAD span a voiced stretch may start and still extend it (s).
VOICED_REACH_S = 0.3
#: A voiced stretch far from any VAD span is kept as speech when it lasts this long and stands
#: no more than ``ALONE_UNDER_SPEECH_DB`` under the speech's own level: a short word the VAD
#: missed (it scored a reverberant "okay" after a long pause at 0.1). A cough is kept too.
ALONE_MIN_S = 0.25
ALONE_UNDER_SPEECH_DB = 12.0


class SpeechDetector(Protocol):
    def speech(self, samples: np.ndarray, *, threshold: float = ...) -> list[Span]: ...


@dataclass(frozen=True)
class SpeechFound:
    """Speech spans, and the evidence they rest on."""

    spans: list[Span]
    vad_spans: list[Span]
    vad_gain_db: float
    noise_floor_db: float
    snr_db: float | None

    def evidence(self) -> dict[str, Any]:
        vad_s = sum(b - a for a, b in self.vad_spans)
        return {
            "vad_threshold": VAD_THRESHOLD,
            "vad_gain_db": round(self.vad_gain_db, 1),
            "noise_floor_db": round(self.noise_floor_db, 1),
            "speech_over_floor_db": None if self.snr_db is None else round(self.snr_db, 1),
            "vad_s": round(vad_s, 3),
            "voice_band_added_s": round(float(sum(b - a for a, b in self.spans) - vad_s), 3),
        }


#: Frames measured at a time: the level functions hold a block of them as float64, never a
#: whole programme (an hour at 16 kHz would be 460 MB, and its spectrum twice that).
FRAMES_PER_BLOCK = 1 << 14


def frame_blocks(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """The whole frames of ``size`` samples, as float64 rows, a block of frames at a time."""
    count = len(samples) // size
    for first in range(0, count, FRAMES_PER_BLOCK):
        last = min(count, first + FRAMES_PER_BLOCK)
        yield samples[first * size : last * size].astype(np.float64).reshape(last - first, size)


def frame_levels_db(samples: np.ndarray, sample_rate: int, frame_s: float = FRAME_S) -> np.ndarray:
    """RMS level of each ``frame_s`` frame (dBFS; -120 for digital silence)."""
    size = max(1, round(sample_rate * frame_s))
    rms = [np.sqrt(np.mean(block**2, axis=1)) for block in frame_blocks(samples, size)]
    if not rms:
        return np.zeros(0, dtype=np.float32)
    return (20 * np.log10(np.maximum(np.concatenate(rms), 1e-6))).astype(np.float32)


def levelled_for_vad(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """The samples at the level the VAD hears them (see the module's note), and the gain (dB)."""
    levels = frame_levels_db(samples, sample_rate)
    if len(levels) == 0:
        return samples, 0.0
    gain_db = float(np.clip(VAD_LEVEL_DBFS - np.percentile(levels, 95), -20.0, MAX_VAD_GAIN_DB))
    scaled = np.clip(samples * np.float32(10 ** (gain_db / 20)), -1.0, 1.0)
    return scaled.astype(np.float32, copy=False), gain_db


def voice_band_levels_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Each 20 ms frame's level in the voice band (dB, same scale as :func:`frame_levels_db`)."""
    size = round(sample_rate * FRAME_S)
    freqs = np.fft.rfftfreq(size, 1 / sample_rate)
    band = (freqs >= VOICE_BAND_HZ[0]) & (freqs <= VOICE_BAND_HZ[1])
    window = np.hanning(size)
    levels = []
    for block in frame_blocks(samples, size):
        power = np.abs(np.fft.rfft(block * window, axis=1)) ** 2
        # Parseval with the Hann window's power (3/8): the band's share of the frame's mean square.
        mean_square = 2 * power[:, band].sum(axis=1) / (size**2 * 0.375)
        levels.append(10 * np.log10(np.maximum(mean_square, 1e-12)))
    return np.concatenate(levels) if levels else np.zeros(0)


def noise_floor_db(band_levels: np.ndarray) -> float:
    """The video's own noise floor in the voice band: its quietest tenth."""
    return float(np.percentile(band_levels, 10)) if len(band_levels) else -120.0


def voiced_stretches(band_levels: np.ndarray, floor_db: float) -> list[Span]:
    """Stretches of at least ``VOICED_MIN_S`` loud enough to be voice (see the constants)."""
    if len(band_levels) == 0:
        return []
    loud = float(np.percentile(band_levels, 95))
    threshold = max(floor_db + VOICED_OVER_FLOOR_DB, loud - VOICED_UNDER_LOUD_DB)
    voiced = np.concatenate([[False], band_levels > threshold, [False]])
    edges = np.flatnonzero(np.diff(voiced.astype(np.int8)))
    runs = [(float(a * FRAME_S), float(b * FRAME_S)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    # A consonant or a reverberant dip splits a word into runs: join them first.
    joined = merge_spans(runs, join_gap_s=VOICED_JOIN_S)
    return [(a, b) for a, b in joined if b - a >= VOICED_MIN_S - 1e-9]


def extend_over_voiced(vad: list[Span], voiced: list[Span], reach_s: float = VOICED_REACH_S) -> list[Span]:
    """VAD spans grown over the voiced stretches that touch them (or start within ``reach_s``),
    and over the stretches touching those in turn: a trailing word the VAD scored low stays
    with its phrase. Voiced stretches far from any speech (a door, a cough in a pause) are left
    alone. One sweep over both lists, in time order."""
    tagged = sorted([(a, b, True) for a, b in vad] + [(a, b, False) for a, b in voiced])
    spans: list[Span] = []
    start = end = None
    anchored = False
    for a, b, is_vad in tagged:
        if start is not None and a <= end + reach_s:
            end, anchored = max(end, b), anchored or is_vad
            continue
        if start is not None and anchored:
            spans.append((start, end))
        start, end, anchored = a, b, is_vad
    if start is not None and anchored:
        spans.append((start, end))
    return spans


def loud_alone(
    voiced: list[Span], spans: list[Span], band_levels: np.ndarray, speech_level_db: float
) -> list[Span]:
    """Voiced stretches outside ``spans`` long and loud enough to be words (see the constants)."""
    found = []
    for a, b in voiced:
        if b - a < ALONE_MIN_S or any(start <= a and b <= end for start, end in spans):
            continue
        level = float(np.median(band_levels[int(a / FRAME_S) : int(b / FRAME_S)]))
        if level >= speech_level_db - ALONE_UNDER_SPEECH_DB:
            found.append((a, b))
    return found


def speech_level_db(band_levels: np.ndarray, spans: list[Span]) -> float | None:
    """The median voice-band level inside ``spans`` (dB)."""
    inside = np.zeros(len(band_levels), dtype=bool)
    for a, b in spans:
        inside[int(a / FRAME_S) : int(np.ceil(b / FRAME_S))] = True
    return float(np.median(band_levels[inside])) if inside.any() else None


def speech_over_floor_db(band_levels: np.ndarray, spans: list[Span], floor_db: float) -> float | None:
    """How far speech stands over the noise floor (median voice-band level in speech, dB)."""
    level = speech_level_db(band_levels, spans)
    return None if level is None else level - floor_db


def detect_speech(model: SpeechDetector, samples: np.ndarray, sample_rate: int) -> SpeechFound:
    """Speech spans (seconds) in mono float samples, robust to level and room."""
    levelled, gain_db = levelled_for_vad(samples, sample_rate)
    vad = [(round(a, 3), round(b, 3)) for a, b in model.speech(levelled, threshold=VAD_THRESHOLD)]
    band = voice_band_levels_db(samples, sample_rate)
    floor = noise_floor_db(band)
    voiced = voiced_stretches(band, floor)
    spans = extend_over_voiced(vad, voiced) if vad else []
    level = speech_level_db(band, spans)
    if level is not None:
        spans = merge_spans([*spans, *loud_alone(voiced, spans, band, level)])
    spans = [(round(float(a), 3), round(float(b), 3)) for a, b in spans]
    return SpeechFound(spans, vad, gain_db, floor, speech_over_floor_db(band, spans, floor))
