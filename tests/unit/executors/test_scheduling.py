"""Scheduling: the strategies' admission limits, the smart queue's order, the admission itself,
and the adaptation policy fed with synthetic load readings."""

from __future__ import annotations

import pytest

from raybatch.config.loader import load_config
from raybatch.config.presets import cheaper, resolve_preset
from raybatch.executors.adaptation import GIB, AdaptationPolicy, LoadReading, Thresholds
from raybatch.executors.scheduling import Admission, Gate, in_flight_limit, queue_order
from raybatch.jobs.records import VideoRef
from raybatch.stages.rows import VideoRow


def video(key: str, size: int = 0) -> VideoRef:
    return VideoRef(key=key, source_uri=f"/in/{key}.mp4", relative_path=f"{key}.mp4", size_bytes=size)


@pytest.mark.parametrize(
    ("batch", "strategy"),
    [
        ({}, "adaptive"),
        ({"processing_mode": "sequential"}, "sequential"),
        ({"resource_management": "fixed"}, "fixed"),
        ({"queue_management": "smart"}, "smart"),
        ({"parallel_strategy": "fixed", "queue_management": "smart"}, "fixed"),
        ({"parallel_strategy": "smart"}, "smart"),
    ],
)
def test_the_guide_yaml_keys_map_onto_the_strategies(batch, strategy):
    assert load_config(None, {"batch": batch}).batch.strategy == strategy


def test_max_concurrent_bounds_videos_in_flight_under_every_strategy():
    assert in_flight_limit("sequential", 4, encoders=2) == 1
    assert in_flight_limit("fixed", 3, encoders=2) == 3
    assert in_flight_limit("fixed", None, encoders=2) == 2
    assert in_flight_limit("adaptive", 4, encoders=2) == 4
    assert in_flight_limit("smart", None, encoders=3) == 6
    assert in_flight_limit("adaptive", None, encoders=1) == 2


def test_the_smart_queue_starts_the_longest_first_and_keeps_ties_in_order():
    videos = [video("a", 10), video("b", 500), video("c", 10), video("d", 90)]
    assert [v.key for v in queue_order(videos, smart=True)] == ["b", "d", "a", "c"]
    assert [v.key for v in queue_order(videos, smart=False)] == ["a", "b", "c", "d"]


def test_admission_releases_up_to_its_limit_and_one_more_per_ended_video():
    admission = Admission(limit=2)
    admission.enqueue([VideoRow(video=video(k)) for k in "abcd"])
    assert [r.video.key for r in admission.release()] == ["a", "b"]
    assert admission.release() == []
    admission.ended("a")
    assert [r.video.key for r in admission.release()] == ["c"]


def test_a_closed_gate_holds_new_videos_but_never_the_last_slot():
    gate = Gate(admit=False, quality_step=1)
    admission = Admission(limit=3, gate=lambda: gate)
    admission.enqueue([VideoRow(video=video(k)) for k in "abc"])
    (first,) = admission.release()  # nothing in flight: one starts, held gate or not
    assert first.video.key == "a" and first.video.quality_step == 1
    assert admission.release() == []
    admission.ended("a")
    (second,) = admission.release()
    assert second.video.key == "b" and second.video.quality_step == 1


def reading(memory_gb: float, cpu: float = 50.0, total_gb: float = 16.0) -> list[LoadReading]:
    return [LoadReading("n1", int(memory_gb * GIB), int(total_gb * GIB), cpu)]


def test_sustained_pressure_holds_admission_then_steps_quality_down_and_recovery_undoes_it():
    policy = AdaptationPolicy(
        thresholds=Thresholds(memory_bytes=8 * GIB), adapt_quality=True, max_steps=2, sustain=3, recover=4
    )
    gates = [policy.observe(reading(gb), at_s=i) for i, gb in enumerate([4, 9, 9, 9, 9, 9, 9, 9, 9, 9])]
    assert gates[0] == Gate(admit=True, quality_step=0)
    assert [g.admit for g in gates[1:]] == [False] * 9
    # three readings over the threshold per step, never below the cheapest quality
    assert [g.quality_step for g in gates] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    calm = [policy.observe(reading(3), at_s=10 + i) for i in range(8)]
    assert all(g.admit for g in calm)
    assert [g.quality_step for g in calm] == [2, 2, 2, 1, 1, 1, 1, 0]
    actions = [e["action"] for e in policy.events]
    assert actions == ["hold", "quality_down", "quality_down", "resume", "quality_up", "quality_up"]
    assert "memory 9.0 GB over 8.0 GB" in policy.events[0]["reasons"][0]


def test_a_brief_spike_holds_admission_only_while_it_lasts():
    policy = AdaptationPolicy(thresholds=Thresholds(cpu_percent=80), adapt_quality=True, max_steps=3)
    admits = [policy.observe(reading(2, cpu), at_s=0).admit for cpu in (50, 95, 95, 60, 70)]
    assert admits == [True, False, False, True, True] and policy.quality_step == 0


def test_the_default_memory_threshold_is_most_of_the_node_and_cpu_never_counts():
    thresholds = Thresholds()
    assert thresholds.pressure(reading(14, cpu=100)[0]) == []
    assert thresholds.pressure(reading(15, cpu=100)[0]) != []


def test_quality_never_adapts_with_consistent_settings_nor_outside_the_adaptive_strategies():
    pressed = reading(15.5, cpu=100)
    consistent = load_config(
        None,
        {
            "batch": {"adaptive_quality": True, "cpu_threshold_pct": 50},
            "processing": {"consistent_settings": True},
        },
    )
    fixed = load_config(None, {"batch": {"adaptive_quality": True, "parallel_strategy": "fixed"}})
    for config in (consistent, fixed):
        policy = AdaptationPolicy.for_config(config)
        for i in range(10):
            gate = policy.observe(pressed, at_s=i)
        assert gate.quality_step == 0
    assert AdaptationPolicy.for_config(fixed).observe(pressed, at_s=0).admit  # fixed keeps its shape


def test_a_cheaper_preset_lowers_the_picture_budget_and_keeps_the_rest():
    high = resolve_preset("high", "balanced", "educational")
    medium = cheaper(high, 1)
    assert (medium.quality, medium.crf, medium.max_short_side) == ("medium", 23, 1080)
    assert (medium.x264_preset, medium.loudness_target_lufs, medium.denoise_luma) == (
        high.x264_preset,
        high.loudness_target_lufs,
        high.denoise_luma,
    )
    assert cheaper(high, 5).quality == "low" and cheaper(high, 0) is high
