"""Dynamics before the limiter: a levelling compressor for programme audio whose loudness range
forbids reaching the target by gain and limiting alone (a film trailer: quiet dialogue, loud
action, 20+ LU apart).

Broadcast chains level first and limit last: a slow RMS compressor holds the loud passages down
toward the programme's own loudness, which narrows the loudness range; the true-peak limiter
then only meets transients, which it can take much deeper without audible harm than sustained
programme. Music keeps more of its range (a gentler ratio, a slower release). Near-silent audio
never gets here: it is kept as it is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from raybatch.media.commands import Filter

#: Headroom under the true-peak ceiling that the limiter keeps for AAC's overshoot (dB).
LIMITER_HEADROOM_DB = 1.0
#: The most the limiter may take off programme that was not levelled first (dB).
MAX_LIMITING_DB = 12.0
#: The most it may take off once the compressor has levelled the programme: what is left above
#: the limiter then is transients (the RMS detector already held the sustained passages).
MAX_LIMITING_LEVELLED_DB = 18.0
#: The loudness range (LU) a levelled programme is brought toward, and past which a programme is
#: levelled even when its target is reachable without it.
TARGET_RANGE_LU = {"music": 12.0, "other": 8.0}
RANGE_CEILING_LU = {"music": 20.0, "other": 15.0}
MIN_RATIO = {"music": 1.5, "other": 3.0}
MAX_RATIO = {"music": 2.0, "other": 4.0}
#: Where the compressor starts to act, under the programme's integrated loudness (dB).
THRESHOLD_UNDER_LOUDNESS_DB = 6.0


@dataclass(frozen=True)
class Compression:
    """A levelling compressor's settings, and why it runs."""

    threshold_db: float
    ratio: float
    attack_ms: float
    release_ms: float
    reason: str
    knee: float = 4.0

    def filters(self) -> list[Filter]:
        """The ffmpeg ``acompressor`` that applies it (RMS detection: it levels, not clips)."""
        threshold = min(1.0, max(0.000976563, 10 ** (self.threshold_db / 20)))
        return [
            Filter(
                "acompressor",
                kwargs=(
                    ("threshold", f"{threshold:.6f}"),
                    ("ratio", f"{self.ratio:.2f}"),
                    ("attack", f"{self.attack_ms:g}"),
                    ("release", f"{self.release_ms:g}"),
                    ("knee", f"{self.knee:g}"),
                    ("detection", "rms"),
                ),
            )
        ]

    def to_dict(self) -> dict[str, float | str]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def limiting_needed(measured: dict[str, float], target_lufs: float, ceiling_dbtp: float) -> float:
    """How deep the limiter would have to go to bring ``measured`` audio to the target by gain."""
    return target_lufs - measured["input_i"] + measured["input_tp"] - (ceiling_dbtp - LIMITER_HEADROOM_DB)


def plan_compression(
    measured: dict[str, float], target_lufs: float, ceiling_dbtp: float, *, music: bool
) -> Compression | None:
    """The compressor ``measured`` audio needs before gain and limiting, or ``None`` when gain and
    at most ``MAX_LIMITING_DB`` of limiting reach the target and the range is not extreme."""
    kind = "music" if music else "other"
    depth = limiting_needed(measured, target_lufs, ceiling_dbtp)
    loudness_range = measured.get("input_lra", 0.0)
    loudness_range = loudness_range if math.isfinite(loudness_range) else 0.0
    if depth <= MAX_LIMITING_DB and loudness_range <= RANGE_CEILING_LU[kind]:
        return None
    if depth > MAX_LIMITING_DB:
        reason = f"reaching {target_lufs:g} LUFS by gain would take {depth:.1f} dB of limiting"
    else:
        reason = f"loudness range {loudness_range:.1f} LU is past {RANGE_CEILING_LU[kind]:g} LU"
    ratio = min(MAX_RATIO[kind], max(MIN_RATIO[kind], loudness_range / TARGET_RANGE_LU[kind]))
    return Compression(
        threshold_db=max(-60.0, measured["input_i"] - THRESHOLD_UNDER_LOUDNESS_DB),
        ratio=round(ratio, 2),
        attack_ms=20.0,
        release_ms=500.0 if music else 250.0,
        reason=reason,
    )
