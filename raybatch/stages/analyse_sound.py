"""``analyse_sound``: one decode of the sound gives Silero VAD speech, level silences, the EBU
R128 loudness and the content-type evidence. The model lives in its own actors."""

from __future__ import annotations

import math
import time
from typing import Any

from raybatch.analysis.entries import check_sound
from raybatch.analysis.sound import NO_AUDIO, describe_sound
from raybatch.analysis.speech import (
    VAD_LEVEL_DBFS,
    VAD_THRESHOLD,
    VOICED_OVER_FLOOR_DB,
    detect_speech,
)
from raybatch.config.model import RaybatchConfig
from raybatch.io.cache import cache_key
from raybatch.io.storage import stage_input
from raybatch.media.commands import analysis_audio_args, delivered_channels
from raybatch.media.loudness import LoudnessReader, SampleCollector
from raybatch.media.runner import SIDE_PIPE, run_command
from raybatch.stages.base import Demand, Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import Row, VideoRow

#: The VAD's sample rate.
VAD_RATE = 16_000
#: Settings the stored sound analysis depends on; the loudness measured is the input's own, so
#: the target does not change it.
SOUND_SETTINGS = {
    "vad_rate": VAD_RATE,
    "vad": "silero-6",
    "vad_level_dbfs": VAD_LEVEL_DBFS,
    "vad_threshold": VAD_THRESHOLD,
    "voiced_over_floor_db": VOICED_OVER_FLOOR_DB,
    "loudness_meter": "bs1770",
}


class SoundAnalysisStage(Stage[VideoRow]):
    """Speech, silences, loudness and sound profile of one video."""

    name = "analyse_sound"
    handles = VideoRow
    demand = Demand(runs_as="model")

    @classmethod
    def enabled(cls, config: RaybatchConfig) -> bool:
        return config.processing.analysis

    def setup(self) -> None:
        from raybatch.models.vad import SpeechModel  # sets torch to one thread: its own actor

        self.model = SpeechModel(threads=self.context.model_threads)

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        key = cache_key(fingerprint_of(row), "sound", SOUND_SETTINGS)
        row.sound_analysis = self.context.cache("analysis", measure).get_or_compute(
            key, lambda: self.analyse(row, measure), check_sound
        )
        return [row]

    def analyse(self, row: VideoRow, measure: StageMeasure) -> dict[str, Any]:
        media = row.media
        assert media is not None
        if media.audio is None:
            return dict(NO_AUDIO)
        # A second's slack: the decode may run a little past the container's duration.
        collector = SampleCollector(math.ceil((media.duration_s + 1) * VAD_RATE))
        started = time.monotonic()
        local = stage_input(row.video.source_uri, self.context.scratch)
        preset = self.context.preset_for(row.video)
        loudness = LoudnessReader(preset.audio_sample_rate, delivered_channels(media))
        run = run_command(
            analysis_audio_args(local, media, preset, VAD_RATE, SIDE_PIPE.format(0)),
            timeout_s=self.context.command_timeout_s,
            stdout_consumer=collector,
            side_consumers=(loudness,),
            what="sound analysis decode",
        )
        measure.add_run(run)
        samples = collector.samples()
        model_started = time.monotonic()
        found = detect_speech(self.model, samples, VAD_RATE)
        model_s = time.monotonic() - model_started
        return {
            **describe_sound(samples, VAD_RATE, loudness.loudness(), found),
            "device": self.model.device,
            "timings_s": {
                "wall": round(time.monotonic() - started, 3),
                "model": round(model_s, 3),
                "model_load": round(self.model.load_s, 3),
            },
        }
