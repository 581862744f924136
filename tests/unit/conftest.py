"""The unit tier starts no Ray: a test that tries fails at once with the reason."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_ray(monkeypatch):
    ray = pytest.importorskip("ray")

    def refuse(*args, **kwargs):
        raise AssertionError("a unit test started Ray: move it to tests/integration (the shared session)")

    # The shared session of another tier may already be up when tiers run together.
    was_initialized = ray.is_initialized()
    monkeypatch.setattr(ray, "init", refuse)
    yield
    assert ray.is_initialized() == was_initialized, "a unit test changed whether Ray runs"
