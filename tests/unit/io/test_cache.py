"""The analysis cache: keyed by content and settings, least recently used evicted first."""

from __future__ import annotations

import os
import time

from raybatch.io.cache import AnalysisCache, cache_key, content_fingerprint


def test_fingerprints_follow_the_content_not_the_name(tmp_path):
    a, b, c = tmp_path / "a.mp4", tmp_path / "b.mp4", tmp_path / "c.mp4"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    c.write_bytes(b"x" * 1_500_000 + b"y" + b"x" * 1_499_999)  # one byte changed in the middle
    assert content_fingerprint(str(a)) == content_fingerprint(str(b)) != content_fingerprint(str(c))


def test_keys_change_with_the_settings_and_the_part():
    assert cache_key("fp", "picture", {"a": 1}) != cache_key("fp", "picture", {"a": 2})
    assert cache_key("fp", "picture", {"a": 1}) != cache_key("fp", "sound", {"a": 1})
    assert cache_key("fp", "shots", {"a": 1}).startswith("shots-")


def test_get_or_compute_computes_once_and_marks_what_came_from_the_cache(tmp_path):
    cache, calls = AnalysisCache(str(tmp_path), 1 << 20), []

    def compute():
        calls.append(1)
        return {"shots": [1, 2]}

    assert cache.get_or_compute("shots-x.json", compute) == {"shots": [1, 2]}
    assert cache.get_or_compute("shots-x.json", compute) == {"shots": [1, 2], "cached": True}
    assert len(calls) == 1 and cache.has("shots-x.json") and not cache.has("shots-y.json")


def test_a_damaged_entry_is_a_miss(tmp_path):
    (tmp_path / "sound-x.json").write_text("{not json")
    assert AnalysisCache(str(tmp_path), 1 << 20).get("sound-x.json") is None


def test_the_least_recently_used_entries_go_when_the_folder_is_full(tmp_path):
    cache = AnalysisCache(str(tmp_path), 2500)
    for name in ("old", "used", "new"):
        cache.put(f"{name}.json", {"data": "x" * 1000})
        os.utime(tmp_path / f"{name}.json", (time.time() - 100, time.time() - 100))
        time.sleep(0.01)
    cache.get("used.json")  # touched: now the most recent
    cache.put("newest.json", {"data": "x" * 1000})
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["newest.json", "used.json"]


def test_an_entry_that_fails_its_check_is_analysed_again_and_replaced(tmp_path, caplog):
    from raybatch.analysis.entries import check_sound

    (tmp_path / "sound-x.json").write_text('{"has_audio": true, "speech": "everywhere"}')
    cache = AnalysisCache(str(tmp_path), 1 << 20)
    fresh = {"has_audio": True, "speech": [[0.0, 1.0]], "silences": []}
    assert cache.get_or_compute("sound-x.json", lambda: fresh, check_sound) == fresh
    assert "is not valid (speech:" in caplog.text
    assert cache.get("sound-x.json", check_sound) == fresh  # replaced with the fresh result
    (tmp_path / "sound-x.json").write_text("[1, 2]")
    assert cache.get("sound-x.json") is None  # not an object: a miss even unchecked


def test_writes_list_the_folder_once_then_only_when_the_tally_passes_the_bound(tmp_path, monkeypatch):
    from fsspec.implementations.local import LocalFileSystem

    listings = []
    real_ls = LocalFileSystem.ls
    monkeypatch.setattr(
        LocalFileSystem, "ls", lambda self, path, **kw: listings.append(path) or real_ls(self, path, **kw)
    )
    cache = AnalysisCache(str(tmp_path), 20_000)
    for index in range(15):
        cache.put(f"entry{index}.json", {"data": "x" * 1000})
    assert len(listings) == 1  # the first write; then the tally: 15 KB is under the bound
    for index in range(15, 30):
        cache.put(f"entry{index}.json", {"data": "x" * 1000})
    total = sum(p.stat().st_size for p in tmp_path.glob("*.json"))
    assert total <= 20_000 + 1100  # within one entry of the bound
    assert 1 < len(listings) < 15  # a listing each time the tally passed it, not one per write
