"""The guide's "API Cost Optimization" flags through the CLI, against an OpenAI-speaking server on
loopback (with files and batches, and without): fewer calls with ``--batch-api-calls``, fewer
tokens with ``--optimize-requests``, near duplicates answered once with ``--cache-similar-content``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers import load_report
from tests.helpers import run_raybatch as raybatch
from tests.openai_server import OpenAIStub
from tests.synthetic_speech import ROOMS, make_speech_clip

pytestmark = pytest.mark.e2e

KEY = "sk-e2e-api-cost-7c1d"
FLAGS = ("--executor", "local", "--quality", "low", "--mode", "fast", "--no-progress-bar", "--transcribe")
VIDEOS = ("bread", "lecture", "lecture_reupload")


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """Two recordings, and the second again under another name (a re-upload)."""
    root = tmp_path_factory.mktemp("api_cost_in")
    make_speech_clip(root / "bread.mp4", ROOMS["close"], second_speaker=False, seed=1, phrases=3)
    make_speech_clip(root / "lecture.mp4", ROOMS["close"], second_speaker=False, seed=2, phrases=3)
    shutil.copy(root / "lecture.mp4", root / "lecture_reupload.mp4")
    return root


def process(videos: Path, root: Path, name: str, server: OpenAIStub, *flags: str) -> dict:
    """One job with its own response cache (the analysis cache is shared: it is not the subject)."""
    config = root / f"{name}.yaml"
    llm = {"model": "stub-model", "cache_dir": str(root / f"llm-{name}"), "backoff_s": 0.01,
           "batch_poll_s": 0.05, "prices": {"stub-model": {"input": 0.15, "output": 0.6}}}  # fmt: skip
    config.write_text(
        yaml.safe_dump({"output": {"cache_dir": str(root / "cache")}, "metadata": {"llm": llm}})
    )
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url}
    out = root / name
    result = raybatch("batch", "process", str(videos), "--output", str(out), "--config", str(config),
                      *FLAGS, *flags, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return load_report(out)


def metadata(root: Path, run: str, video: str) -> dict:
    return json.loads((root / run / video / "metadata" / "metadata.json").read_text())


@pytest.fixture(scope="module")
def runs(videos, tmp_path_factory):
    """The same batch five ways; what each server received."""
    root = tmp_path_factory.mktemp("api_cost")
    reports, received = {}, {}
    for name, batch_api, flags in [
        ("plain", True, ()),
        ("optimized", True, ("--optimize-requests",)),
        ("similar", True, ("--cache-similar-content",)),
        ("guide", True, ("--batch-api-calls", "--optimize-requests", "--cache-similar-content")),
        ("no_batch_api", False, ("--batch-api-calls",)),
    ]:
        server = OpenAIStub(batch_api=batch_api).start()
        try:
            reports[name] = process(videos, root, name, server, *flags)
        finally:
            server.stop()
        received[name] = server
    return root, reports, received


def test_optimized_requests_send_fewer_tokens_for_the_same_metadata(runs):
    root, reports, received = runs
    plain, optimized = reports["plain"]["api"], reports["optimized"]["api"]
    assert plain["calls"] == optimized["calls"] == 3 + 2  # 3 metadata calls, 2 distinct recordings
    assert optimized["input_tokens"] < 0.8 * plain["input_tokens"], (optimized, plain)
    capped = [json.loads(r["body"])["max_tokens"] for r in received["optimized"].chat_requests()]
    assert all(cap < 900 for cap in capped)
    for video in VIDEOS:
        assert metadata(root, "optimized", video)["writer"]["kind"] == "llm"


def test_a_near_duplicate_reuses_the_earlier_answer(runs):
    root, reports, received = runs
    api = reports["similar"]["api"]
    assert len(received["similar"].chat_requests()) == 2 and api["similar_hits"] == 1
    reused = metadata(root, "similar", "lecture_reupload")
    assert reused["writer"]["cached"] and reused["writer"]["similar"] >= 0.9
    assert reused["title"] == metadata(root, "similar", "lecture")["title"]


def test_the_guides_command_sends_one_batch_job(runs):
    root, reports, received = runs
    server = received["guide"]
    (job,) = server.batch_jobs()
    assert job["status"] == "completed" and job["request_counts"]["total"] == 2  # the re-upload is not sent
    assert server.chat_requests() == []
    for video in VIDEOS:
        document = metadata(root, "guide", video)
        assert document["writer"]["kind"] == "llm" and document["title"].startswith("Python Loops")
    assert metadata(root, "guide", "lecture_reupload")["writer"]["sent"] == "same as lecture"
    api = reports["guide"]["api"]
    assert api["similar_hits"] == 1 and api["input_tokens"] > 0


def test_without_a_batch_api_the_videos_go_in_one_combined_call(runs):
    root, _, received = runs
    (call,) = received["no_batch_api"].chat_requests()
    assert "=== Video id=lecture_reupload ===" in json.loads(call["body"])["messages"][1]["content"]
    assert {metadata(root, "no_batch_api", v)["writer"]["sent"] for v in VIDEOS} == {"combined"}


def test_the_estimate_accounts_for_the_flags(videos):
    env = {"OPENAI_API_KEY": KEY}
    flags = ("--transcribe", "--batch-api-calls", "--optimize-requests", "--cache-similar-content")
    result = raybatch("batch", "estimate", str(videos), *flags, env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.split()}
    assert rows["lecture_reupload.mp4"][2:4] == ["0", "0"], "a copy: its transcript and answer are reused"
    assert rows["bread.mp4"][2] == "1" and rows["lecture.mp4"][2] == "1"  # transcription; metadata batched
    assert "batch job" in result.stdout and "--batch-api-calls:" in result.stdout
    assert int(rows["total"][1]) == 1 + 1 + 1  # two transcriptions and the batch's one job
