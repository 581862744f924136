"""``analyse_video``: one low-resolution decode per video gives content change (hard cuts,
seams), picture statistics (enhancement), black and frozen stretches, and the 48x27 frames the
shot model reads later, beside the encoders (the edit never waits for it)."""

from __future__ import annotations

import time
from typing import Any, BinaryIO

import numpy as np

from raybatch.analysis.entries import check_picture, check_shots
from raybatch.analysis.scan import (
    PICTURE_SETTINGS,
    SHOT_SETTINGS,
    SMALL_SIZE,
    STATS_SHORT_SIDE,
    PictureScan,
    PictureSignals,
    describe_picture,
    stats_interval,
)
from raybatch.config.model import RaybatchConfig
from raybatch.io.cache import cache_key
from raybatch.io.storage import local_output, stage_input
from raybatch.media.frames import decode_for_analysis, sample_size
from raybatch.media.probe import VideoStream
from raybatch.media.runner import CommandResult
from raybatch.stages.base import Demand, Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import Row, VideoRow


def scan_picture(
    local: str, video: VideoStream, timeout_s: float | None, frames_out: BinaryIO | None = None
) -> tuple[PictureSignals, CommandResult]:
    """Decode ``local`` once at low resolution; the 48x27 frames also go to ``frames_out``."""
    scan = PictureScan(video.fps)

    def on_small(frames: np.ndarray) -> None:
        scan.add_small(frames)
        if frames_out is not None:
            frames_out.write(frames.tobytes())

    run = decode_for_analysis(
        local,
        video,
        small_size=SMALL_SIZE,
        sample_size=sample_size(video.display_size, STATS_SHORT_SIDE),
        sample_every=stats_interval(video.fps),
        on_small=on_small,
        on_sample=scan.add_sample,
        timeout_s=timeout_s,
    )
    return scan.signals(), run


class PictureAnalysisStage(Stage[VideoRow]):
    """What the picture looks like, from one decode at low resolution."""

    name = "analyse_video"
    handles = VideoRow
    # The speech model takes the videos next (and the shot model reads the frames it keeps).
    demand = Demand(paced_by_models=True)

    @classmethod
    def enabled(cls, config: RaybatchConfig) -> bool:
        return config.processing.analysis

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        cache = self.context.cache("analysis", measure)
        fingerprint = fingerprint_of(row)
        picture_key = cache_key(fingerprint, "picture", PICTURE_SETTINGS)
        if cache.has(cache_key(fingerprint, "shots", SHOT_SETTINGS), check_shots):
            row.picture_analysis = cache.get_or_compute(
                picture_key, lambda: self.analyse(row, measure, False), check_picture
            )
        else:
            # The shot model needs the frames: decode even when the picture analysis is cached.
            row.picture_analysis = self.analyse(row, measure, keep_frames=True)
            cache.counted_put(picture_key, row.picture_analysis)
        return [row]

    def analyse(self, row: VideoRow, measure: StageMeasure, keep_frames: bool) -> dict[str, Any]:
        assert row.media is not None
        video, layout, key = row.media.video, self.context.layout, row.video.key
        local = stage_input(row.video.source_uri, self.context.scratch)
        started = time.monotonic()
        if keep_frames:
            with (
                local_output(layout.small_frames(key), self.context.scratch) as path,
                open(path, "wb") as out,
            ):
                signals, run = scan_picture(local, video, self.context.command_timeout_s, out)
        else:
            signals, run = scan_picture(local, video, self.context.command_timeout_s)
        analysis = describe_picture(signals, video.fps)
        if keep_frames:  # what the shot stage reads beside the frames
            with (
                local_output(layout.picture_signals(key), self.context.scratch) as path,
                open(path, "wb") as out,
            ):
                wipes = np.asarray(analysis["wipes"], np.float64).reshape(-1, 2)
                np.savez(out, content=signals.content, brightness=signals.brightness, wipes=wipes)
        measure.add_run(run)
        measure.frames = signals.frames
        return {**analysis, "timings_s": {"wall": round(time.monotonic() - started, 3)}}
