"""What one low-resolution decode yields, fed chunk by chunk with frames of known looks."""

from __future__ import annotations

import numpy as np

from raybatch.analysis.scan import PictureScan, describe_picture, stats_interval


def frames(value: int, count: int, size=(27, 48)) -> np.ndarray:
    return np.full((count, *size, 3), value, np.uint8)


def test_chunks_in_any_size_give_the_same_signals_and_the_cut_and_black_stretch_are_found():
    rng = np.random.default_rng(0)
    bright = rng.integers(60, 200, (1, 27, 48, 3), np.uint8).repeat(50, axis=0)
    video = np.concatenate([bright, frames(0, 25), bright[:, :, ::-1]])  # a cut, 1 s of black, a cut
    whole, pieces = PictureScan("25/1"), PictureScan("25/1")
    whole.add_small(video)
    for start in range(0, len(video), 7):
        pieces.add_small(video[start : start + 7])
    a, b = whole.signals(), pieces.signals()
    assert a.frames == b.frames == 125
    assert np.allclose(a.content, b.content) and np.allclose(a.brightness, b.brightness)
    picture = describe_picture(a, "25/1")
    assert picture["black"] == [[2.0, 3.0]] and picture["frames"] == 125


def test_samples_are_timed_by_the_interval_and_summarised():
    scan = PictureScan("30/1")
    assert stats_interval("30/1") == 15
    rng = np.random.default_rng(1)
    for _ in range(4):
        scan.add_sample(rng.integers(0, 255, (54, 96, 3), np.uint8))
    picture = describe_picture(scan.signals(), "30/1")
    assert picture["samples"]["time_s"] == [0.0, 0.5, 1.0, 1.5]
    assert picture["statistics"]["frames_sampled"] == 4


def test_fades_through_black_are_known_before_the_shot_model():
    ramp_down = np.linspace(200, 10, 10).astype(np.uint8)
    ramp_up = ramp_down[::-1]
    video = np.concatenate(
        [frames(200, 40), *[frames(v, 1) for v in ramp_down], frames(0, 5), *[frames(v, 1) for v in ramp_up],
         frames(200, 40)]
    )  # fmt: skip
    scan = PictureScan("25/1")
    scan.add_small(video)
    ((start, end),) = describe_picture(scan.signals(), "25/1")["fades"]
    assert start <= 41 / 25 and end >= 64 / 25


def test_wipes_and_dissolves_are_known_before_the_shot_model():
    from tests.unit.analysis.test_blends import dissolve
    from tests.unit.analysis.test_wipes import clip, picture, with_grain

    wiped, (start, end) = clip("wipe", 12, "left")  # frames 59 to 71 of 131
    a, b = picture(1), picture(2)
    video = np.concatenate([wiped, with_grain(np.stack(dissolve(b, a, 25) + [a] * 60), seed=1)])
    scan = PictureScan("25/1")
    scan.add_small(video)
    picture_analysis = describe_picture(scan.signals(), "25/1")
    ((wipe_start, wipe_end),) = picture_analysis["wipes"]
    assert abs(wipe_start * 25 - start) <= 2 and abs(wipe_end * 25 - end) <= 2
    ((blend_start, blend_end),) = picture_analysis["dissolves"]
    assert abs(blend_start * 25 - (len(wiped) - 1)) <= 2 and abs(blend_end * 25 - (len(wiped) + 24)) <= 2
