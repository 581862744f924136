"""Loudness measured from decoded samples (``raybatch.media.bs1770``), and ffmpeg's decode
diagnostics read out of its stderr."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from raybatch.errors import StageFailure
from raybatch.media.bs1770 import LoudnessMeter
from raybatch.media.runner import CommandResult, MediaError, run_command

#: How much of a pipe the meter takes at a time (bytes): about 2.7 s of 48 kHz stereo float.
_READ_BYTES = 1 << 20

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


def require_clean_decode(run: CommandResult, what: str) -> None:
    """Raise when a decode exited badly or logged errors."""
    errors = decode_errors(run.stderr)
    if run.returncode != 0 or errors:
        raise StageFailure(
            f"{what} does not decode cleanly: " + "; ".join(errors[:3] or [f"exit {run.returncode}"]),
            hint="re-run the video; if it fails again the source has damaged frames (try --quality low)",
        )


def audio_stream_hash(path: str, timeout_s: float) -> tuple[str, CommandResult]:
    """A hash of the first audio stream's packets (read, not decoded: cheap for any length).
    Muxing copies packets, so a file whose hash equals another's carries the same sound."""
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
            "-c", "copy", "-f", "streamhash", "-hash", "sha256", "-"]  # fmt: skip
    run = run_command(args, timeout_s=timeout_s, capture_stdout=True, what="audio stream hash")
    return run.stdout.decode().strip().rsplit("=", 1)[-1], run


def read_frames(stream: BinaryIO, channels: int) -> Iterator[np.ndarray]:
    """The interleaved float samples (``f32le``) on ``stream`` as frames x channels arrays, in
    pieces as they arrive."""
    frame_bytes = 4 * channels
    whole = _READ_BYTES - _READ_BYTES % frame_bytes
    while data := stream.read(whole):
        usable = len(data) - len(data) % frame_bytes  # a torn last frame at EOF
        if usable:
            yield np.frombuffer(data[:usable], "<f4").reshape(-1, channels)


class SampleCollector:
    """A pipe consumer that keeps mono float samples (``f32le``) in one array, sized for the
    length expected: an hour at 16 kHz is 230 MB, which pieces joined afterwards would hold
    twice."""

    def __init__(self, expected: int):
        self.data = np.empty(max(1, expected), np.float32)
        self.size = 0

    def __call__(self, stream: BinaryIO) -> None:
        for frames in read_frames(stream, 1):
            end = self.size + len(frames)
            if end > len(self.data):  # longer than its container said
                self.data = np.resize(self.data, max(end, 2 * len(self.data)))
            self.data[self.size : end] = frames[:, 0]
            self.size = end

    def samples(self) -> np.ndarray:
        """What was read, in order."""
        return self.data[: self.size]


class LoudnessReader:
    """A pipe consumer for :func:`~raybatch.media.runner.run_command`: reads the interleaved
    float samples ffmpeg writes (``f32le``) into a BS.1770 meter as they arrive."""

    def __init__(self, rate: int, channels: int):
        self.meter = LoudnessMeter(rate, channels)

    def __call__(self, stream: BinaryIO) -> None:
        for frames in read_frames(stream, self.meter.channels):
            self.meter.feed(frames)

    def loudness(self) -> dict[str, float]:
        """What was read, measured: ``input_i``, ``input_tp``, ``input_lra``, ``input_thresh``."""
        return self.meter.measure().loudness().to_dict()


def measure_loudness(
    args: list[str], rate: int, channels: int, *, timeout_s: float, what: str, check: bool = True
) -> tuple[dict[str, float], CommandResult]:
    """Run ``args`` (an ffmpeg writing ``f32le`` samples at ``rate`` and ``channels`` to stdout)
    and measure what it writes."""
    reader = LoudnessReader(rate, channels)
    run = run_command(args, timeout_s=timeout_s, check=check, stdout_consumer=reader, what=what)
    return reader.loudness(), run
