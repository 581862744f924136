"""The strategies on real runs: sequential with a small memory budget and consistent settings on
the shared Ray session; adaptive quality under an artificially low threshold in-process."""

from __future__ import annotations

import json
import re

import pytest

from raybatch import load_config, run_batch
from tests.conftest import make_av
from tests.helpers import load_report, read_metrics


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    for name, seconds in (("a_short", 2.0), ("b_long", 4.0), ("c_mid", 3.0)):
        make_av(root / f"{name}.mp4", size="320x180", duration=seconds)
    return root


def config(clips, out, executor: str, batch: dict, processing: dict | None = None):
    return load_config(
        None,
        {
            "input": str(clips),
            "batch": {"executor": executor, **batch},
            "processing": {"quality": "low", "mode": "fast", "analysis": False, **(processing or {})},
            "output": {"directory": str(out)},
            # Sampled often: three readings (sustained pressure) come well within a video's time.
            "monitoring": {"enable_progress_tracking": False, "resource_interval_s": 0.1},
            "thumbnails": {"enabled": False},
        },
    )


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one moment."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@pytest.fixture(scope="module")
def sequential_run(ray_session, clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("sequential")
    settings = {"parallel_strategy": "sequential", "max_memory_gb": 0.2, "queue_management": "smart"}
    result = run_batch(config(clips, out, "ray", settings, {"consistent_settings": True}))
    return result, out


def spans(metrics: list[dict]) -> dict[str, tuple[float, float]]:
    """Per video: from its first stage's start to its last stage's end."""
    by_video: dict[str, list[dict]] = {}
    for row in metrics:
        by_video.setdefault(row["video"], []).append(row)
    return {
        video: (min(r["start"] for r in rows).timestamp(), max(r["end"] for r in rows).timestamp())
        for video, rows in by_video.items()
    }


def test_sequential_never_works_on_two_videos_at_once_and_starts_the_longest(sequential_run):
    result, out = sequential_run
    assert result.ok, result.failed
    metrics = read_metrics(out)
    by_video = spans(metrics)
    assert max_overlap(list(by_video.values())) == 1
    assert sorted(by_video, key=lambda v: by_video[v][0]) == ["b_long", "c_mid", "a_short"]
    report = load_report(out)
    assert (
        report["scheduling"]["strategy"] == "sequential"
        and report["scheduling"]["videos_in_flight_limit"] == 1
    )


def test_a_small_memory_budget_runs_one_encoder_at_a_time(sequential_run):
    _result, out = sequential_run
    encodes = [
        (r["start"].timestamp(), r["end"].timestamp()) for r in read_metrics(out) if r["stage"] == "encode"
    ]
    assert len(encodes) >= 3 and max_overlap(encodes) == 1
    assert load_report(out)["pool"]["size"] == 1


def test_consistent_settings_give_every_video_the_same_encoder_settings(sequential_run):
    _result, out = sequential_run
    videos = load_report(out)["videos"]
    assert len({str(v["encoding"]) for v in videos}) == 1
    assert len({str(v["enhancement"]) for v in videos}) == 1


def test_every_output_is_scored_against_its_source_and_the_batch_spread_reported(sequential_run):
    _result, out = sequential_run
    videos = load_report(out)["videos"]
    assert all(v["quality"]["samples"] == 4 and v["quality"]["ssim"] > 0.9 for v in videos)
    consistency = json.loads((out / "summary" / "processing_metrics.json").read_text())["quality_consistency"]
    assert consistency["videos_scored"] == 3 and consistency["ssim"]["spread"] >= 0
    verify = [r for r in read_metrics(out) if r["stage"] == "verify"]
    assert sorted(r["ssim"] for r in verify) == sorted(v["quality"]["ssim"] for v in videos)
    assert all(r["psnr_db"] > 20 for r in verify)


def test_per_node_cpu_and_memory_go_into_the_processing_metrics(sequential_run):
    _result, out = sequential_run
    metrics = json.loads((out / "summary" / "processing_metrics.json").read_text())
    (node,) = metrics["resource_efficiency"]["nodes"].values()
    assert node["samples"] >= 1 and 0 < node["memory_peak_bytes"] <= node["memory_total_bytes"]
    assert 0 <= node["cpu_mean_percent"] <= node["cpu_peak_percent"] <= 100


def x264_crfs(path) -> set[str]:
    """The CRF of every x264 encode whose settings the stream carries (one per segment)."""
    return set(re.findall(rb"crf=([0-9.]+)", path.read_bytes()))


def test_under_sustained_pressure_later_videos_step_down_and_none_mixes_presets(clips, tmp_path):
    # Any machine uses more than 0.05 GB: the gate closes at the first reading and stays closed.
    settings = {"max_concurrent_jobs": 1, "adaptive_quality": True, "memory_threshold_gb": 0.05}
    result = run_batch(
        config(clips, tmp_path, "local", settings, {"quality": "medium", "segment_seconds": 5})
    )
    assert result.ok, result.failed
    report = load_report(tmp_path)
    actions = [a["action"] for a in report["scheduling"]["adaptations"]]
    assert actions[0] == "hold" and "quality_down" in actions
    qualities = {v["video"]: v["encoding"]["quality"] for v in report["videos"]}
    assert qualities["a_short"] == "medium"  # it started before any reading
    assert "low" in qualities.values()
    for entry in report["videos"]:
        crfs = x264_crfs(tmp_path / entry["video"] / "video" / f"enhanced_{entry['video']}.mp4")
        assert crfs == {f"{entry['encoding']['crf']}.0".encode()}
        assert ("adapted" in entry["encoding"]) == (entry["encoding"]["quality"] == "low")
