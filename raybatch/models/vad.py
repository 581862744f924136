"""Silero voice activity detection (``silero-vad`` wheel, JIT model inside it)."""

from __future__ import annotations

import logging
import time

import numpy as np

from raybatch.models import pick_device

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


class SpeechModel:
    """Speech ranges (seconds) in 16 kHz mono float32 audio."""

    def __init__(self, *, threads: int = 1, prefer_gpu: bool = True):
        import torch
        from silero_vad import load_silero_vad  # sets torch to one thread: this is its own actor

        started = time.monotonic()
        self.device = pick_device(prefer_gpu)
        self.model = load_silero_vad(onnx=False)
        if self.device == "cuda":
            self.model = self.model.to("cuda")
        torch.set_num_threads(max(1, threads))
        self.load_s = time.monotonic() - started
        log.info("Silero VAD on %s, loaded in %.1f s", self.device, self.load_s)

    def speech(
        self,
        samples: np.ndarray,
        *,
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
    ) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of each stretch of speech, no padding added."""
        import torch
        from silero_vad import get_speech_timestamps

        if len(samples) < SAMPLE_RATE // 10:
            return []
        # torch wants a writable array: copied only when it is not one already.
        audio = torch.from_numpy(np.require(samples, np.float32, ("C", "W")))
        if self.device == "cuda":
            audio = audio.to("cuda")
        stamps = get_speech_timestamps(
            audio,
            self.model,
            sampling_rate=SAMPLE_RATE,
            threshold=threshold,
            min_speech_duration_ms=min_speech_ms,
            min_silence_duration_ms=min_silence_ms,
            speech_pad_ms=0,
            return_seconds=False,
        )
        self.model.reset_states()
        return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]
