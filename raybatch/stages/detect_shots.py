"""``detect_shots``: TransNetV2 over the 48x27 frames the picture analysis left, fused with
their content signal. Its rows travel beside the segments, so the model runs while the encoders
work; the edit never waits for it (segment seams use the content signal's hard cuts)."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np

from raybatch.analysis.entries import check_shots
from raybatch.analysis.scan import SHOT_SETTINGS, SMALL_SIZE
from raybatch.analysis.shots import describe_shots, detect_shots
from raybatch.config.model import RaybatchConfig
from raybatch.errors import StageFailure
from raybatch.io.cache import cache_key
from raybatch.io.storage import exists, local_copy
from raybatch.media.frames import iter_raw_frames
from raybatch.stages.base import Demand, Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import Row, ShotsRow


class ShotDetectionStage(Stage[ShotsRow]):
    """Where each shot starts, and where the picture is between shots (fades, dissolves)."""

    name = "detect_shots"
    handles = ShotsRow
    demand = Demand(runs_as="model")

    @classmethod
    def enabled(cls, config: RaybatchConfig) -> bool:
        return config.processing.analysis

    def setup(self) -> None:
        from raybatch.models.transnet import ShotModel  # sets global seeds: its own actor

        self.model = ShotModel(threads=self.context.model_threads)

    def process(self, row: ShotsRow, measure: StageMeasure) -> list[Row]:
        key = cache_key(fingerprint_of(row), "shots", SHOT_SETTINGS)
        row.result = self.context.cache("analysis", measure).get_or_compute(
            key, lambda: self.detect(row, measure), check_shots
        )
        return [row]

    def detect(self, row: ShotsRow, measure: StageMeasure) -> dict[str, Any]:
        started = time.monotonic()
        layout, key, scratch = self.context.layout, row.video.key, self.context.scratch
        signals_uri = layout.picture_signals(key)
        if not exists(signals_uri):
            raise StageFailure(
                f"the frames for shot detection are missing from the work folder ({signals_uri})",
                hint="the analysis cache dropped these shots mid-run: raise --cache-size and run again",
            )
        with local_copy(signals_uri, scratch) as signals_path, np.load(signals_path) as signals:
            content, brightness, wipes = signals["content"], signals["brightness"], signals["wipes"]
        with local_copy(layout.small_frames(key), scratch) as frames_path:
            detection = detect_shots(self.model, iter_raw_frames(frames_path, SMALL_SIZE))
        measure.frames = len(content)
        return {
            **describe_shots(
                detection, content, brightness, float(Fraction(row.media.video.fps)), wipes=wipes.tolist()
            ),
            "device": self.model.device,
            "timings_s": {
                "wall": round(time.monotonic() - started, 3),
                "model": round(detection.model_s, 3),
                "model_load": round(self.model.load_s, 3),
            },
        }
