"""``--batch-api-calls`` against a real loopback server through the real ``openai`` client:
one Batch API job where the server has files and batches, combined calls where it has not,
each video's answer validated on its own, and every answer kept for the next run."""

from __future__ import annotations

import json

import pytest

from raybatch.config.model import MetadataSettings
from raybatch.llm.batching import BatchOptions, PendingRequest, context_groups, send_together
from raybatch.llm.budget import BudgetLedger
from raybatch.llm.client import Caller, chat_endpoint
from raybatch.package.writers import LlmWriter, MetadataDraft, VideoFacts
from tests.openai_server import OpenAIStub

KEY = "sk-test-SECRET-0123456789abcdef"
PRICE = {"input": 1000.0, "output": 2000.0}
VIDEOS = ("intro", "loops", "functions")


def stub_server(batch_api: bool):
    server = OpenAIStub(batch_api=batch_api).start()
    yield server
    server.stop()


@pytest.fixture
def with_batches():
    yield from stub_server(True)


@pytest.fixture
def without_batches():
    yield from stub_server(False)


def caller_for(server, tmp_path, monkeypatch, **llm) -> Caller:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    settings = MetadataSettings(
        llm={"base_url": server.base_url, "model": "stub-model", "backoff_s": 0.01, "max_attempts": 2,
             "cache_dir": str(tmp_path / "cache"), "prices": {"stub-model": PRICE}, **llm},
    )  # fmt: skip
    return Caller(chat_endpoint(settings.model_dump()), BudgetLedger())


def pending(caller: Caller) -> list[PendingRequest]:
    writer = LlmWriter(caller)
    requests = []
    for index, video in enumerate(VIDEOS):
        facts = VideoFacts(f"{video}.mp4", 90.0, 95.0, "educational", "en", chapter_count=3 + index)
        _, messages, _, cap = writer.request(facts)
        requests.append(PendingRequest(video, messages, cap))
    return requests


def send(caller, requests, **kw):
    settings = {"context_tokens": 16000, "wait_s": 30.0, "poll_s": 0.01, "price_factor": 0.5, **kw}
    return send_together(caller, requests, MetadataDraft, BatchOptions(**settings))


def test_one_batch_api_job_answers_every_video(with_batches, tmp_path, monkeypatch):
    caller = caller_for(with_batches, tmp_path, monkeypatch)
    requests = pending(caller)
    outcome = send(caller, requests)
    assert set(outcome.answers) == set(VIDEOS) and set(outcome.route.values()) == {"batch_api"}
    (job,) = with_batches.batch_jobs()
    assert job["status"] == "completed" and job["request_counts"]["total"] == 3
    assert with_batches.chat_requests() == [], "no chat call: the job carried them all"
    uploads = [r for r in with_batches.requests if r["path"].endswith("/files")]
    assert len(uploads) == 1
    for video in VIDEOS:
        draft = MetadataDraft.model_validate_json(outcome.answers[video])
        assert draft.title.startswith("Python Loops")
    usage = outcome.usage
    assert usage["calls"] == 1 and usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    full = (usage["input_tokens"] * PRICE["input"] + usage["output_tokens"] * PRICE["output"]) / 1e6
    assert usage["cost_usd"] == pytest.approx(full * 0.5), "the Batch API's price"
    # Kept under each video's own request: the same requests again make no call at all.
    again = caller_for(with_batches, tmp_path, monkeypatch)
    for request in requests:
        assert again.known_answer("video_metadata", request.messages, MetadataDraft, request.max_tokens)
    assert len(with_batches.batch_jobs()) == 1


def test_a_job_past_the_wait_is_cancelled_and_nothing_is_answered(with_batches, tmp_path, monkeypatch):
    with_batches.batch_polls_in_progress = 10_000
    caller = caller_for(with_batches, tmp_path, monkeypatch)
    outcome = send(caller, pending(caller), wait_s=0.3)
    assert outcome.answers == {} and "cancelled" in outcome.note
    assert with_batches.batch_jobs()[0]["status"] == "cancelled"
    assert caller.ledger.totals()["calls"] == 1 and caller.ledger.reserved == 0


def test_without_a_batch_api_the_videos_share_one_combined_call(without_batches, tmp_path, monkeypatch):
    caller = caller_for(without_batches, tmp_path, monkeypatch)
    outcome = send(caller, pending(caller))
    assert set(outcome.answers) == set(VIDEOS) and set(outcome.route.values()) == {"combined"}
    (call,) = without_batches.chat_requests()
    prompt = json.loads(call["body"])["messages"][1]["content"]
    assert all(f"=== Video id={video} ===" in prompt for video in VIDEOS)
    for index, video in enumerate(VIDEOS):
        draft = MetadataDraft.model_validate_json(outcome.answers[video])
        assert len(draft.chapter_titles) == 3 + index, "each video's answer is its own"
    assert outcome.usage["calls"] == 1


def test_a_combined_call_that_fails_falls_back_to_one_call_per_video(without_batches, tmp_path, monkeypatch):
    without_batches.script.extend(["malformed", "malformed"])  # both attempts of the combined call
    caller = caller_for(without_batches, tmp_path, monkeypatch)
    outcome = send(caller, pending(caller))
    assert set(outcome.route.values()) == {"separate"} and len(outcome.answers) == 3
    assert len(without_batches.chat_requests()) == 2 + 3


def test_groups_fit_the_models_context(without_batches, tmp_path, monkeypatch):
    caller = caller_for(without_batches, tmp_path, monkeypatch)
    requests = pending(caller)
    one = context_groups(requests, MetadataDraft, 16000, 900)
    assert [len(g) for g in one] == [3]
    small = context_groups(requests, MetadataDraft, 3500, 900)
    assert len(small) > 1 and sum(len(g) for g in small) == 3
