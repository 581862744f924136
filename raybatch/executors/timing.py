"""How long a batch will take, for ``--dry-run``: from what earlier runs into the same output
achieved when there are any, else from a CPU model.

The CPU model was fitted on this project's 2-core machine to two runs it brackets within ±45 %:
`../shared/media` (29 real videos, 240 s, 252 s wall) and one 70-s 720p test pattern (121 s
wall). A video costs a fixed ~7 CPU-seconds (probe, set-up, packaging, verification), plus per
second of input ~0.6 CPU-s of analysis (mostly the shot model, whatever the resolution) and an
encode rate that grows with the output's pixels and the mode's x264 preset. The cluster's CPUs
divide the total at the ~75 % use a batch reaches, after Ray's start. An earlier run's pace
replaces the model once there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: CPU-seconds every video costs whatever its length.
FIXED_CPU_S = 7.0
#: CPU-seconds of analysis per second of input (picture signals, the shot model, speech).
ANALYSIS_CPU_S_PER_SECOND = 0.6
#: CPU-seconds of encoding per second of input at 1280x720, by mode (x264 veryfast / medium / slow).
ENCODE_CPU_S_PER_SECOND_720P = {"fast": 0.2, "balanced": 0.5, "high_quality": 1.3}
PIXELS_720P = 1280 * 720
#: The share of the CPUs a batch keeps busy (waits on models, assembly and uploads included).
CPU_USE = 0.75
#: Starting the executor (an embedded Ray and its actors) and writing the reports.
START_S = 12.0


@dataclass(frozen=True)
class VideoLoad:
    """What one video asks of the CPUs: its length and its output size."""

    duration_s: float
    output_pixels: int


def video_cpu_s(load: VideoLoad, mode: str, analysis: bool = True) -> float:
    """The CPU-seconds the model expects ``load`` to take in ``mode`` (with or without analysis)."""
    encode = ENCODE_CPU_S_PER_SECOND_720P.get(mode, ENCODE_CPU_S_PER_SECOND_720P["balanced"])
    per_second = encode * max(load.output_pixels, 1) / PIXELS_720P
    per_second += ANALYSIS_CPU_S_PER_SECOND if analysis else 0.0
    return FIXED_CPU_S + load.duration_s * per_second


def modelled_wall_s(loads: list[VideoLoad], mode: str, cpus: float, analysis: bool = True) -> float:
    """The batch's wall time from the CPU model on ``cpus`` CPUs."""
    total = sum(video_cpu_s(load, mode, analysis) for load in loads)
    return START_S + total / (max(cpus, 1.0) * CPU_USE)


def calibrated_wall_s(input_seconds: float, videos: int, earlier: dict[str, Any]) -> float | None:
    """The batch's wall time at the pace of an earlier run (its ``processing_metrics.json``):
    its seconds of input per wall second after the start; ``None`` when it processed nothing to
    learn from, or the file does not hold positive numbers (it lies in the output, where anyone
    may have edited it)."""
    figures = [earlier.get(k) for k in ("wall_time_s", "video_seconds_processed", "videos_done")]
    if not all(isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0 for f in figures):
        return None
    wall, seconds, _ = figures
    fixed = min(START_S, wall)
    pace = seconds / max(wall - fixed, 1e-6)
    return fixed + input_seconds / pace if videos else fixed
