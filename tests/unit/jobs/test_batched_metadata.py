"""The batched metadata step's bookkeeping: kept requests never reach the reports, and an answer
rewrites the published document (the sending itself is tested against a loopback server in
tests/integration/llm/test_batching.py)."""

from __future__ import annotations

import json

from raybatch.config import load_config
from raybatch.io.layout import Layout
from raybatch.jobs.batched_metadata import PENDING, complete_batched_metadata, rewrite_metadata
from raybatch.jobs.records import Outcome
from raybatch.package.writers import MetadataDraft

REQUEST = {"video": "talk", "messages": [{"role": "user", "content": "x"}], "max_tokens": None}


def test_without_a_key_at_the_driver_nothing_is_sent_and_the_requests_are_dropped(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = load_config(None, {"input": "/in", "metadata": {"llm": {"batch_api_calls": True}}})
    outcome = Outcome("talk", "/in/talk.mp4", "talk.mp4", "done", package={"title": "T", PENDING: REQUEST})
    failed = Outcome("bad", "/in/bad.mp4", "bad.mp4", "failed", package={PENDING: REQUEST})
    assert (
        complete_batched_metadata(config, [outcome, failed], Layout(str(tmp_path), "batch_1"), None) is None
    )
    assert outcome.package == {"title": "T"} and failed.package == {}


def test_an_answer_rewrites_the_published_metadata(tmp_path):
    document = {
        "title": "Talk", "description": "Offline.", "tags": ["a"], "keywords": [], "duration_s": 120.0,
        "chapters": [{"start_s": 0.0, "end_s": 60.0, "title": "Intro", "evidence": "time"},
                     {"start_s": 60.0, "end_s": 120.0, "title": "Part 2", "evidence": "time"}],
        "chapters_text": "", "thumbnail_text": "Talk", "series": {"name": "Course", "episode": 2},
    }  # fmt: skip
    (tmp_path / "talk" / "metadata").mkdir(parents=True)
    (tmp_path / "talk" / "metadata" / "metadata.json").write_text(json.dumps(document))
    outcome = Outcome("talk", "/in/talk.mp4", "talk.mp4", "done", folder="talk")
    draft = MetadataDraft(
        title="Loops Explained", description="A lesson on loops.", tags=["python"], chapter_titles=["Start"],
        thumbnail_text="Loops",
    )  # fmt: skip
    writer = {"kind": "llm", "model": "m", "sent": "batch_api"}
    title = rewrite_metadata(Layout(str(tmp_path), "batch_1"), outcome, draft, writer, {"calls": 1})
    written = json.loads((tmp_path / "talk" / "metadata" / "metadata.json").read_text())
    assert title == written["title"] and "Loops Explained" in title and "2" in title
    assert [c["title"] for c in written["chapters"]] == ["Start", "Part 2"], "a missing title keeps its own"
    assert written["chapters_text"].splitlines() == ["00:00 Start", "01:00 Part 2"]
    assert written["description"].startswith("A lesson on loops.\n\nChapters:\n00:00 Start")
    assert written["writer"] == writer and written["usage"] == {"calls": 1}
