"""Sound levels, silences and the content-type decision."""

import numpy as np

from raybatch.analysis.sound import detect_content_type, silent_spans
from raybatch.analysis.speech import frame_levels_db


def test_sound_levels_silences_and_content_type():
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 300 * np.arange(rate * 2) / rate)
    samples = np.concatenate([tone, np.zeros(rate * 2), tone]).astype(np.float32)
    levels = frame_levels_db(samples, rate)
    assert silent_spans(levels, -50, min_s=1.0) == [(2.0, 4.0)]
    assert (
        detect_content_type({"speech_ratio": 0.6, "active_ratio": 0.7, "level_steadiness_db": 9})[0]
        == "educational"
    )
    assert (
        detect_content_type({"speech_ratio": 0.05, "active_ratio": 0.97, "level_steadiness_db": 2})[0]
        == "music"
    )
    assert (
        detect_content_type({"speech_ratio": 0.1, "active_ratio": 0.4, "level_steadiness_db": 12})[0]
        == "general"
    )
