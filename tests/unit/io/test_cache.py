"""The content caches: keyed by content and settings, least recently used evicted first."""

from __future__ import annotations

import os
import threading
import time

from raybatch.io.cache import ContentCache, cache_key, content_fingerprint


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
    cache, calls = ContentCache(str(tmp_path), 1 << 20), []

    def compute():
        calls.append(1)
        return {"shots": [1, 2]}

    assert cache.get_or_compute("shots-x.json", compute) == {"shots": [1, 2]}
    assert cache.get_or_compute("shots-x.json", compute) == {"shots": [1, 2], "cached": True}
    assert len(calls) == 1 and cache.has("shots-x.json") and not cache.has("shots-y.json")


def test_a_damaged_entry_is_a_miss(tmp_path):
    (tmp_path / "sound-x.json").write_text("{not json")
    assert ContentCache(str(tmp_path), 1 << 20).get("sound-x.json") is None


def test_the_least_recently_used_entries_go_when_the_folder_is_full(tmp_path):
    cache = ContentCache(str(tmp_path), 2500)
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
    cache = ContentCache(str(tmp_path), 1 << 20)
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
    cache = ContentCache(str(tmp_path), 20_000)
    for index in range(15):
        cache.put(f"entry{index}.json", {"data": "x" * 1000})
    assert len(listings) == 1  # the first write; then the tally: 15 KB is under the bound
    for index in range(15, 30):
        cache.put(f"entry{index}.json", {"data": "x" * 1000})
    total = sum(p.stat().st_size for p in tmp_path.glob("*.json"))
    assert total <= 20_000 + 1100  # within one entry of the bound
    assert 1 < len(listings) < 15  # a listing each time the tally passed it, not one per write


def _counted(root, **kw):
    events = []
    cache = ContentCache(str(root), 1 << 20, name="segments", on_lookup=lambda *e: events.append(e), **kw)
    return cache, events


def test_file_entries_round_trip_and_every_lookup_is_counted(tmp_path):
    cache, events = _counted(tmp_path / "cache")
    source, target = tmp_path / "seg.mp4", tmp_path / "out.mp4"
    source.write_bytes(b"encoded" * 100)
    assert not cache.fetch_file("segment-a.mp4", str(target))
    cache.store_file("segment-a.mp4", str(source))
    assert source.exists(), "storing copies, it never takes the file"
    assert cache.fetch_file("segment-a.mp4", str(target)) and target.read_bytes() == source.read_bytes()
    assert events == [("segments", "miss", 0), ("segments", "stored", 700), ("segments", "hit", 700)]


def test_a_file_entry_that_fails_its_check_is_a_miss_and_leaves_nothing(tmp_path):
    cache, events = _counted(tmp_path / "cache")
    source, target = tmp_path / "seg.mp4", tmp_path / "out.mp4"
    source.write_bytes(b"truncated")
    cache.store_file("segment-a.mp4", str(source))
    assert not cache.fetch_file("segment-a.mp4", str(target), check=lambda path: False)
    assert not target.exists() and events[-1] == ("segments", "miss", 0)


def test_a_disabled_cache_finds_nothing_and_keeps_nothing(tmp_path):
    cache, events = _counted(tmp_path / "cache", enabled=False)
    source = tmp_path / "seg.mp4"
    source.write_bytes(b"x")
    cache.store_file("segment-a.mp4", str(source))
    cache.put("probe-a.json", {"a": 1})
    cache.missed()
    assert cache.get("probe-a.json") is None and not cache.fetch_file("segment-a.mp4", str(tmp_path / "o"))
    assert not (tmp_path / "cache").exists() and events == []


def test_jobs_writing_the_same_entry_at_once_leave_one_whole_entry(tmp_path):
    """Two jobs that encoded the same segment store it at the same moment: each write goes to a
    temporary name first, so the entry is always one of the two, never a mix or a half."""
    root = tmp_path / "cache"
    sources = []
    for index in range(8):
        path = tmp_path / f"writer{index}.mp4"
        path.write_bytes(bytes([index]) * 2_000_000)
        sources.append(path)
    caches = [ContentCache(str(root), 1 << 30, name="segments") for _ in sources]
    threads = [
        threading.Thread(target=cache.store_file, args=("segment-a.mp4", str(path)))
        for cache, path in zip(caches, sources, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = (root / "segment-a.mp4").read_bytes()
    assert len(data) == 2_000_000 and len(set(data)) == 1
    assert [p.name for p in root.iterdir()] == ["segment-a.mp4"], "no temporary file is left behind"


def test_eviction_counts_file_entries_and_ignores_writes_in_progress(tmp_path):
    root = tmp_path / "cache"
    cache = ContentCache(str(root), 2500, name="segments")
    for name in ("a", "b", "c"):
        source = tmp_path / f"{name}.mp4"
        source.write_bytes(b"x" * 1000)
        cache.store_file(f"segment-{name}.mp4", str(source))
        os.utime(root / f"segment-{name}.mp4", (time.time() - 100, time.time() - 100))
        time.sleep(0.01)
    in_progress = root / ".segment-d.mp4.part-0123456789ab"
    in_progress.write_bytes(b"x" * 5000)
    cache.evict()
    assert in_progress.exists() and len(list(root.glob("segment-*.mp4"))) == 2
