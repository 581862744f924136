"""ffprobe: read a file's streams and turn them into a :class:`MediaInfo`.

Parsing is a pure function (:func:`parse_probe`) so every odd case seen in the wild (rotation,
non-square pixels, variable frame rate, missing durations, cover art posing as video) is unit
tested without running ffprobe.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from raybatch.media.runner import MediaError, run_command

#: The highest output frame rate raybatch produces; faster streams are resampled to it.
MAX_OUTPUT_FPS = Fraction(120)
#: Frame rate used when a stream declares none that makes sense.
FALLBACK_FPS = Fraction(30)


@dataclass(frozen=True)
class VideoStream:
    """The video stream raybatch edits."""

    index: int
    codec: str
    width: int
    height: int
    sar: str  # "num:den"
    rotation: int  # degrees, as the display matrix says (e.g. -90)
    pix_fmt: str
    fps: str  # output frame rate as "num/den" (constant, even for variable-rate input)
    variable_frame_rate: bool
    start_s: float  # on the file's timeline, where 0 is the format's start
    duration_s: float | None
    has_alpha: bool = False

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as a viewer sees them: square pixels, rotation applied."""
        num, den = (int(x) for x in self.sar.split(":"))
        width = round(self.width * num / den) if num > 0 and den > 0 else self.width
        height = self.height
        if abs(self.rotation) % 180 == 90:
            width, height = height, width
        return width, height


@dataclass(frozen=True)
class AudioStream:
    """The audio stream raybatch normalises."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    start_s: float
    duration_s: float | None


@dataclass(frozen=True)
class MediaInfo:
    """What raybatch needs to know about one input, and what it deliberately leaves out."""

    format_name: str
    size_bytes: int
    duration_s: float  # length of the output timeline: from the file start to the video's end
    video: VideoStream
    audio: AudioStream | None
    dropped_streams: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> MediaInfo:
        audio = data.get("audio")
        return MediaInfo(
            format_name=data["format_name"],
            size_bytes=data["size_bytes"],
            duration_s=data["duration_s"],
            video=VideoStream(**data["video"]),
            audio=AudioStream(**audio) if audio else None,
            dropped_streams=list(data.get("dropped_streams", [])),
        )


class NoVideoStreamError(MediaError):
    """The file has no real video stream (audio only, or only cover art)."""


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result else None  # NaN is no value


def _rate(value: Any) -> Fraction | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def choose_output_fps(avg_frame_rate: Any, r_frame_rate: Any) -> tuple[Fraction, bool]:
    """Pick a constant output rate and say whether the input looks variable-rate.

    The average rate is what a viewer sees; ``r_frame_rate`` is only a timebase guess and is
    often absurd (90000 for cover art, 1000 for some VFR phone clips).
    """
    avg, real = _rate(avg_frame_rate), _rate(r_frame_rate)
    variable = avg is not None and real is not None and avg != real
    chosen = avg or real or FALLBACK_FPS
    if chosen > MAX_OUTPUT_FPS:
        chosen = avg if avg and avg <= MAX_OUTPUT_FPS else FALLBACK_FPS
    # Snap values like 2997/100 or 29.970029 to the broadcast rational they mean.
    snapped = chosen.limit_denominator(1001)
    return snapped, variable


def _rotation(stream: dict[str, Any]) -> int:
    for side_data in stream.get("side_data_list", []) or []:
        if "rotation" in side_data:
            return int(round(float(side_data["rotation"])))
    tag = (stream.get("tags") or {}).get("rotate")
    return -int(tag) if tag not in (None, "") else 0


def resolve_timeline_duration(
    format_start_s: float | None,
    format_duration_s: float | None,
    video_start_s: float | None,
    video_duration_s: float | None,
    scanned_video_end_s: float | None = None,
) -> float | None:
    """Length of the output timeline: from the file's start (ffmpeg's t=0) to the video's end.

    Prefers the video stream's own end (audio that runs longer is trimmed later); falls back to the
    container's duration, then to the end found by scanning packets. ``None`` when nothing is known.
    """
    origin = format_start_s or 0.0
    if scanned_video_end_s is not None:
        return max(0.0, scanned_video_end_s - origin)
    if video_duration_s is not None and video_duration_s > 0:
        start = video_start_s if video_start_s is not None else origin
        return max(0.0, start + video_duration_s - origin)
    if format_duration_s is not None and format_duration_s > 0:
        return format_duration_s
    return None


def parse_probe(
    probe: dict[str, Any], *, size_bytes: int = 0, scanned_video_end_s: float | None = None
) -> MediaInfo:
    """Turn ffprobe's JSON into :class:`MediaInfo`; raise :class:`MediaError` when unusable."""
    streams = probe.get("streams") or []
    fmt = probe.get("format") or {}
    if not streams and not fmt:
        raise MediaError(
            "ffprobe found no streams: not a media file",
            hint="check that the file is a video and is not truncated or empty",
        )
    video, audio = _chosen_streams(streams)
    format_start = _float(fmt.get("start_time")) or 0.0
    video_stream = _video_stream(video, format_start)
    duration = _timeline_duration(fmt, video, format_start, scanned_video_end_s)
    audio_stream = _audio_stream(audio, format_start) if audio is not None else None
    kept = {video_stream.index} | ({audio_stream.index} if audio_stream else set())
    dropped = [
        {
            "index": int(s["index"]),
            "type": "cover_art" if _is_picture(s) else s.get("codec_type", "unknown"),
            "codec": s.get("codec_name", "unknown"),
        }
        for s in streams
        if int(s["index"]) not in kept
    ]
    return MediaInfo(
        format_name=str(fmt.get("format_name") or "unknown"),
        size_bytes=size_bytes or int(_float(fmt.get("size")) or 0),
        duration_s=duration,
        video=video_stream,
        audio=audio_stream,
        dropped_streams=dropped,
    )


def _is_picture(stream: dict[str, Any]) -> bool:
    """Cover art: a still picture attached to the file, not a video."""
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def _chosen_streams(streams: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The video and audio streams raybatch uses: the ones the container marks default, as
    players do, else the first of each."""
    videos = [s for s in streams if s.get("codec_type") == "video" and not _is_picture(s)]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        kinds = sorted({s.get("codec_type", "?") for s in streams}) or ["none"]
        detail = "only cover art" if any(_is_picture(s) for s in streams) else ", ".join(kinds)
        raise NoVideoStreamError(
            f"no video stream to edit (streams found: {detail})",
            hint="raybatch edits videos; remove audio-only files from the batch or narrow --pattern",
        )

    def default(candidates: list[dict[str, Any]]) -> dict[str, Any]:
        return next((s for s in candidates if (s.get("disposition") or {}).get("default")), candidates[0])

    return default(videos), default(audios) if audios else None


def _timeline_duration(
    fmt: dict[str, Any], video: dict[str, Any], format_start: float, scanned_video_end_s: float | None
) -> float:
    duration = resolve_timeline_duration(
        format_start,
        _float(fmt.get("duration")),
        _float(video.get("start_time")),
        _float(video.get("duration")),
        scanned_video_end_s,
    )
    if duration is None:
        raise MediaError(
            "the container states no duration",
            hint="probe with a packet scan (raybatch does this automatically) or remux the file",
        )
    if duration <= 0:
        raise MediaError(
            "the video has no frames (duration 0)",
            hint="the file is probably truncated; re-export or re-download it",
        )
    return duration


def _video_stream(video: dict[str, Any], format_start: float) -> VideoStream:
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaError(
            f"video stream {video.get('index')} has no picture size",
            hint="the file is probably damaged; re-export it from the source",
        )
    sar = str(video.get("sample_aspect_ratio") or "1:1")
    if sar in ("0:1", "N/A") or ":" not in sar:
        sar = "1:1"
    fps, variable = choose_output_fps(video.get("avg_frame_rate"), video.get("r_frame_rate"))
    start = _float(video.get("start_time"))
    pix_fmt = str(video.get("pix_fmt") or "")
    return VideoStream(
        index=int(video["index"]),
        codec=str(video.get("codec_name") or "unknown"),
        width=width,
        height=height,
        sar=sar,
        rotation=_rotation(video),
        pix_fmt=pix_fmt,
        fps=f"{fps.numerator}/{fps.denominator}",
        variable_frame_rate=variable,
        start_s=(start if start is not None else format_start) - format_start,
        duration_s=_float(video.get("duration")),
        has_alpha=pix_fmt.startswith(("yuva", "rgba", "bgra", "argb", "abgr", "gbrap"))
        or (video.get("tags") or {}).get("alpha_mode") == "1",
    )


def _audio_stream(audio: dict[str, Any], format_start: float) -> AudioStream:
    start = _float(audio.get("start_time"))
    return AudioStream(
        index=int(audio["index"]),
        codec=str(audio.get("codec_name") or "unknown"),
        sample_rate=int(audio.get("sample_rate") or 48000),
        channels=int(audio.get("channels") or 2),
        start_s=(start if start is not None else format_start) - format_start,
        duration_s=_float(audio.get("duration")),
    )


def ffprobe_json(path: str, *, timeout_s: float = 120) -> dict[str, Any]:
    """Run ffprobe on a local path and return its JSON (streams and format)."""
    args = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]
    result = run_command(
        args,
        timeout_s=timeout_s,
        capture_stdout=True,
        check=False,
        what="ffprobe",
    )
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "unreadable"
        raise MediaError(
            f"ffprobe cannot read the file: {reason}",
            hint="the file is not a video ffmpeg understands, or it is truncated or damaged",
            stderr_tail=result.stderr[-2000:],
            command=shlex.join(args),
        )
    return json.loads(result.stdout or b"{}")


def scan_video_end(path: str, stream_index: int, *, timeout_s: float = 300) -> float | None:
    """End time of a video stream found by reading its packets (no decoding).

    Needed for containers that state no duration, such as live-recorded WebM.
    """
    result = run_command(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            str(stream_index),
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
            path,
        ],
        timeout_s=timeout_s,
        capture_stdout=True,
        what="ffprobe packet scan",
    )
    end = None
    for line in result.stdout.decode().splitlines():
        parts = line.strip().strip(",").split(",")
        pts = _float(parts[0]) if parts else None
        if pts is None:
            continue
        dur = _float(parts[1]) if len(parts) > 1 else None
        candidate = pts + (dur or 0.0)
        end = candidate if end is None else max(end, candidate)
    return end


def probe_media(path: str, *, size_bytes: int = 0, timeout_s: float = 120) -> MediaInfo:
    """Probe a local file, scanning packets when the container does not state a duration."""
    data = ffprobe_json(path, timeout_s=timeout_s)
    try:
        return parse_probe(data, size_bytes=size_bytes)
    except NoVideoStreamError:
        raise
    except MediaError as exc:
        if "states no duration" not in exc.message:
            raise
    info_without_duration = data
    videos = [
        s
        for s in info_without_duration.get("streams", [])
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    end = scan_video_end(path, int(videos[0]["index"]), timeout_s=timeout_s)
    return parse_probe(data, size_bytes=size_bytes, scanned_video_end_s=end)


def count_video_packets(path: str, *, timeout_s: float = 120) -> int | None:
    """Packets of the first video stream, counted without decoding (``None`` if unreadable).
    For an intra-refresh-free H.264 segment, one packet is one frame."""
    result = run_command(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path],
        timeout_s=timeout_s,
        capture_stdout=True,
        check=False,
        what="ffprobe packet count",
    )  # fmt: skip
    text = result.stdout.decode().strip().strip(",")
    return int(text) if result.returncode == 0 and text.isdigit() else None
