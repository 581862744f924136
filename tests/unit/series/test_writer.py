"""The series text: the offline writer's playlist and neighbour lines, and the LLM writer
against an OpenAI-speaking server on loopback (its answer, its budget, its fallback)."""

from __future__ import annotations

import pytest

from raybatch.config.loader import load_config
from raybatch.llm.budget import BudgetLedger
from raybatch.series.writer import offline_draft, running_time, series_messages, write_series_text
from tests.openai_server import OpenAIStub

ENTRIES = [
    {"episode": 1, "path": "money_ep1.mp4", "status": "done", "title": "Budgets", "duration_s": 300.0},
    {"episode": 2, "path": "money_ep2.mp4", "status": "failed"},
    {"episode": 3, "path": "money_ep3.mp4", "status": "done", "title": "Saving", "duration_s": 420.0},
    {"episode": 4, "path": "money_ep4.mp4", "status": "done", "title": "Investing", "duration_s": 360.0},
]


def test_the_offline_playlist_walks_the_done_episodes_and_each_names_its_neighbours():
    draft = offline_draft("Money", ENTRIES, "educational")
    assert draft.playlist_title == "Money – Full Course"
    assert draft.playlist_description.splitlines() == [
        "Money, the whole course in order: 4 episodes, about 18 minutes.",
        "1. Budgets",
        "3. Saving",
        "4. Investing",
    ]
    descriptions = draft.descriptions()
    assert sorted(descriptions) == [1, 3, 4]
    assert descriptions[1] == "Episode 1 of 3 in Money: Budgets. Next: episode 3, Saving."
    assert "Previously: episode 1, Budgets. Next: episode 4, Investing." in descriptions[3]
    assert "Next" not in descriptions[4]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(15.2, "15 seconds"), (89, "89 seconds"), (1090, "about 18 minutes"), (4830, "about 1 h 20 min")],
)
def test_running_time_reads_naturally_from_seconds_to_hours(seconds, words):
    assert running_time(seconds) == words


def test_the_request_carries_every_done_episode_in_order():
    messages = series_messages("Money", ENTRIES, "general", "de", ["money"])
    prompt = messages[1]["content"]
    assert "write in 'de'" in prompt and '"title": "Saving"' in prompt
    assert prompt.index("Budgets") < prompt.index("Saving") < prompt.index("Investing")
    assert "money_ep2" not in prompt


@pytest.fixture
def stub(monkeypatch, tmp_path):
    server = OpenAIStub().start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unit")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    yield server
    server.stop()


def _config(tmp_path, writer: str = "auto"):
    llm = {
        "model": "stub-model",
        "cache_dir": str(tmp_path / "cache"),
        "backoff_s": 0.01,
        "prices": {"stub-model": {"input": 50.0, "output": 100.0}},
    }
    return load_config(None, {"metadata": {"writer": writer, "llm": llm}})


def test_the_llm_answer_is_used_and_cached(stub, tmp_path):
    config = _config(tmp_path)
    draft, writer, usage = write_series_text(config, "Money", ENTRIES, [], BudgetLedger(None))
    assert draft.playlist_title == "Money: the whole series"
    assert "It builds on episode 1, Budgets." in draft.descriptions()[3]
    assert writer == {"kind": "llm", "model": "stub-model", "cached": False} and usage["calls"] == 1
    again, writer, usage = write_series_text(config, "Money", ENTRIES, [], BudgetLedger(None))
    assert again == draft and writer["cached"] and usage["calls"] == 0 and usage["cached_calls"] == 1
    assert len(stub.chat_requests()) == 1


def test_no_budget_or_no_answer_falls_back_to_the_offline_text(stub, tmp_path):
    config = _config(tmp_path)
    ledger = BudgetLedger(0.001)
    draft, writer, usage = write_series_text(config, "Money", ENTRIES, [], ledger)
    assert writer == {"kind": "offline", "fallback_reason": "budget"} and usage["calls"] == 0
    assert ledger.totals()["refused"] == 1
    assert draft == offline_draft("Money", ENTRIES, "general") and not stub.chat_requests()
    stub.script.extend(["malformed"] * 5)
    draft, writer, _ = write_series_text(_config(tmp_path / "b"), "Money", ENTRIES, [], BudgetLedger(None))
    assert writer["kind"] == "offline" and writer["fallback_reason"]
    assert draft.playlist_title == "Money – Full Series"


def test_an_llm_writer_without_a_key_says_why(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    _, writer, usage = write_series_text(_config(tmp_path, "llm"), "Money", ENTRIES, [], BudgetLedger(None))
    assert writer == {"kind": "offline", "fallback_reason": "no API key"} and usage is None
