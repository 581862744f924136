"""The keep decision's speech rules on synthetic level sequences: a quiet speaker and a loud
one heard alike, voiced ends kept with their phrase, lone words kept, breaths and noise not."""

import numpy as np
import pytest

from raybatch.analysis import speech
from raybatch.analysis.edl import SPEECH_MARGIN_BY_MODE, policy_for, speech_margin_s
from raybatch.analysis.speech import (
    FRAME_S,
    VAD_LEVEL_DBFS,
    extend_over_voiced,
    levelled_for_vad,
    loud_alone,
    noise_floor_db,
    speech_over_floor_db,
    voice_band_levels_db,
    voiced_stretches,
)

RATE = 16_000


def levels(*pieces: tuple[float, float]) -> np.ndarray:
    """A voice-band level sequence: (seconds, dB) pieces in 20 ms frames."""
    return np.concatenate([np.full(round(s / FRAME_S), db) for s, db in pieces])


def tone(seconds: float, db: float, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (10 ** (db / 20) * np.sqrt(2) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("speaker_db", [-50.0, -35.0, -12.0])
def test_a_quiet_speaker_and_a_loud_one_reach_the_vad_at_one_level(speaker_db):
    phrase = np.concatenate([tone(1.0, speaker_db), np.zeros(RATE, np.float32), tone(1.0, speaker_db)])
    heard, gain = levelled_for_vad(phrase, RATE)
    assert gain == pytest.approx(VAD_LEVEL_DBFS - speaker_db, abs=0.5)
    heard_db = 10 * np.log10(np.mean(heard[:RATE].astype(np.float64) ** 2))
    assert heard_db == pytest.approx(VAD_LEVEL_DBFS, abs=0.5)


def test_only_the_voice_band_counts():
    voice, rumble = tone(1.0, -30.0, 1000.0), tone(1.0, -30.0, 60.0)
    assert np.median(voice_band_levels_db(voice, RATE)) == pytest.approx(-30.0, abs=1.0)
    assert np.median(voice_band_levels_db(rumble, RATE)) < -60.0


def test_voiced_stretches_stand_over_the_floor_and_near_the_loud_frames():
    band = levels((1.0, -60), (0.3, -45), (0.5, -60), (0.06, -45), (0.5, -60), (0.4, -30), (1.0, -60))
    floor = noise_floor_db(band)
    assert floor == pytest.approx(-60.0)
    found = voiced_stretches(band, floor)
    assert [(round(a, 2), round(b, 2)) for a, b in found] == [(1.0, 1.3), (2.36, 2.76)]  # 60 ms: no word


def test_a_word_split_by_a_consonant_is_one_stretch():
    band = levels((1.0, -60), (0.2, -40), (0.06, -58), (0.2, -40), (1.0, -60))
    assert [(round(a, 2), round(b, 2)) for a, b in voiced_stretches(band, -60.0)] == [(1.0, 1.46)]


def test_on_digital_silence_a_breath_is_not_voice():
    # The floor is silence itself; a breath 45 dB under the speech is not a word.
    band = levels((1.0, -120), (1.0, -20), (0.5, -120), (0.3, -65), (1.0, -120))
    found = voiced_stretches(band, noise_floor_db(band))
    assert [(round(a, 2), round(b, 2)) for a, b in found] == [(1.0, 2.0)]


def test_voiced_ends_stay_with_their_phrase_and_distant_noises_do_not():
    vad = [(1.0, 2.0)]
    trailing = (1.9, 2.4)  # the VAD scored the phrase's last word low
    after_pause = (2.6, 2.9)  # starts within reach of the grown span: the phrase goes on
    door = (6.0, 6.3)
    assert extend_over_voiced(vad, [trailing, after_pause, door]) == [(1.0, 2.9)]
    assert extend_over_voiced(vad, [door]) == [(1.0, 2.0)]


def test_a_lone_word_at_speech_level_is_kept_and_a_quiet_one_is_not():
    band = levels((1.0, -60), (2.0, -40), (10.0, -60), (0.5, -42), (2.0, -60), (0.5, -55), (1.0, -60))
    voiced = voiced_stretches(band, -60.0)
    speech = [(1.0, 3.0)]
    level = -40.0
    assert loud_alone(voiced, speech, band, level) == [(13.0, 13.5)]
    assert speech_over_floor_db(band, speech, -60.0) == pytest.approx(20.0)


def test_margins_grow_where_speech_is_weak():
    assert speech_margin_s(0.13, 60.0) == 0.13 and speech_margin_s(0.13, None) == 0.13
    assert speech_margin_s(0.13, 20.0) == pytest.approx(0.205)
    assert speech_margin_s(0.13, 5.0) == pytest.approx(0.28)
    assert policy_for("educational", "fast").margin_s == SPEECH_MARGIN_BY_MODE["fast"]
    assert policy_for("educational", "fast", speech_over_floor_db=10.0).margin_s == pytest.approx(0.28)
    assert policy_for("educational", "fast", margin_s=0.5, speech_over_floor_db=10.0).margin_s == 0.5


def test_levels_are_measured_a_block_of_frames_at_a_time_as_in_one_piece(monkeypatch):
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(16_000 * 7 + 123) * np.linspace(0.01, 0.5, 16_000 * 7 + 123)).astype(
        np.float32
    )
    whole = speech.frame_levels_db(samples, 16_000), speech.voice_band_levels_db(samples, 16_000)
    monkeypatch.setattr(speech, "FRAMES_PER_BLOCK", 37)  # many blocks, the last one partial
    blocked = speech.frame_levels_db(samples, 16_000), speech.voice_band_levels_db(samples, 16_000)
    assert len(whole[0]) == len(whole[1]) == 350
    np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-6)
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-9)
    assert len(speech.frame_levels_db(samples[:100], 16_000)) == 0
