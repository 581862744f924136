"""Verification: an output counts only when it decodes cleanly, lasts what the edit says, keeps
its sound in sync and is on its loudness target.

Every segment's frames are decoded by the encoder that made it (in parallel); the sound is
decoded and measured where it is made (the audio pass's last check) and the assembled file
proven to carry those very packets (a stream hash), and its video is checked structurally
(frames in the index = packets in the file), since concatenation re-encodes nothing. So what
runs after the last segment is encoded does not grow with the video's length.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from raybatch.config.presets import Preset
from raybatch.errors import StageFailure
from raybatch.media.audio import LOUDNESS_GATE_LU
from raybatch.media.commands import delivered_channels, loudness_measure_args, output_dimensions
from raybatch.media.loudness import audio_stream_hash, measure_loudness, require_clean_decode
from raybatch.media.probe import MediaInfo, count_video_packets
from raybatch.media.runner import CommandResult, run_command


def check_durations(
    expected_s: float, video_s: float | None, audio_s: float | None, frame_s: float
) -> list[str]:
    """Problems with an output's durations: the video must match the plan within one frame,
    and the audio (when present) must match the video within one frame."""
    problems = []
    if video_s is None:
        problems.append("the output states no video duration")
    elif abs(video_s - expected_s) > frame_s + 1e-6:
        problems.append(f"video lasts {video_s:.3f} s, expected {expected_s:.3f} s (±1 frame)")
    if audio_s is not None and video_s is not None and abs(audio_s - video_s) > frame_s + 1e-6:
        problems.append(f"audio lasts {audio_s:.3f} s but video {video_s:.3f} s: out of sync")
    return problems


def check_loudness(
    measured: dict[str, float],
    target: float,
    ceiling: float,
    *,
    tolerance: float = LOUDNESS_GATE_LU,
) -> list[str]:
    """Problems with delivered loudness: integrated within ±tolerance, true peak at the ceiling."""
    problems = []
    if abs(measured["input_i"] - target) > tolerance:
        problems.append(
            f"integrated loudness {measured['input_i']:.2f} LUFS is outside {target:g} ±{tolerance:g} LU"
        )
    if measured["input_tp"] > ceiling + 1e-9:
        problems.append(f"true peak {measured['input_tp']:.2f} dBTP is above the {ceiling:g} dBTP ceiling")
    return problems


def judge_loudness(
    loudness: dict[str, float], audio_result: dict[str, Any] | None, preset: Preset
) -> tuple[list[str], list[str]]:
    """(problems, warnings) with delivered loudness. Audio the pass normalised must be on target;
    silence, or audio deliberately left off target rather than crushed, is reported as a warning
    with the reason, but a true peak over the ceiling is a problem whenever gain was applied."""
    loud_problems = check_loudness(loudness, preset.loudness_target_lufs, preset.true_peak_dbtp)
    reachable = bool(audio_result and audio_result.get("target_reachable", True))
    normalised = bool(audio_result and audio_result.get("normalised"))
    if normalised and reachable:
        return loud_problems, []
    if not loud_problems:
        return [], []
    warnings = [*loud_problems, (audio_result or {}).get("note", "")]
    peaks = [p for p in loud_problems if "true peak" in p] if normalised else []
    return peaks, warnings


@dataclass
class Verified:
    """What verification measured on an output."""

    frames: int
    video_duration_s: float | None
    audio_duration_s: float | None
    width: int
    height: int
    expected_size: list[int]
    loudness: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def output_streams(path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The output's video stream and (if any) audio stream, as ffprobe states them."""
    streams = json.loads(
        run_command(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", path],
            capture_stdout=True,
            timeout_s=120,
            what="ffprobe",
        ).stdout
    )["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    return video, next((s for s in streams if s["codec_type"] == "audio"), None)


def delivered_loudness(
    path: str, media: MediaInfo, audio_result: dict[str, Any] | None, preset: Preset, timeout_s: float
) -> tuple[dict[str, float], list[CommandResult]]:
    """The loudness of the output's sound. When its packets are the very ones the audio pass
    decoded cleanly and measured (same stream hash), that measurement stands and nothing is
    decoded again, however long the video; otherwise the sound is decoded and measured here."""
    expected = (audio_result or {}).get("stream_hash")
    if expected and audio_result.get("output_loudness"):
        found, run = audio_stream_hash(path, timeout_s)
        if found == expected:
            return dict(audio_result["output_loudness"]), [run]
    channels, rate = delivered_channels(media), preset.audio_sample_rate
    loudness, run = measure_loudness(
        loudness_measure_args(path, channels, rate),
        rate,
        channels,
        timeout_s=timeout_s,
        check=False,
        what="verification decode",
    )
    require_clean_decode(run, "the output")
    return loudness, [run]


def verify_output(
    path: str,
    media: MediaInfo,
    audio_result: dict[str, Any] | None,
    preset: Preset,
    *,
    expected_s: float,
    strict: bool,
    timeout_s: float,
) -> tuple[Verified, list[CommandResult]]:
    """Check one assembled output against the source's ``media`` and the edit's ``expected_s``;
    raise :class:`StageFailure` naming every problem."""
    if audio_result and audio_result.get("target_lufs") is not None:
        preset = dataclasses.replace(preset, loudness_target_lufs=audio_result["target_lufs"])
    runs, loudness = [], None
    if media.audio is not None:
        loudness, runs = delivered_loudness(path, media, audio_result, preset, timeout_s)
    video, audio = output_streams(path)
    frames = int(video.get("nb_frames") or 0)
    video_s = float(video["duration"]) if video.get("duration") else None
    audio_s = float(audio["duration"]) if audio and audio.get("duration") else None
    problems = check_durations(expected_s, video_s, audio_s, float(1 / Fraction(media.video.fps)))
    packets = count_video_packets(path)
    if packets != frames:
        problems.append(f"the video holds {packets} frames but its index states {frames}")
    if media.audio is not None and audio is None:
        problems.append("the output lost its audio track")
    warnings: list[str] = []
    if loudness is not None:
        loud_problems, warnings = judge_loudness(loudness, audio_result, preset)
        problems += loud_problems
    warnings = [w for w in warnings if w]
    if strict:
        problems += [f"strict mode: {w}" for w in warnings]
    if problems:
        raise StageFailure(
            "verification failed: " + "; ".join(problems),
            hint="this is a raybatch bug or a damaged source; report it with the error_log entry",
        )
    width, height = int(video["width"]), int(video["height"])
    expected_size = list(output_dimensions(*media.video.display_size, preset.max_short_side))
    return Verified(frames, video_s, audio_s, width, height, expected_size, loudness, warnings), runs
