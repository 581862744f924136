"""The series look: a darker or brighter episode pulled to the series' median brightness."""

from raybatch.analysis.enhance import derive_enhancement
from raybatch.series.look import GOAL_BAND, STANDS_OUT_LUMA, harmonise, predicted_brightness

STATS = {"contrast": 50, "saturation": 90, "noise": 0.5, "sharpness": 300}


def _episode(brightness: float) -> dict:
    return derive_enhancement({**STATS, "brightness": brightness}, "general").to_dict()


def test_predicted_brightness_follows_gamma_and_leaves_a_neutral_picture_alone():
    assert abs(predicted_brightness(100, {}) - 100) < 1e-6
    assert predicted_brightness(60, {"gamma": 1.5}) > 60


def test_a_dark_episode_is_pulled_to_the_series_and_the_others_are_left_alone():
    sources = {"ep1": 112.0, "ep2": 60.0, "ep3": 118.0}
    look = harmonise(sources, {key: _episode(b) for key, b in sources.items()})
    assert look is not None and GOAL_BAND[0] <= look.goal <= GOAL_BAND[1]
    dark = look.report["ep2"]
    assert dark["pulled"] and dark["own_brightness"] < look.goal - STANDS_OUT_LUMA
    assert abs(dark["series_brightness"] - look.goal) < 1.0
    assert "series look" in look.enhancements["ep2"]["reasons"][-1]
    assert not look.report["ep1"]["pulled"] and look.enhancements["ep1"] == _episode(112.0)
    spread_before = max(r["own_brightness"] for r in look.report.values()) - min(
        r["own_brightness"] for r in look.report.values()
    )
    spread_after = max(r["series_brightness"] for r in look.report.values()) - min(
        r["series_brightness"] for r in look.report.values()
    )
    assert spread_after < spread_before


def test_one_episode_is_no_series():
    assert harmonise({"ep1": 60.0}, {"ep1": _episode(60.0)}) is None
