"""The LLM layer against a real HTTP server on loopback, through the real ``openai`` client:
retries, re-asking on malformed JSON, timeouts, the cache, cost accounting, the budget cap and
the key never leaking."""

from __future__ import annotations

import pytest

from raybatch.config.model import MetadataSettings
from raybatch.llm.budget import BudgetLedger
from raybatch.llm.client import (
    BudgetExceeded,
    Caller,
    LlmUnavailable,
    chat_endpoint,
    prompt_token_bound,
    transcription_endpoint,
)
from raybatch.llm.estimate import estimate_video
from raybatch.package.writers import LlmWriter, MetadataDraft, VideoFacts, llm_messages
from tests.openai_server import OpenAIStub

KEY = "sk-test-SECRET-0123456789abcdef"
PRICE = {"input": 1000.0, "output": 2000.0}  # USD per million tokens: big enough to see


@pytest.fixture
def stub():
    server = OpenAIStub().start()
    yield server
    server.stop()


@pytest.fixture
def settings(stub, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = MetadataSettings(
        llm={"base_url": stub.base_url, "model": "stub-model", "timeout_s": 1.0, "backoff_s": 0.01,
             "max_attempts": 3, "cache_dir": str(tmp_path / "cache"), "prices": {"stub-model": PRICE}},
        transcript={"enabled": True, "price_per_minute": 0.5},
    )  # fmt: skip
    return config.model_dump()


def facts(chapters=3) -> VideoFacts:
    return VideoFacts(
        file_name="loops.mp4",
        duration_s=95.0,
        source_duration_s=100.0,
        content_type="educational",
        language="en",
        chapter_count=chapters,
    )


def write(settings, ledger=None):
    caller = Caller(chat_endpoint(settings), ledger or BudgetLedger())
    return LlmWriter(caller).write(facts()), caller


def test_no_key_means_no_endpoint(settings, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    assert chat_endpoint(settings) is None and transcription_endpoint(settings) is None


def test_answer_is_validated_priced_and_sent_with_the_key(stub, settings):
    draft, caller = write(settings)
    assert draft.title == "Python Loops Explained" and len(draft.chapter_titles) == 3
    (request,) = stub.chat_requests()
    assert request["authorization"] == f"Bearer {KEY}"
    (record,) = caller.records
    assert record.attempts == 1 and not record.cached and record.input_tokens > 0
    expected = (record.input_tokens * PRICE["input"] + record.output_tokens * PRICE["output"]) / 1e6
    assert record.cost_usd == pytest.approx(expected)
    assert caller.usage()["cost_usd"] == pytest.approx(expected, abs=1e-6)


def test_429_and_500_are_retried_with_backoff(stub, settings):
    stub.script.extend(["429", "500"])
    draft, caller = write(settings)
    assert draft.title and len(stub.chat_requests()) == 3
    assert caller.records[0].attempts == 3


def test_malformed_json_is_asked_again_and_paid_for(stub, settings):
    stub.script.append("malformed")
    ledger = BudgetLedger()
    draft, caller = write(settings, ledger)
    assert draft.title and len(stub.chat_requests()) == 2
    # Both answers used tokens: both are in the cost.
    assert ledger.totals()["calls"] == 2 and caller.records[0].output_tokens > len(draft.title) // 4


def test_a_timeout_is_retried(stub, settings):
    stub.slow_s = 2.0  # the client waits 1 s
    stub.script.append("slow")
    draft, caller = write(settings)
    assert draft.title and caller.records[0].attempts == 2


def test_giving_up_after_the_last_attempt(stub, settings):
    stub.script.extend(["500", "500", "500"])
    with pytest.raises(LlmUnavailable, match="HTTP 500"):
        write(settings)
    assert len(stub.chat_requests()) == 3


def test_an_endpoint_that_failed_every_attempt_is_not_asked_again_this_run(stub, settings, caplog):
    """The second video of the run does not wait out the same retries: the ledger the run
    shares says the endpoint is down, once, on the console."""
    stub.script.extend(["500", "500", "500"])
    ledger = BudgetLedger()
    with pytest.raises(LlmUnavailable, match="HTTP 500"):
        write(settings, ledger)
    with pytest.raises(LlmUnavailable, match="did not answer earlier in this run"):
        write(settings, ledger)
    assert len(stub.chat_requests()) == 3
    said = [r for r in caplog.records if "did not answer" in r.getMessage()]
    assert len(said) == 1 and "offline metadata" in said[0].getMessage()
    # A wrong key is not "down": the next video still asks (and learns the same answer).
    fresh = BudgetLedger()
    stub.script.append("401")
    with pytest.raises(LlmUnavailable):
        write(settings, fresh)
    assert fresh.down_reason() is None


def test_the_key_never_appears_in_an_error(stub, settings):
    stub.script.append("401")  # the server echoes the key back, as some do
    with pytest.raises(LlmUnavailable) as caught:
        write(settings)
    assert KEY not in str(caught.value) and "***" in str(caught.value)
    assert len(stub.chat_requests()) == 1  # a wrong key is not retried


def test_second_identical_request_comes_from_the_cache(stub, settings):
    first, _ = write(settings)
    ledger = BudgetLedger()
    second, caller = write(settings, ledger)
    assert second == first and len(stub.chat_requests()) == 1
    assert caller.records[0].cached and caller.usage()["cost_usd"] == 0
    assert ledger.totals()["cached_calls"] == 1 and ledger.totals()["calls"] == 0


def test_budget_is_a_hard_cap(stub, settings):
    messages = llm_messages(facts())
    worst = (
        prompt_token_bound(messages, MetadataDraft.model_json_schema()) * PRICE["input"]
        + settings["llm"]["max_output_tokens"] * PRICE["output"]
    ) / 1e6
    ledger = BudgetLedger(budget_usd=worst * 0.99)
    with pytest.raises(BudgetExceeded):
        write(settings, ledger)
    assert stub.chat_requests() == [] and ledger.totals()["refused"] == 1
    ledger = BudgetLedger(budget_usd=worst * 1.05)
    write(settings, ledger)
    assert 0 < ledger.totals()["cost_usd"] <= worst * 1.05
    # What is left cannot cover another worst case: the next video is refused, not overspent.
    with pytest.raises(BudgetExceeded):
        LlmWriter(Caller(chat_endpoint(settings), ledger)).write(facts(chapters=4))
    assert len(stub.chat_requests()) == 1


def test_transcription_is_priced_by_the_minute_and_cached(stub, settings, tmp_path):
    audio = tmp_path / "speech.mp3"
    audio.write_bytes(b"ID3 not really audio, the stub does not decode it")
    ledger = BudgetLedger()
    caller = Caller(transcription_endpoint(settings), ledger)
    result = caller.transcribe(str(audio), minutes=2.0, offset_s=10.0)
    assert result["language"] == "english"
    assert result["segments"][0] == pytest.approx(
        (10.4, 13.8, "Welcome to this lesson about Python loops and iteration.")
    )
    assert ledger.totals()["cost_usd"] == pytest.approx(1.0) and ledger.totals()["audio_minutes"] == 2.0
    again = Caller(transcription_endpoint(settings), ledger).transcribe(str(audio), minutes=2.0)
    assert again["text"] == result["text"] and len(stub.transcription_requests()) == 1


def test_estimate_counts_calls_and_bounds_the_cost(settings):
    estimate = estimate_video("loops.mp4", 600.0, settings)
    assert estimate["calls"] == 2  # metadata + transcription
    assert estimate["audio_minutes"] == 10.0
    assert 0 < estimate["cost_usd"] <= estimate["worst_case_usd"]
    offline = estimate_video(
        "loops.mp4",
        600.0,
        {**settings, "writer": "offline", "transcript": {**settings["transcript"], "enabled": False}},
    )
    assert offline["calls"] == 0 and offline["cost_usd"] == 0


def test_the_estimate_accounts_for_the_cost_flags(settings):
    def estimate(same_as=None, **llm):
        return estimate_video("loops.mp4", 600.0, {**settings, "llm": {**settings["llm"], **llm}}, same_as)

    plain = estimate()
    optimized = estimate(optimize_requests=True)
    assert optimized["input_tokens"] < 0.7 * plain["input_tokens"]
    assert optimized["worst_case_usd"] < plain["worst_case_usd"]
    batched = estimate(batch_api_calls=True)
    assert batched["calls"] == 1, "the transcription only: the metadata goes in the batch's one job"
    metadata_cost = plain["cost_usd"] - plain["audio_minutes"] * settings["transcript"]["price_per_minute"]
    transcript_cost = batched["audio_minutes"] * settings["transcript"]["price_per_minute"]
    assert batched["cost_usd"] == pytest.approx(transcript_cost + 0.5 * metadata_cost, rel=1e-3)
    copy = estimate("loops.mp4", cache_similar_content=True)
    assert copy["calls"] == 0 and copy["cost_usd"] == 0 and copy["same_as"] == "loops.mp4"
