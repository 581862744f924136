"""Reading ffmpeg's loudness and decode diagnostics out of its stderr."""

from __future__ import annotations

import json
import math
import re

from raybatch.media.runner import MediaError

#: Below this integrated loudness the audio carries no programme to normalise: digital silence
#: (under the EBU R128 -70 LUFS gate) or room tone and hum. Speech and music recorded even badly
#: sit well above it; lifting room tone 25+ dB to a streaming target only makes noise loud, and
#: its crest factor means it could only get there by clipping.
NEAR_SILENCE_LUFS = -40.0

_LEVEL = re.compile(r"\[(error|fatal|panic)\]")


def parse_loudnorm_json(stderr: str) -> dict[str, float]:
    """The last loudnorm JSON block in ``stderr`` as floats (``-inf`` kept as ``-inf``)."""
    end = stderr.rfind("}")
    start = stderr.rfind("{", 0, end)
    if start < 0 or end < 0:
        raise MediaError(
            "ffmpeg printed no loudness measurement",
            hint="the audio stream could not be decoded; check the file's audio",
            stderr_tail=stderr[-2000:],
        )
    raw = json.loads(stderr[start : end + 1])
    values: dict[str, float] = {}
    for key, value in raw.items():
        if key == "normalization_type":
            continue
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            values[key] = -math.inf
    return values


def is_silent(measured: dict[str, float]) -> bool:
    """Whether the measured audio is (near) silence: nothing a loudness target applies to."""
    loudness = measured.get("input_i", -math.inf)
    return not math.isfinite(loudness) or loudness < NEAR_SILENCE_LUFS


def decode_errors(stderr: str) -> list[str]:
    """Lines ffmpeg logged at error level or worse (``-loglevel repeat+level``)."""
    return [line.strip() for line in stderr.splitlines() if _LEVEL.search(line)]
