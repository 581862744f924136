"""The unit tier starts no Ray: a test that tries fails at once with the reason."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_ray(monkeypatch):
    ray = pytest.importorskip("ray")

    def refuse(*args, **kwargs):
        raise AssertionError("a unit test started Ray: move it to tests/integration (the shared session)")

    monkeypatch.setattr(ray, "init", refuse)
    yield
    assert not ray.is_initialized(), "a unit test left Ray running"
