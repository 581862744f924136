"""The decision for one video, and analysis.json as it leaves the decision and after the shots."""

from __future__ import annotations

from raybatch.analysis.decide import Decision, analysis_document, decide, with_shots
from raybatch.config.model import ProcessingSettings
from raybatch.config.presets import resolve_preset

MUSIC_PROFILE = {"speech_ratio": 0.02, "active_ratio": 0.98, "level_steadiness_db": 1.5}
SPEECH = {"speech": [[0.0, 10.0], [14.0, 30.0]], "silences": [[10.2, 13.8]], "profile": None}


def test_without_analysis_nothing_is_cut_and_the_preset_decides():
    preset = resolve_preset("low", "fast", "educational")
    decision = decide(
        fps="25/1",
        duration_s=8.0,
        picture=None,
        sound=None,
        preset=preset,
        processing=ProcessingSettings(analysis=False),
    )
    assert decision.edl.keep == [(0, 200)] and "analysis disabled" in decision.edl.decision
    assert decision.content_type == "educational" and decision.loudness_target_lufs == -16.0
    assert decision.enhancement is None and decision.facts().kept_duration_s == 8.0


def test_educational_speech_loses_its_dead_air_and_keeps_the_configured_target():
    preset = resolve_preset("low", "fast", "educational")
    dark_and_flat = {"brightness": 60, "contrast": 20, "saturation": 40, "sharpness": 300, "noise": 1}
    picture = {
        "statistics": dark_and_flat,
        "content_cuts": [75, 300],
        "fades": [[19.5, 20.62]],
        "wipes": [[4.0, 4.5], [20.5, 21.0]],  # the second overlaps the fade
    }
    decision = decide(
        fps="25/1",
        duration_s=30.0,
        picture=picture,
        sound=SPEECH,
        preset=preset,
        processing=ProcessingSettings(),
    )
    assert len(decision.edl.keep) == 2 and decision.edl.kept_seconds() < 30.0
    assert decision.seam_frames == (75, 300) and decision.enhancement["gamma"] > 1.0
    # The fade and the wipes as frame ranges, widened to whole frames, overlaps merged.
    assert decision.seam_avoid == ((100, 113), (487, 525))
    assert Decision.from_dict(decision.to_dict()) == decision


def test_a_detected_type_brings_its_own_loudness_target():
    preset = resolve_preset("low", "balanced", "educational")
    sound = {"speech": [], "silences": [], "profile": MUSIC_PROFILE}
    decision = decide(
        fps="25/1",
        duration_s=20.0,
        picture={},
        sound=sound,
        preset=preset,
        processing=ProcessingSettings(auto_detect_type=True),
    )
    assert decision.content_type == "music" and decision.loudness_target_lufs == -14.0
    assert "steady level" in decision.content_type_reason and decision.edl.keep == [(0, 500)]


def test_the_analysis_document_is_completed_with_the_shots():
    preset = resolve_preset("low", "fast", "general")
    decision = decide(
        fps="25/1", duration_s=30.0, picture={}, sound=SPEECH, preset=preset, processing=ProcessingSettings()
    )
    sound = {**SPEECH, "device": "cpu", "cached": True}
    document = analysis_document(
        source_uri="/in/a.mp4",
        fingerprint="",
        duration_s=30.0,
        fps="25/1",
        picture={},
        sound=sound,
        decision=decision,
    )
    assert document["shots"] is None and document["fingerprint"] is None
    assert document["models"]["sound"] == {"device": "cpu", "timings_s": None, "cached": True}
    shots = {"shots": [{"frame": 50, "time_s": 2.0}], "transitions": [[4.0, 5.0]], "device": "cpu"}
    complete = with_shots(document, shots)
    assert complete["shots"] == shots["shots"] and complete["transitions"] == [[4.0, 5.0]]
    assert complete["models"]["shots"]["device"] == "cpu" and "shots" not in document["models"]


def test_consistent_settings_give_every_picture_the_preset_strengths():
    preset = resolve_preset("high", "balanced", "educational")
    dark = {"statistics": {"brightness": 40, "contrast": 20, "saturation": 40, "sharpness": 300, "noise": 4}}
    bright = {
        "statistics": {"brightness": 200, "contrast": 70, "saturation": 120, "sharpness": 900, "noise": 0}
    }
    consistent = ProcessingSettings(consistent_settings=True)
    a, b = (
        decide(fps="25/1", duration_s=30.0, picture=p, sound=SPEECH, preset=preset, processing=consistent)
        for p in (dark, bright)
    )
    assert a.enhancement == b.enhancement
    assert a.enhancement["gamma"] == 1.0 and a.enhancement["denoise"] == preset.denoise_luma
    assert "consistent settings" in a.enhancement["reasons"][0]
    adapted = decide(
        fps="25/1",
        duration_s=30.0,
        picture=dark,
        sound=SPEECH,
        preset=preset,
        processing=ProcessingSettings(),
    )
    assert adapted.enhancement["gamma"] > 1.0
