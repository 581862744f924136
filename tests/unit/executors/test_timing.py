"""The dry run's time forecast: the CPU model, and the pace of an earlier run."""

from __future__ import annotations

import pytest

from raybatch.executors.timing import (
    FIXED_CPU_S,
    START_S,
    VideoLoad,
    calibrated_wall_s,
    modelled_wall_s,
    video_cpu_s,
)

HD = 1280 * 720


def test_a_video_costs_its_fixed_part_plus_analysis_and_an_encode_that_grows_with_pixels():
    minute = VideoLoad(60.0, HD)
    assert video_cpu_s(minute, "balanced") == pytest.approx(FIXED_CPU_S + 60 * (0.6 + 0.5))
    assert video_cpu_s(minute, "balanced", analysis=False) == pytest.approx(FIXED_CPU_S + 60 * 0.5)
    full_hd = VideoLoad(60.0, 1920 * 1080)
    assert video_cpu_s(full_hd, "balanced") - video_cpu_s(minute, "balanced") == pytest.approx(
        60 * 0.5 * 1.25
    )
    assert video_cpu_s(minute, "fast") < video_cpu_s(minute, "balanced") < video_cpu_s(minute, "high_quality")


def test_more_cpus_shorten_the_modelled_wall_time_down_to_the_start():
    loads = [VideoLoad(120.0, HD)] * 10
    two, sixteen = modelled_wall_s(loads, "balanced", 2), modelled_wall_s(loads, "balanced", 16)
    assert two - START_S == pytest.approx(8 * (sixteen - START_S))
    assert modelled_wall_s([], "balanced", 2) == START_S


def test_an_earlier_runs_pace_scales_to_this_batchs_seconds():
    earlier = {"wall_time_s": 112.0, "video_seconds_processed": 200.0, "videos_done": 4}
    # 200 s of input in 100 s after the start: 2 s a second.
    assert calibrated_wall_s(400.0, 8, earlier) == pytest.approx(START_S + 200.0)
    assert calibrated_wall_s(400.0, 8, {"wall_time_s": 30.0, "video_seconds_processed": 0}) is None
    edited = {"wall_time_s": "fast", "video_seconds_processed": 200.0, "videos_done": True}
    assert calibrated_wall_s(400.0, 8, edited) is None
