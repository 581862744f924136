"""Thumbnails and metadata end to end through the CLI: the offline writer, then an
OpenAI-speaking server on loopback (LLM metadata, transcript, captions, cost, cache, budget)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import ffmpeg
from tests.helpers import assert_thumbnails_obey_the_rules, assert_valid_chapters, load_report
from tests.helpers import run_raybatch as raybatch
from tests.openai_server import OpenAIStub

pytestmark = pytest.mark.e2e

KEY = "sk-e2e-DO-NOT-LEAK-5f2c9a"


@pytest.fixture(scope="module")
def lesson(tmp_path_factory) -> Path:
    """36 s in three shots (the second fades out to black), a tone throughout; and a 6 s clip."""
    root = tmp_path_factory.mktemp("publish_in")
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=12",
        "-f", "lavfi", "-i", "mandelbrot=size=640x360:rate=25",
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=12",
        "-f", "lavfi", "-i", "sine=frequency=300:duration=36",
        "-filter_complex",
        "[1:v]trim=duration=12,setpts=PTS-STARTPTS,fade=t=out:st=10.5:d=1.5[m];"
        "[0:v][m][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]",
        "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
        str(root / "python_tutorial_ep03_loops.mp4"),
    )  # fmt: skip
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6", "-f", "lavfi", "-i",
           "sine=duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
           str(root / "short.mp4"))  # fmt: skip
    return root


RUN_FLAGS = ("--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar")


def test_offline_metadata_and_thumbnails(lesson, tmp_path):
    out = tmp_path / "out"
    result = raybatch("batch", "process", str(lesson), "--output", str(out), *RUN_FLAGS)
    assert result.returncode == 0, result.stderr
    episode = out / "python_tutorial_ep03_loops"
    analysis = json.loads((episode / "metadata" / "analysis.json").read_text())
    # The rules below are only as strong as what they are checked against: the two shot changes
    # and the fade to black (22.5-24 s) must have been found.
    assert [round(s["time_s"]) for s in analysis["shots"]] == [12, 24]
    assert any(a <= 23.0 and b >= 23.9 for a, b in analysis["transitions"]), analysis["transitions"]
    assert_thumbnails_obey_the_rules(episode)
    metadata = json.loads((episode / "metadata" / "metadata.json").read_text())
    assert metadata["writer"]["kind"] == "offline"
    assert metadata["title"] == "Python Tutorial – Episode 3: Loops"
    assert metadata["series"] == {"name": "Python Tutorial", "episode": 3}
    assert_valid_chapters(metadata)
    short = json.loads((out / "short" / "metadata" / "metadata.json").read_text())
    assert short["chapters"] == [] and short["chapters_text"] == ""
    assert len(list((out / "short" / "thumbnails").glob("*.jpg"))) == 3
    report = load_report(out)
    assert report["api"]["calls"] == 0 and report["api"]["cost_usd"] == 0


@pytest.fixture(scope="module")
def stub():
    server = OpenAIStub().start()
    yield server
    server.stop()


def llm_config(path: Path, cache: Path) -> Path:
    """An LLM configuration whose runs share one analysis cache beside it: a rerun re-encodes
    but does not run the models again, as a user's rerun would not."""
    path.write_text(
        yaml.safe_dump(
            {
                "output": {"cache_dir": str(path.parent / "analysis-cache")},
                "metadata": {
                    "llm": {
                        "model": "stub-model",
                        "cache_dir": str(cache),
                        "backoff_s": 0.01,
                        "prices": {"stub-model": {"input": 50.0, "output": 100.0}},
                    },
                    "transcript": {"price_per_minute": 0.01},
                },
            }
        )
    )
    return path


def test_llm_metadata_with_transcript_cache_and_budget(lesson, stub, tmp_path):
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": stub.base_url}
    config = llm_config(tmp_path / "llm.yaml", tmp_path / "llm-cache")
    out = tmp_path / "out"
    stub.script.extend(["429", "malformed"])  # one rate limit and one bad answer on the way
    first = raybatch("batch", "process", str(lesson), "--output", str(out), "--config", str(config),
                     "--transcribe", "--budget", "5", *RUN_FLAGS, env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    episode = out / "python_tutorial_ep03_loops"
    metadata = json.loads((episode / "metadata" / "metadata.json").read_text())
    assert metadata["writer"] == {"kind": "llm", "model": "stub-model", "cached": False}
    assert metadata["title"] == "Python Loops Explained"
    assert [c["title"] for c in metadata["chapters"]][:2] == ["Section 1", "Section 2"]
    assert_valid_chapters(metadata)
    srt = (episode / "metadata" / "captions.srt").read_text()
    assert srt.startswith("1\n00:00:00,400 --> ") and "for loop" in srt
    assert (episode / "metadata" / "captions.vtt").read_text().startswith("WEBVTT")
    index = assert_thumbnails_obey_the_rules(episode)
    assert next(t for t in index["thumbnails"] if t["strategy"] == "title")["text"] == "Loops in Python"
    requests_after_first = len(stub.requests)
    assert len(stub.chat_requests()) == 4  # 2 videos + a retried 429 + a re-asked bad answer
    assert len(stub.transcription_requests()) == 2
    api = load_report(out)["api"]
    assert api["calls"] == 6 and 0 < api["cost_usd"] <= 5 and api["budget_usd"] == 5
    assert api["this_run"]["cost_usd"] == pytest.approx(api["cost_usd"], abs=1e-6)

    # Into another folder: every answer comes from the cache.
    again = tmp_path / "again"
    second = raybatch("batch", "process", str(lesson), "--output", str(again), "--config", str(config),
                      "--transcribe", "--budget", "5", *RUN_FLAGS, env=env)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert len(stub.requests) == requests_after_first
    api = load_report(again)["api"]
    assert api["calls"] == 0 and api["cached_calls"] == 4 and api["cost_usd"] == 0

    # A budget too small for one call: no call is made, the metadata is written offline (one
    # video is enough to show it).
    one = tmp_path / "one"
    one.mkdir()
    (one / "python_tutorial_ep03_loops.mp4").symlink_to(lesson / "python_tutorial_ep03_loops.mp4")
    poor = tmp_path / "poor"
    third = raybatch("batch", "process", str(one), "--output", str(poor), "--config",
                     str(llm_config(tmp_path / "other.yaml", tmp_path / "empty-cache")),
                     "--budget", "0.0001", *RUN_FLAGS, env=env)  # fmt: skip
    assert third.returncode == 0, third.stderr
    assert len(stub.requests) == requests_after_first
    metadata = json.loads((poor / "python_tutorial_ep03_loops" / "metadata" / "metadata.json").read_text())
    assert metadata["writer"] == {"kind": "offline", "fallback_reason": "budget"}
    report = load_report(poor)
    assert report["api"]["this_run"]["refused"] >= 1 and report["api"]["cost_usd"] == 0
    assert any("--budget reached" in w for v in report["videos"] for w in v["warnings"])

    # The key is nowhere: outputs, reports, manifests, logs, the cache, the job registry.
    for result in (first, second, third):
        assert KEY not in result.stdout + result.stderr
    roots = [out, again, poor, tmp_path / "llm-cache", Path(os.environ["RAYBATCH_HOME"])]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                assert KEY.encode() not in path.read_bytes(), path


def test_estimate_before_running(lesson, stub, tmp_path):
    config = llm_config(tmp_path / "llm.yaml", tmp_path / "cache")
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": stub.base_url}
    before = len(stub.requests)
    result = raybatch("batch", "estimate", str(lesson), "--config", str(config), "--transcribe",
                      "--budget", "0.0001", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "python_tutorial_ep03_loops.mp4" in result.stdout and "short.mp4" in result.stdout
    total = next(line for line in result.stdout.splitlines() if line.startswith("total"))
    assert int(total.split()[1]) == 4  # a metadata call and a transcription per video
    assert "not enough for every call" in result.stdout
    assert len(stub.requests) == before  # nothing was sent
    offline = raybatch("batch", "estimate", str(lesson))
    assert "offline" in offline.stdout and offline.returncode == 0


def test_the_llm_writes_the_series_playlist_and_neighbour_descriptions(lesson, stub, tmp_path):
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": stub.base_url}
    config = llm_config(tmp_path / "llm.yaml", tmp_path / "series-cache")
    flags = ("--config", str(config), "--coordinate-series", "--series-name", "Python Tutorial")
    estimate = raybatch("batch", "estimate", str(lesson), *flags, env=env)
    assert estimate.returncode == 0, estimate.stderr
    assert "series: Python Tutorial" in estimate.stdout
    total = next(line for line in estimate.stdout.splitlines() if line.startswith("total"))
    assert int(total.split()[1]) == 3  # a metadata call per video and the series call

    out = tmp_path / "out"
    before = len(stub.chat_requests())
    result = raybatch("batch", "process", str(lesson), "--output", str(out), *flags, *RUN_FLAGS, env=env)
    assert result.returncode == 0, result.stderr
    assert len(stub.chat_requests()) == before + 3
    document = json.loads((out / "series_coordination" / "series_metadata.json").read_text())
    playlist = document["playlist"]
    assert playlist["title"] == "Python Tutorial: the whole series"
    assert playlist["writer"] == {"kind": "llm", "model": "stub-model", "cached": False}
    first, second = document["episodes"]
    assert "comes next" in first["series_description"] and "builds on" in second["series_description"]
    metadata = json.loads((out / first["folder"] / "metadata" / "metadata.json").read_text())
    assert metadata["series"]["next"]["episode"] == second["episode"]
    assert metadata["series"]["previous"] is None
    assert metadata["series"]["description"] == first["series_description"]
    api = load_report(out)["api"]
    assert api["calls"] == 3 and api["series"]["calls"] == 1 and api["this_run"]["calls"] == 3
