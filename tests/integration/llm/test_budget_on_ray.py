"""Metadata on the Ray executor: every worker spends from one ledger (a named actor), so the
budget holds across parallel finish tasks."""

from __future__ import annotations

import json
import shutil

import pytest

from raybatch import load_config, run_batch
from tests.openai_server import OpenAIStub


@pytest.fixture(scope="module")
def stub():
    server = OpenAIStub().start()
    yield server
    server.stop()


def config(batch_dir, out, stub, cache, budget):
    return load_config(
        None,
        {
            "input": str(batch_dir),
            "batch": {"executor": "ray"},
            "processing": {"quality": "low", "mode": "fast"},
            "output": {"directory": str(out)},
            "monitoring": {"enable_progress_tracking": False},
            "metadata": {
                "budget_usd": budget,
                "llm": {
                    "base_url": stub.base_url,
                    "model": "stub-model",
                    "cache_dir": str(cache),
                    "prices": {"stub-model": {"input": 100.0, "output": 100.0}},
                },
            },
        },
    )


def test_one_budget_for_all_workers(ray_session, media, stub, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ray-test")
    batch_dir = tmp_path / "in"
    batch_dir.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        shutil.copy(media["short_audio"], batch_dir / name)
    # Enough for one worst-case call, not two: exactly one video gets LLM metadata.
    result = run_batch(config(batch_dir, tmp_path / "out", stub, tmp_path / "cache", budget=0.28))
    assert all(o.done for o in result.outcomes)
    writers = [o.package["writer"]["kind"] for o in result.outcomes]
    report = json.loads((tmp_path / "out" / "summary" / "batch_report.json").read_text())
    spent = report["api"]["this_run"]
    assert len(stub.chat_requests()) == spent["calls"] == writers.count("llm")
    assert 0 < spent["cost_usd"] <= 0.28 and spent["refused"] == writers.count("offline") >= 1
