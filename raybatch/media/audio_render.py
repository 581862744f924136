"""The audio pass's heavy work, in chunks that run in parallel.

The fitted sound is decoded once to raw float samples. Each try at a gain and limiter then
renders it chunk by chunk, every chunk with a few seconds of the sound before it and a little
after it so the compressor, limiter and resamplers reach its seams in the state one whole pass
would have had; the overlap is cut off by sample count, so the chunks lay end to end exactly.
Each chunk is measured as it is rendered, and BS.1770's sub-block energies combine exactly
across chunks, so a try costs its longest chunk rather than the whole track. A long track's
corrective tries render only a sample of its chunks (:attr:`FittedTrack.sample`), read against
the last whole render; only a whole render is ever encoded. Only the final AAC encode reads the
whole rendered track, once.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

import numpy as np

from raybatch.media.bs1770 import SUBBLOCKS_PER_S, ChunkMeasure, LoudnessMeter
from raybatch.media.commands import Filter, audio_fit_args, encoded_chunk_args, render_chunk_args
from raybatch.media.loudness import read_frames
from raybatch.media.probe import MediaInfo
from raybatch.media.runner import CommandResult, MediaError, run_command, submit_in_context

#: Sound rendered before a chunk only to settle the filters: the compressor's and limiter's
#: release (at most a second) has long died away by the seam.
PREROLL_S = 3.0
#: Sound rendered after a chunk: the resamplers' and limiter's look-ahead reach past its end.
POSTROLL_S = 0.25
#: No chunk is shorter (below it the overlap and process start would cost more than they save).
MIN_CHUNK_S = 60.0
#: No chunk is longer: the chunk that samples the codec stays a small part of a long track.
MAX_CHUNK_S = 120.0
#: Sound decoded before a chunk of an encoded track only to settle the decoder and the meter.
DECODE_PREROLL_S = 1.0
#: Chunks per worker: a slow chunk then holds up only a fraction of a try.
CHUNKS_PER_WORKER = 3
#: Most render processes at once on one node.
MAX_WORKERS = 8
#: Tracks of at least this many chunks try corrections on a sample: every ``SAMPLE_EVERY``-th
#: chunk, and the one with the highest peak.
MIN_SAMPLED_CHUNKS = 8
SAMPLE_EVERY = 4


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, end)`` of the track, rendered from ``start - preroll`` to ``end + postroll``."""

    start: int
    end: int
    preroll: int
    postroll: int

    @property
    def first(self) -> int:
        return self.start - self.preroll

    @property
    def rendered(self) -> int:
        return self.preroll + self.end - self.start + self.postroll


def plan_chunks(frames: int, rate: int, workers: int) -> list[Chunk]:
    """Chunks covering ``frames`` with boundaries on whole 100 ms sub-blocks (so their
    loudness measurements combine exactly), about ``CHUNKS_PER_WORKER`` per worker, none
    shorter than ``MIN_CHUNK_S`` and none longer than ``MAX_CHUNK_S`` (but a short track's one
    chunk)."""
    if frames <= 0:
        return []
    subblock = rate // SUBBLOCKS_PER_S
    subblocks = math.ceil(frames / subblock)
    wanted = max(1, min(workers * CHUNKS_PER_WORKER, int(frames / (MIN_CHUNK_S * rate))))
    wanted = max(wanted, math.ceil(frames / (MAX_CHUNK_S * rate)))
    per_chunk = math.ceil(subblocks / wanted) * subblock
    bounds = [*range(0, frames, per_chunk), frames]
    preroll, postroll = int(PREROLL_S * rate), int(POSTROLL_S * rate)
    return [
        Chunk(start, end, min(preroll, start), min(postroll, frames - end))
        for start, end in itertools.pairwise(bounds)
    ]


def render_workers() -> int:
    """How many chunks render at once: the node's cores (the audio pass's chunks are short
    ffmpeg filter runs beside the encoders; Ray's CPU accounting sees one task)."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def choose_sample(measures: Sequence[ChunkMeasure]) -> list[int]:
    """The chunks a corrective try renders: every ``SAMPLE_EVERY``-th one and the one holding the
    highest peak, for a track of ``MIN_SAMPLED_CHUNKS`` chunks or more; none for a shorter one
    (every try renders it whole)."""
    if len(measures) < MIN_SAMPLED_CHUNKS:
        return []
    loudest = max(range(len(measures)), key=lambda i: measures[i].peak)
    return sorted({*range(SAMPLE_EVERY // 2, len(measures), SAMPLE_EVERY), loudest})


#: Work to run beside a render, given its chunks' futures in order.
_Then = Callable[[list[Future]], list[CommandResult]] | None


@dataclass(frozen=True)
class CodecSample:
    """A chunk's rendered samples to encode alone: where they lie (file, (first frame, frames)),
    their loudness as rendered, and where the encode goes."""

    chunk: Chunk
    source: Path
    span: tuple[int, int]
    loudness: dict[str, float]
    probe: Path


class SampleFile:
    """A file of raw interleaved float samples written and read at frame offsets, through the
    page cache (a memory map would count an hour of sound in the process's resident memory)."""

    #: How much :meth:`copy_to` reads at a time (bytes).
    PIECE = 1 << 22

    def __init__(self, fd: int, channels: int):
        self.fd, self.frame_bytes = fd, 4 * channels

    @classmethod
    @contextlib.contextmanager
    def opened(cls, path: Path, channels: int) -> Iterator[SampleFile]:
        """An existing file of samples, open for reading while the block lasts."""
        fd = os.open(path, os.O_RDONLY)
        try:
            yield cls(fd, channels)
        finally:
            os.close(fd)

    @classmethod
    @contextlib.contextmanager
    def made(cls, path: Path, frames: int, channels: int) -> Iterator[SampleFile]:
        """``path`` made ``frames`` long (zeros until written), open while the block lasts."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(fd, max(1, frames) * 4 * channels)
            yield cls(fd, channels)
        finally:
            os.close(fd)

    def write(self, frame: int, samples: np.ndarray) -> None:
        data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
        written = 0
        while written < len(data):
            written += os.pwrite(self.fd, data[written:], frame * self.frame_bytes + written)

    def copy_to(self, stream: BinaryIO, first: int, end: int) -> None:
        """Frames ``[first, end)`` written to ``stream``."""
        offset, stop = first * self.frame_bytes, end * self.frame_bytes
        while offset < stop:
            piece = os.pread(self.fd, min(self.PIECE, stop - offset), offset)
            if not piece:
                raise MediaError("the rendered sound ended early", hint="re-run the video")
            stream.write(piece)
            offset += len(piece)


#: Called with a frame count; returns once the rendered samples are there up to that frame.
Ready = Callable[[int], None]
#: Encodes rendered samples as they become ready (see :meth:`FittedTrack.render`).
Encode = Callable[[SampleFile, Ready], list[CommandResult]]


class _ChunkReader:
    """Reads one chunk's rendered samples: the meter sees the pre-roll (to settle its filters,
    uncounted) and the chunk; ``target`` (a file of the rendered track) receives the chunk."""

    def __init__(self, chunk: Chunk, rate: int, channels: int, target: SampleFile | None, origin: int = 0):
        #: ``target``'s first frame is frame ``origin`` of the track.
        self.chunk, self.target, self.origin = chunk, target, origin
        self.meter = LoudnessMeter(rate, channels, preroll=chunk.preroll)
        self.read = 0

    def __call__(self, stream: BinaryIO) -> None:
        keep = self.chunk.preroll + self.chunk.end - self.chunk.start
        for frames in read_frames(stream, self.meter.channels):
            frames = frames[: max(0, keep - self.read)]  # the post-roll only settled the filters
            if len(frames):
                self.meter.feed(frames)
                self._store(frames)
            self.read += len(frames)

    def _store(self, frames: np.ndarray) -> None:
        if self.target is None:
            return
        begin = max(0, self.chunk.preroll - self.read)
        if begin >= len(frames):
            return
        at = self.chunk.start + self.read + begin - self.chunk.preroll - self.origin
        self.target.write(at, frames[begin:])

    def shortfall(self) -> int:
        """Frames of the chunk the render did not deliver."""
        return self.chunk.preroll + self.chunk.end - self.chunk.start - self.read


class FittedTrack:
    """The sound on the video's timeline as raw float samples in the work folder, rendered
    through filter chains in parallel chunks."""

    def __init__(self, path: Path, rate: int, channels: int, timeout_s: float):
        self.path, self.rate, self.channels, self.timeout_s = path, rate, channels, timeout_s
        #: Where :meth:`render` writes the samples it is asked to keep.
        self.rendered = path.with_name(f"{path.stem}.rendered.f32")
        #: Where samples of the rendering are encoded to see what the codec does to it.
        self.probe = path.with_name(f"{path.stem}.probe.m4a")
        self.measures: list[ChunkMeasure] = []
        #: The chunks a corrective try renders (none for a short track: it is rendered whole).
        self.sample: list[int] = []
        #: What each chunk of the sample measured in the last sample render.
        self.sample_measures: dict[int, ChunkMeasure] = {}
        self.frames = path.stat().st_size // (4 * channels)
        self.chunks = plan_chunks(self.frames, rate, render_workers())

    @classmethod
    @contextlib.contextmanager
    def fitted(
        cls, input_path: str, media: MediaInfo, rate: int, channels: int, beside: Path, timeout_s: float
    ) -> Iterator[tuple[FittedTrack, CommandResult]]:
        """Decode the sound once to the track, in the folder of ``beside`` (removed, with its
        renderings and probes, on exit)."""
        # Named after the file being made (raybatch's own name), never the input's: that one can
        # be as long as a file name may be.
        path = beside.with_name(f".{beside.stem}.fitted.f32")
        try:
            args = audio_fit_args(input_path, str(path), media, rate)
            run = run_command(args, timeout_s=timeout_s, what="audio decode")
            yield cls(path, rate, channels, timeout_s), run
        finally:
            for leftover in beside.parent.glob(f".{beside.stem}.fitted.*"):
                leftover.unlink(missing_ok=True)

    def render(
        self, chain: Sequence[Filter], *, keep: bool = True, encode: Encode | None = None
    ) -> tuple[dict[str, float], list[CommandResult]]:
        """The track through ``chain``, measured (``input_i``, ``input_tp``, ``input_lra``,
        ``input_thresh``); with ``keep``, also written to :attr:`rendered` as raw float samples.
        ``encode`` runs while the chunks render, told when each stretch of samples is done: the
        render costs the encode little time of its own. Chooses the :attr:`sample` from what it
        measured."""
        assert keep or encode is None, "only a kept render is encoded"
        with (
            SampleFile.made(self.rendered, self.frames, self.channels)
            if keep
            else contextlib.nullcontext() as samples
        ):
            then = partial(self._encode_as_rendered, encode, samples) if encode is not None else None
            measures, runs = self._render_chunks(chain, range(len(self.chunks)), samples, then)
        #: Each chunk's measurement in the last whole render, in order.
        self.measures = measures
        self.sample = choose_sample(measures)
        return ChunkMeasure.combine(measures).loudness().to_dict(), runs

    def render_sample(
        self, chain: Sequence[Filter]
    ) -> tuple[dict[str, float], dict[str, float], list[CommandResult]]:
        """The :attr:`sample` through ``chain``: its loudness, and what the same chunks measured in
        the last whole render (the difference predicts the whole track's)."""
        measures, runs = self._render_chunks(chain, self.sample, None)
        self.sample_measures = dict(zip(self.sample, measures, strict=True))
        before = ChunkMeasure.combine([self.measures[i] for i in self.sample])
        return ChunkMeasure.combine(measures).loudness().to_dict(), before.loudness().to_dict(), runs

    def codec_samples(
        self, chain: Sequence[Filter], *, whole: bool
    ) -> tuple[list[CodecSample], list[CommandResult]]:
        """Rendered samples of the chunks with the last try's highest peaks, one per render
        worker (they are encoded side by side), for sample encodes. After a whole render they
        lie in :attr:`rendered`; after a sample's, those chunks are rendered again through
        ``chain`` to files of their own. None for a one-chunk track (its encode is whole)."""
        measures = dict(enumerate(self.measures)) if whole else self.sample_measures
        if len(self.chunks) < 2 or not measures:
            return [], []
        loudest = sorted(measures, key=lambda i: measures[i].peak, reverse=True)[: render_workers()]
        samples = []
        for n, index in enumerate(loudest):
            chunk = self.chunks[index]
            source, first = (self.rendered, chunk.start) if whole else (self._chunk_file(n), 0)
            probe = self.probe.with_name(f"{self.probe.stem}{n}.m4a")
            loudness = measures[index].loudness().to_dict()
            samples.append(CodecSample(chunk, source, (first, chunk.end - chunk.start), loudness, probe))
        if whole:
            return samples, []
        with contextlib.ExitStack() as files:
            readers = [
                _ChunkReader(
                    sample.chunk,
                    self.rate,
                    self.channels,
                    files.enter_context(SampleFile.made(sample.source, sample.span[1], self.channels)),
                    origin=sample.chunk.start,
                )
                for sample in samples
            ]
            runs = self._run_readers(readers, chain)
        return samples, runs

    def _chunk_file(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.chunk{n}.f32")

    def _render_chunks(
        self, chain: Sequence[Filter], indices: Sequence[int], samples: SampleFile | None, then: _Then = None
    ) -> tuple[list[ChunkMeasure], list[CommandResult]]:
        readers = [_ChunkReader(self.chunks[i], self.rate, self.channels, samples) for i in indices]
        runs = self._run_readers(readers, chain, then)
        return [reader.meter.measure() for reader in readers], runs

    def _run_readers(
        self, readers: list[_ChunkReader], chain: Sequence[Filter], then: _Then = None
    ) -> list[CommandResult]:
        def args(chunk: Chunk) -> list[str]:
            return render_chunk_args(
                str(self.path), self.channels, self.rate, first=chunk.first, count=chunk.rendered, chain=chain
            )

        return _read_chunks([(args(r.chunk), r) for r in readers], self.timeout_s, "audio render", then=then)

    def _encode_as_rendered(
        self, encode: Encode, samples: SampleFile, chunks_done: list[Future]
    ) -> list[CommandResult]:
        def ready(end: int) -> None:
            for chunk, done in zip(self.chunks, chunks_done, strict=True):
                if chunk.start >= end:
                    return
                done.result()  # a failed render stops the encode with its error

        return encode(samples, ready)


def measure_encoded(
    path: str, frames: int, rate: int, channels: int, timeout_s: float
) -> tuple[dict[str, float], list[CommandResult]]:
    """The loudness of an encoded track ``frames`` long, decoded in parallel chunks: each from
    ``DECODE_PREROLL_S`` before it (the decoder's first frame after a seek and the meter's
    filters settle there, uncounted), so the chunks measure as one whole decode (to 0.001 LU).
    Returns every decode's run, for its diagnostics."""
    preroll = int(DECODE_PREROLL_S * rate)
    chunks = [
        Chunk(c.start, c.end, min(preroll, c.start), 0) for c in plan_chunks(frames, rate, render_workers())
    ]
    readers = [_ChunkReader(chunk, rate, channels, None) for chunk in chunks]
    jobs = [
        (encoded_chunk_args(path, channels, rate, first=r.chunk.first, count=r.chunk.rendered), r)
        for r in readers
    ]
    runs = _read_chunks(jobs, timeout_s, "loudness check", check=False)
    measured = ChunkMeasure.combine([reader.meter.measure() for reader in readers])
    return measured.loudness().to_dict(), runs


def _read_chunks(
    jobs: list[tuple[list[str], _ChunkReader]],
    timeout_s: float,
    what: str,
    *,
    check: bool = True,
    then: _Then = None,
) -> list[CommandResult]:
    """Run each ffmpeg into its chunk's reader, as many at once as the node renders (without
    ``check``, a failed run is returned for its caller to judge). ``then`` runs meanwhile in this
    thread, given the chunks' futures in order; its runs come last."""
    with ThreadPoolExecutor(max_workers=render_workers()) as pool:
        futures = [
            submit_in_context(pool, _read_chunk, args, reader, timeout_s, what, check)
            for args, reader in jobs
        ]
        after = then(futures) if then else []
        return [future.result() for future in futures] + after


def _read_chunk(
    args: list[str], reader: _ChunkReader, timeout_s: float, what: str, check: bool
) -> CommandResult:
    run = run_command(args, timeout_s=timeout_s, stdout_consumer=reader, what=what, check=check)
    # Resamplers may round a frame off the very end of the track; more than that is a fault.
    if run.returncode == 0 and reader.shortfall() > reader.meter.rate // 100:
        raise MediaError(
            f"{what} delivered {reader.shortfall()} frames short of its chunk",
            hint="re-run the video; if it fails again report it with the source file",
        )
    return run
