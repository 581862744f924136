"""Raw frames out of ffmpeg: the one low-resolution decode analysis makes, and reading the
48x27 frames it leaves for the shot model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import numpy as np

from raybatch.media.commands import analysis_video_args, even
from raybatch.media.probe import VideoStream
from raybatch.media.runner import SIDE_PIPE, CommandResult, run_command

#: Frames read from a pipe at a time: bounded memory whatever the video's length.
CHUNK_FRAMES = 250


def sample_size(display: tuple[int, int], short_side: int) -> tuple[int, int]:
    """The display size scaled to ``short_side`` (even dimensions)."""
    width, height = display
    if width >= height:
        return even(short_side * width / height), short_side
    return short_side, even(short_side * height / width)


def read_frames(stream: BinaryIO, size: tuple[int, int], chunk: int = CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """``[n, h, w, 3]`` uint8 RGB chunks from a raw rgb24 stream of ``size`` (width, height)."""
    width, height = size
    frame_bytes = width * height * 3
    while True:
        data = stream.read(frame_bytes * chunk)
        usable = len(data) - len(data) % frame_bytes
        if usable == 0:
            return
        yield np.frombuffer(data[:usable], np.uint8).reshape(-1, height, width, 3)


def iter_raw_frames(path: str, size: tuple[int, int], chunk: int = CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """The frames of a raw rgb24 file, in chunks."""
    with open(path, "rb") as stream:
        yield from read_frames(stream, size, chunk)


def decode_for_analysis(
    local: str,
    video: VideoStream,
    *,
    small_size: tuple[int, int],
    sample_size: tuple[int, int],
    sample_every: int,
    on_small: Callable[[np.ndarray], None],
    on_sample: Callable[[np.ndarray], None],
    timeout_s: float | None,
) -> CommandResult:
    """Decode ``local`` once: every frame of the constant-rate timeline at ``small_size`` goes to
    ``on_small`` in chunks, every ``sample_every``-th frame at ``sample_size`` to ``on_sample``
    one at a time (both read concurrently, so neither output blocks ffmpeg)."""

    def read_small(stream: BinaryIO) -> None:
        for frames in read_frames(stream, small_size):
            on_small(frames)

    def read_samples(stream: BinaryIO) -> None:
        for frames in read_frames(stream, sample_size, chunk=1):
            on_sample(frames[0])

    return run_command(
        analysis_video_args(
            local,
            video,
            small_size=small_size,
            stats_size=sample_size,
            stats_every=sample_every,
            stats_pipe=SIDE_PIPE.format(0),
        ),
        timeout_s=timeout_s,
        stdout_consumer=read_small,
        side_consumers=(read_samples,),
        what="analysis decode",
    )


def keyframe_brightness(path: str, timeout_s: float) -> float | None:
    """How bright a video looks, measured as analysis measures its source (the median over
    frames of their mean luma, 0-255), on its keyframes only; ``None`` when none decode."""
    from raybatch.analysis.picture import luma
    from raybatch.media.commands import keyframes_args

    size = (64, 36)
    means: list[float] = []

    def consume(stream: BinaryIO) -> None:
        for chunk in read_frames(stream, size):
            means.extend(float(luma(frame).mean()) for frame in chunk)

    run_command(
        keyframes_args(path, size), timeout_s=timeout_s, stdout_consumer=consume, what="keyframe decode"
    )
    return round(float(np.median(means)), 1) if means else None
