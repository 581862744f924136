"""ffmpeg command building (with ffmpeg-python) for every media step raybatch runs.

Builders are pure: they return argument lists, so tests check the exact commands and the
benchmark can run the very same filter chains through plain ffmpeg.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import ffmpeg

from raybatch.config.presets import Preset
from raybatch.media.probe import MediaInfo, VideoStream

_BASE_ARGS = ["-hide_banner", "-nostdin", "-y"]


def even(value: float) -> int:
    """Round to the nearest even integer of at least 2 (4:2:0 chroma needs even sizes)."""
    return max(2, int(round(value / 2.0)) * 2)


def output_dimensions(display_width: int, display_height: int, max_short_side: int) -> tuple[int, int]:
    """Square-pixel output size: the display size, scaled down so its short side fits the cap."""
    short = min(display_width, display_height)
    factor = min(1.0, max_short_side / short) if short > 0 else 1.0
    return even(display_width * factor), even(display_height * factor)


@dataclass(frozen=True)
class Filter:
    """One ffmpeg filter: name, positional args and options, in the order ffmpeg applies them."""

    name: str
    args: tuple = ()
    kwargs: tuple[tuple[str, object], ...] = ()

    def render(self) -> str:
        """The filter as it appears in an ffmpeg filtergraph string."""
        parts = [str(a) for a in self.args] + [f"{k}={v}" for k, v in self.kwargs]
        return f"{self.name}={':'.join(parts)}" if parts else self.name


def enhancement_filters(
    video: VideoStream,
    preset: Preset,
    enhancement: dict[str, Any] | None = None,
    keep: list[tuple[int, int]] | None = None,
) -> list[Filter]:
    """The video chain for one segment: constant rate, the EDL's kept frames, square pixels and
    size cap, denoise, exposure/contrast/colour correction, sharpening, 8-bit 4:2:0.

    ``enhancement`` (from analysis) sets the strengths; without it the preset's defaults apply.
    ``keep`` lists frame ranges relative to the segment's first frame (after the seek); the
    frames between them are dropped and the rest re-timed, so cuts are frame-exact.
    Frames arrive already rotated (ffmpeg's autorotate), so sizes are computed on display axes.
    """
    width, height = output_dimensions(*video.display_size, preset.max_short_side)
    chain = [
        # start_time=0 pads a late-starting stream from the first frame; tpad covers a stream
        # that stops a frame early, so every segment has exactly the frames it was planned with.
        Filter("fps", kwargs=(("fps", video.fps), ("start_time", 0))),
        Filter("tpad", kwargs=(("stop_mode", "clone"), ("stop_duration", 1))),
    ]
    if keep and not (len(keep) == 1 and keep[0][0] == 0):
        expression = "+".join(f"between(n,{start},{end - 1})" for start, end in keep)
        chain += [
            Filter("select", kwargs=(("expr", expression),)),
            Filter("setpts", args=("N/FRAME_RATE/TB",)),
        ]
    chain += [
        Filter("scale", kwargs=(("w", width), ("h", height), ("flags", "bicubic"))),
        Filter("setsar", kwargs=(("sar", 1),)),
    ]
    if enhancement is None:
        denoise, sharpen = preset.denoise_luma, preset.sharpen_amount
        eq = {"contrast": preset.contrast, "saturation": preset.saturation}
    else:
        denoise, sharpen = enhancement["denoise"], enhancement["sharpen"]
        eq = {
            "brightness": enhancement["brightness"],
            "contrast": enhancement["contrast"],
            "saturation": enhancement["saturation"],
            "gamma": enhancement["gamma"],
        }
    if denoise > 0:
        chain.append(Filter("hqdn3d", kwargs=(("luma_spatial", denoise),)))
    neutral = {"brightness": 0, "contrast": 1, "saturation": 1, "gamma": 1}
    changed = tuple((k, v) for k, v in eq.items() if v != neutral[k])
    if changed:
        chain.append(Filter("eq", kwargs=changed))
    if sharpen > 0:
        chain.append(
            Filter(
                "unsharp",
                kwargs=(("lx", 5), ("ly", 5), ("la", sharpen), ("cx", 5), ("cy", 5), ("ca", 0)),
            )
        )
    chain.append(Filter("format", kwargs=(("pix_fmts", "yuv420p"),)))
    return chain


def render_chain(chain: list[Filter]) -> str:
    """A filter chain as one ffmpeg ``-vf``/``-af`` string."""
    return ",".join(f.render() for f in chain)


def keyframe_interval(fps: str) -> int:
    """Two seconds of frames: a keyframe cadence that players and platforms seek well with."""
    return max(1, round(2 * Fraction(fps)))


#: The hardware encoders a run can use (on nodes advertising ``nvenc``); x264 otherwise.
NVENC_ENCODERS: tuple[str, ...] = ("h264_nvenc", "hevc_nvenc")
#: x264 preset -> NVENC preset of a similar speed/quality trade-off (p1 fastest .. p7 best).
_NVENC_PRESETS = {
    "ultrafast": "p1",
    "superfast": "p2",
    "veryfast": "p3",
    "faster": "p4",
    "fast": "p4",
    "medium": "p5",
    "slow": "p6",
    "slower": "p7",
    "veryslow": "p7",
}
#: NVENC's constant-quality scale lands a little above x264's CRF at the same number.
NVENC_CQ_OFFSET = 2


def video_encoder_options(preset: Preset, fps: str, threads: int) -> dict[str, object]:
    """Encoder options shared by every segment of every video: identical settings are what
    make stream-copy concatenation valid. Closed GOPs of a fixed two-second length either way."""
    gop = keyframe_interval(fps)
    if preset.encoder in NVENC_ENCODERS:
        return {
            "c:v": preset.encoder,
            "preset": _NVENC_PRESETS.get(preset.x264_preset, "p5"),
            "tune": "hq",
            "rc": "vbr",
            "cq": preset.crf + NVENC_CQ_OFFSET,
            "b:v": 0,
            "profile:v": "high" if preset.encoder == "h264_nvenc" else "main",
            "pix_fmt": "yuv420p",
            "g": gop,
            "keyint_min": gop,
            "no-scenecut": 1,
            "forced-idr": 1,
            "spatial-aq": 1,
            # Apple players want HEVC in MP4 tagged hvc1.
            **({"tag:v": "hvc1"} if preset.encoder == "hevc_nvenc" else {}),
        }
    return {
        "c:v": preset.encoder,
        "preset": preset.x264_preset,
        "crf": preset.crf,
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "g": gop,
        "keyint_min": gop,
        "threads": threads,
        "x264-params": "open-gop=0",
    }


def segment_encode_args(
    input_path: str,
    output_path: str,
    *,
    video: VideoStream,
    start_s: float,
    keep: list[tuple[int, int]],
    preset: Preset,
    threads: int,
    enhancement: dict[str, Any] | None = None,
) -> list[str]:
    """Encode the frames of ``keep`` (frame ranges relative to ``start_s``; one range for
    consecutive frames, several where the EDL cuts) into an MP4 without audio.

    ``-ss`` before the input seeks accurately (decode from the previous keyframe, drop frames
    up to ``start``), and the segment opens with its own IDR frame.
    """
    frame_count = sum(end - start for start, end in keep)
    duration = keep[-1][1] / Fraction(video.fps)
    stream = ffmpeg.input(input_path, ss=f"{start_s:.6f}", t=f"{float(duration) + 1.0:.6f}")[str(video.index)]
    stream = _apply(stream, enhancement_filters(video, preset, enhancement, keep))
    out = ffmpeg.output(
        stream,
        output_path,
        format="mp4",
        an=None,
        sn=None,
        dn=None,
        **{"frames:v": frame_count, "map_metadata": -1},
        **video_encoder_options(preset, video.fps, threads),
    )
    return out.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def audio_fit_filters(media: MediaInfo, sample_rate: int) -> list[Filter]:
    """Put the audio on the video's timeline: silence before a late start, silence after an
    early end, and nothing past the video's last frame."""
    return [
        Filter("aresample", kwargs=(("osr", sample_rate), ("async", 1), ("first_pts", 0))),
        Filter("apad", kwargs=(("whole_dur", f"{media.duration_s:.6f}"),)),
        Filter("atrim", kwargs=(("duration", f"{media.duration_s:.6f}"),)),
    ]


def delivered_channels(media: MediaInfo) -> int:
    """How many channels the output's sound has: mono stays mono, more becomes stereo."""
    assert media.audio is not None
    return min(2, max(1, media.audio.channels))


def samples_output(stream, channels: int, rate: int, target: str = "pipe:"):
    """Raw interleaved float samples of ``stream`` on a pipe: what the loudness meter reads."""
    return ffmpeg.output(stream, target, format="f32le", ac=channels, ar=rate)


def gain_filters(gain_db: float, limiter_dbtp: float | None, sample_rate: int) -> list[Filter]:
    """A linear gain, and when peaks would pass the ceiling a true-peak limiter: the limiter
    runs at 4x the delivery rate so it catches the inter-sample peaks a DAC would produce."""
    chain = [Filter("volume", kwargs=(("volume", f"{gain_db:.3f}dB"),))]
    if limiter_dbtp is not None:
        limit = min(1.0, max(0.0625, 10 ** (limiter_dbtp / 20)))
        chain += [
            Filter("aresample", kwargs=(("osr", sample_rate * 4),)),
            Filter(
                "alimiter",
                kwargs=(
                    ("limit", f"{limit:.5f}"),
                    ("attack", 1),
                    ("release", 60),
                    ("level", 0),
                    ("latency", 1),
                ),
            ),
            Filter("aresample", kwargs=(("osr", sample_rate),)),
        ]
    return chain


def _apply(stream, chain: list[Filter]):
    for flt in chain:
        stream = stream.filter(flt.name, *flt.args, **dict(flt.kwargs))
    return stream


def loudness_measure_args(path: str, channels: int, rate: int) -> list[str]:
    """A file's first audio stream decoded for the loudness meter; decode errors are logged
    (``[error]`` lines on stderr) for verification to read."""
    out = samples_output(ffmpeg.input(path)["a:0"], channels, rate)
    logged = ("-hide_banner", "-nostdin", "-loglevel", "repeat+level+warning")
    return out.global_args(*logged).compile(cmd="ffmpeg")


def encoded_chunk_args(path: str, channels: int, rate: int, *, first: int, count: int) -> list[str]:
    """``count`` frames of a file's first audio stream decoded from frame ``first`` (an
    accurate seek: the decoder starts at the packet before and drops what precedes it), for the
    meter; decode errors are logged as in :func:`loudness_measure_args`."""
    # No seek for the first chunk: an input seek to 0 decodes AAC's priming differently.
    seek = {"ss": f"{first / rate:.6f}"} if first else {}
    stream = ffmpeg.input(path, **seek)["a:0"].filter("atrim", end_sample=count)
    out = samples_output(stream, channels, rate)
    logged = ("-hide_banner", "-nostdin", "-loglevel", "repeat+level+warning")
    return out.global_args(*logged).compile(cmd="ffmpeg")


def audio_fit_args(input_path: str, output_path: str, media: MediaInfo, rate: int) -> list[str]:
    """The audio fitted to the video's timeline and mixed to the delivered channels, written as
    raw interleaved float samples: what the audio pass renders in chunks."""
    assert media.audio is not None
    stream = _apply(ffmpeg.input(input_path)[str(media.audio.index)], audio_fit_filters(media, rate))
    out = samples_output(stream, delivered_channels(media), rate, target=output_path)
    return out.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def raw_samples_input(path: str, channels: int, rate: int, *, skip_frames: int = 0):
    """A file of raw interleaved float samples as an ffmpeg input, read from frame ``skip_frames``
    on (by bytes, so exactly: raw samples have no seek points)."""
    skip = 4 * channels * skip_frames
    return ffmpeg.input(path, format="f32le", ac=channels, ar=rate, skip_initial_bytes=skip)


def render_chunk_args(
    path: str, channels: int, rate: int, *, first: int, count: int, chain: Sequence[Filter]
) -> list[str]:
    """``count`` frames of a raw sample file from frame ``first``, through ``chain``, as samples
    for the meter on stdout."""
    stream = raw_samples_input(path, channels, rate, skip_frames=first)
    stream = _apply(stream, [Filter("atrim", kwargs=(("end_sample", count),)), *chain])
    out = samples_output(stream, channels, rate)
    return out.global_args("-hide_banner", "-nostdin", "-v", "error").compile(cmd="ffmpeg")


def rendered_encode_args(
    path: str,
    output_path: str,
    channels: int,
    preset: Preset,
    *,
    trim_db: float = 0.0,
    span: tuple[int, int] | None = None,
    container: str = "mp4",
) -> list[str]:
    """Encode a rendered raw sample file to AAC in MP4 (``trim_db`` lower, when the codec's
    overshoot must be taken off every peak at once; only frames ``span`` = (first, count) when
    given; ``container="adts"`` for a chunk of a spliced encode)."""
    first, count = span or (0, 0)
    stream = raw_samples_input(path, channels, preset.audio_sample_rate, skip_frames=first)
    if span:
        stream = stream.filter("atrim", end_sample=count)
    if trim_db:
        stream = stream.filter("volume", volume=f"{-trim_db:.3f}dB")
    out = ffmpeg.output(
        stream,
        output_path,
        format=container,
        **{"c:a": preset.audio_codec, "b:a": f"{preset.audio_bitrate_kbps}k", "map_metadata": -1},
    )
    return out.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def spliced_aac_mux_args(output_path: str, packets: int, last_packet_frames: int) -> list[str]:
    """ADTS packets of one AAC stream read on stdin, muxed into MP4 as its encoder would have:
    the first packet is the encoder's priming (shifted before zero, so players skip it), and the
    last lasts only the track's remaining ``last_packet_frames`` (the rest is padding)."""
    # Units-free: every ADTS packet lasts one AAC frame, so DURATION is a frame in whatever
    # time base this ffmpeg hands the filter; N is the packet's index.
    timing = (
        "setts=pts=PTS-DURATION:dts=DTS-DURATION"
        f":duration=if(eq(N\\,{packets - 1})\\,round(DURATION*{last_packet_frames}/1024)\\,DURATION)"
    )
    return ["ffmpeg", *_BASE_ARGS, "-v", "error", "-f", "aac", "-i", "pipe:0", "-c", "copy",
            "-bsf:a", timing, "-map_metadata", "-1", "-f", "mp4", output_path]  # fmt: skip


def concat_list(segment_paths: list[str]) -> str:
    """The concat demuxer's list file for ``segment_paths`` (quotes escaped)."""
    lines = ["ffconcat version 1.0"]
    for path in segment_paths:
        escaped = path.replace("'", "'\\''")
        lines.append(f"file '{escaped}'")
    return "\n".join(lines) + "\n"


def assemble_args(list_path: str, audio_path: str | None, output_path: str) -> list[str]:
    """Concatenate the encoded segments without re-encoding, mux the audio, move the index to
    the front (faststart) so playback starts before the download ends."""
    video = ffmpeg.input(list_path, format="concat", safe=0)["v:0"]
    streams = [video]
    if audio_path is not None:
        streams.append(ffmpeg.input(audio_path)["a:0"])
    out = ffmpeg.output(
        *streams,
        output_path,
        format="mp4",
        c="copy",
        movflags="+faststart",
        map_metadata=-1,
    )
    return out.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def segment_decode_args(path: str) -> list[str]:
    """Decode every frame of an encoded segment, output discarded: errors go to stderr."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "repeat+level+error", "-i", path,
            "-map", "0:v:0", "-f", "null", "-"]  # fmt: skip


def analysis_video_args(
    input_path: str,
    video: VideoStream,
    *,
    small_size: tuple[int, int],
    stats_size: tuple[int, int],
    stats_every: int,
    stats_pipe: str,
) -> list[str]:
    """One low-resolution decode for every visual analysis: every frame of the constant-rate
    timeline at ``small_size`` RGB on stdout (shot model, content change, black and frozen
    frames), and every ``stats_every``-th frame at ``stats_size`` RGB on ``stats_pipe``
    (exposure, colour, sharpness, noise)."""
    base = ffmpeg.input(input_path)[str(video.index)].filter("fps", fps=video.fps, start_time=0)
    split = base.filter_multi_output("split")
    small = split[0].filter("scale", small_size[0], small_size[1], flags="bilinear").filter("format", "rgb24")
    stats = (
        split[1]
        .filter("select", f"not(mod(n,{stats_every}))")
        .filter("scale", stats_size[0], stats_size[1], flags="area")
        .filter("format", "rgb24")
    )
    outputs = ffmpeg.merge_outputs(
        ffmpeg.output(small, "pipe:", format="rawvideo"),
        ffmpeg.output(stats, stats_pipe, format="rawvideo", fps_mode="passthrough"),
    )
    return outputs.global_args(*_BASE_ARGS, "-loglevel", "error").compile(cmd="ffmpeg")


def analysis_audio_args(
    input_path: str, media: MediaInfo, preset: Preset, sample_rate: int, loudness_pipe: str
) -> list[str]:
    """One decode of the audio, fitted to the video's timeline: ``sample_rate`` mono float
    samples on stdout for speech and silence detection, and the delivered channels at the
    preset's rate on ``loudness_pipe`` for the loudness meter."""
    assert media.audio is not None
    fitted = _apply(
        ffmpeg.input(input_path)[str(media.audio.index)], audio_fit_filters(media, preset.audio_sample_rate)
    )
    split = fitted.filter_multi_output("asplit")
    outputs = ffmpeg.merge_outputs(
        ffmpeg.output(split[0], "pipe:", format="f32le", ac=1, ar=sample_rate),
        samples_output(split[1], delivered_channels(media), preset.audio_sample_rate, loudness_pipe),
    )
    return outputs.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def edit_audio_decode_args(
    input_path: str, output_path: str, media: MediaInfo, preset: Preset, cleanup: list[Filter]
) -> list[str]:
    """Decode the audio fitted to the video's timeline (plus voice clean-up) to float WAV, the
    material the EDL is spliced from."""
    assert media.audio is not None
    chain = audio_fit_filters(media, preset.audio_sample_rate) + cleanup
    stream = _apply(ffmpeg.input(input_path)[str(media.audio.index)], chain)
    out = ffmpeg.output(
        stream,
        output_path,
        format="wav",
        acodec="pcm_f32le",
        ac=delivered_channels(media),
        ar=preset.audio_sample_rate,
        # Past 4 GiB (3.1 h of 48 kHz stereo float) a WAV's 32-bit sizes overflow: RF64 then.
        rf64="auto",
    )
    return out.global_args(*_BASE_ARGS).compile(cmd="ffmpeg")


def voice_cleanup_filters(highpass_hz: int, denoise: bool) -> list[Filter]:
    """Educational speech: rumble removal and gentle broadband noise reduction."""
    chain = []
    if highpass_hz:
        chain.append(Filter("highpass", kwargs=(("f", highpass_hz),)))
    if denoise:
        chain.append(Filter("afftdn", kwargs=(("nr", 10), ("nf", -50))))
    return chain


def frame_grab_args(
    input_path: str, video: VideoStream, times_s: list[float], output_paths: list[str]
) -> list[str]:
    """One PNG per time, at full display resolution (rotation applied, square pixels), in one
    process: each time opens the input with its own accurate seek (decode from the previous
    keyframe, keep the frame at the time), so no frame between them is decoded."""
    width, height = video.display_size
    outputs = []
    for time_s, path in zip(times_s, output_paths, strict=True):
        stream = ffmpeg.input(input_path, ss=f"{max(0.0, time_s):.6f}")[str(video.index)]
        stream = stream.filter("scale", even(width), even(height), flags="lanczos").filter("setsar", 1)
        outputs.append(
            ffmpeg.output(stream, path, format="image2", vcodec="png", compression_level=1, **{"frames:v": 1})
        )
    return ffmpeg.merge_outputs(*outputs).global_args(*_BASE_ARGS, "-loglevel", "error").compile(cmd="ffmpeg")


def speech_audio_args(input_path: str, output_path: str, start_s: float, duration_s: float) -> list[str]:
    """A piece of a video's sound as 16 kHz mono MP3 at 32 kb/s: what speech-to-text needs,
    about 14 MB an hour (under the 25 MB upload limit of OpenAI's endpoint per 20 min piece)."""
    stream = ffmpeg.input(input_path, ss=f"{start_s:.3f}", t=f"{duration_s:.3f}")["a:0"]
    out = ffmpeg.output(stream, output_path, format="mp3", ac=1, ar=16000, audio_bitrate="32k", vn=None)
    return out.global_args(*_BASE_ARGS, "-loglevel", "error").compile(cmd="ffmpeg")


def keyframes_args(path: str, size: tuple[int, int]) -> list[str]:
    """Only the video's keyframes, as raw RGB at ``size``, to stdout: a cheap look at a whole
    file (no other frame is decoded)."""
    stream = ffmpeg.input(path, skip_frame="nokey")["v:0"].filter("scale", *size)
    out = ffmpeg.output(stream, "-", format="rawvideo", pix_fmt="rgb24", vsync="passthrough")
    return out.global_args(*_BASE_ARGS, "-loglevel", "error").compile(cmd="ffmpeg")
