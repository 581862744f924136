"""The caches through the CLI: a second job over the same inputs reuses the first one's media
work, copies of one input are processed once, and ``--cache-strategy off`` keeps nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_av
from tests.helpers import assert_verified_output, load_report, read_metrics
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.e2e

FAST = ("--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar")
MEDIA_CACHES = ("audio", "probe", "segments", "thumbnails", "verify")


def process(videos: Path, out: Path, *flags: str) -> dict:
    result = raybatch("batch", "process", str(videos), "--output", str(out), *FAST, *flags)
    assert result.returncode == 0, result.stderr
    return load_report(out)


def assert_output(out: Path, name: str, duration: float) -> None:
    path = out / name / "video" / f"enhanced_{name}.mp4"
    assert_verified_output(path, expected_duration=duration, fps="25/1", has_audio=True)


@pytest.fixture(scope="module")
def two_jobs(tmp_path_factory):
    """Job 1: two inputs and a copy of one under another name, ``batch_optimized``; job 2: the
    same folder into another output with ``--enable-aggressive-caching``; one cache folder."""
    root = tmp_path_factory.mktemp("caching")
    videos = root / "videos"
    videos.mkdir()
    make_av(videos / "lecture.mp4", duration=4.0)
    make_av(videos / "talk.mp4", size="320x180", duration=3.0)
    shutil.copy(videos / "lecture.mp4", videos / "lecture_reupload.mp4")
    cache = root / "shared-cache"
    first = process(videos, root / "first", "--cache-strategy", "batch_optimized", "--cache-dir", str(cache))
    second = process(videos, root / "second", "--enable-aggressive-caching", "--cache-dir", str(cache))
    return root, first, second


def test_a_copy_under_another_name_is_processed_once_per_batch(two_jobs):
    root, first, _ = two_jobs
    assert first["caches"]["same_content_as"] == {"lecture_reupload": "lecture"}
    copy = [m for m in read_metrics(root / "first") if m["video"] == "lecture_reupload"]
    encodes = [m for m in copy if m["stage"] == "encode"]
    assert encodes and {m["status"] for m in encodes} == {"cached"}, "the copy's segments came from the cache"
    assert {m["stage"]: m["status"] for m in copy}["edit_audio"] == "cached"
    durations = {v["video"]: v["output_duration_s"] for v in first["videos"]}
    assert durations["lecture"] == durations["lecture_reupload"]
    for name in ("lecture", "lecture_reupload"):
        assert_output(root / "first", name, durations[name])


def test_a_second_job_over_the_same_inputs_hits_every_cache(two_jobs):
    root, first, second = two_jobs
    by_cache = second["caches"]["by_cache"]
    assert set(MEDIA_CACHES) <= set(by_cache)
    for name in MEDIA_CACHES:
        assert by_cache[name]["misses"] == 0 and by_cache[name]["hits"] > 0, (name, by_cache[name])
    assert by_cache["segments"]["bytes_read"] > 0
    metrics = json.loads((root / "second" / "summary" / "processing_metrics.json").read_text())
    assert metrics["segments_encoded"] == 0 and metrics["caches"]["by_cache"] == by_cache
    for video in first["videos"]:
        name = video["video"]
        again = next(v for v in second["videos"] if v["video"] == name)
        assert again["output_duration_s"] == video["output_duration_s"]
        assert_output(root / "second", name, video["output_duration_s"])


def test_the_caches_stay_in_the_folder_given_and_within_its_bound(two_jobs):
    root, *_ = two_jobs
    cache = root / "shared-cache"
    assert {p.name for p in cache.iterdir()} == {"analysis", *MEDIA_CACHES}
    assert list((cache / "segments").glob("segment-*.mp4"))
    assert not (root / "first" / ".raybatch" / "cache").exists()
    assert not [p for p in cache.rglob("*") if ".part-" in p.name], "no temporary file is left"


def test_strategy_off_caches_nothing(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    make_av(videos / "clip.mp4", size="320x180", duration=2.0)
    report = process(videos, tmp_path / "out", "--cache-strategy", "off")
    assert report["caches"]["by_cache"] == {} and report["caches"]["strategy"] == "off"
    assert not (tmp_path / "out" / ".raybatch" / "cache").exists()
