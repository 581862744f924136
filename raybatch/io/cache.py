"""Content-addressed caches: results keyed by an input's content and the settings that made them.

Each cache is a folder (by default inside the output, configurable to a shared location with
``--cache-dir``) of entries named by a hash of the input's fingerprint and the settings: small
JSON documents (the analysis, probe results) or files (encoded segments, the normalised audio,
thumbnail frames). So re-running a batch, or another job over the same files, reuses them
instead of doing the work again. An entry appears atomically under its final name, so jobs
writing the same entry at once each leave a whole one, and readers never see half of one.
Each folder is kept under a size bound by evicting the least recently used entries. The size is
tallied per process (:data:`SIZES`): the folder is listed when a process first writes to
it and again only when its tally passes the bound, not on every write (a LIST request each on
object stores). Writers on other nodes are seen at the next listing, so the bound is soft by at
most what they wrote since.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from raybatch.io.storage import (
    TEMP_MARKER,
    copy_file_atomic,
    get_fs,
    is_local,
    join,
    json_text,
    write_bytes_atomic,
)

log = logging.getLogger(__name__)

#: Bumped whenever analysis output changes meaning, so stale entries are never reused.
ANALYSIS_VERSION = 2
_SAMPLE = 1 << 20

#: What is wrong with an entry read back (``None``: nothing).
EntryCheck = Callable[[dict[str, Any]], str | None]
#: Told of every lookup and store: the cache's name, ``hit``, ``miss`` or ``stored``, and the
#: bytes read (a hit) or written (stored).
LookupListener = Callable[[str, str, int], None]

#: The caches, and each one's share of the size bound when the media caches are on (the
#: analysis cache alone has all of it otherwise). Encoded segments are the bulk by far.
CACHE_SHARES = {
    "segments": 0.70,
    "audio": 0.15,
    "thumbnails": 0.05,
    "analysis": 0.07,
    "probe": 0.015,
    "verify": 0.015,
}


def content_fingerprint(uri: str) -> str:
    """A fingerprint of a file's content: its size and three 1 MiB samples (start, middle,
    end), so a re-encoded or edited file never matches while a 10 GB input costs 3 MiB of I/O."""
    fs, path = get_fs(uri)
    size = int(fs.size(path))
    digest = hashlib.sha256(str(size).encode())
    with fs.open(path, "rb") as handle:
        for offset in sorted({0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)}):
            handle.seek(offset)
            digest.update(handle.read(_SAMPLE))
    return f"{size:x}-{digest.hexdigest()[:32]}"


def file_digest(path: str) -> str:
    """The SHA-256 of a whole local file: for work whose verdict must not rest on samples."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def cache_key(fingerprint: str, part: str, settings: dict[str, Any], suffix: str = ".json") -> str:
    """The entry name for one part of the work on one input under given settings."""
    payload = json.dumps(
        {"v": ANALYSIS_VERSION, "fp": fingerprint, "part": part, "s": settings}, sort_keys=True, default=str
    )
    return f"{part}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}{suffix}"


#: Per worker process, for every cache folder it wrote to: the bytes listed there plus the
#: bytes this process wrote since.
SIZES: dict[str, int] = {}


class ContentCache:
    """Get and put entries under ``root``; ``max_bytes`` bounds the folder. A disabled cache
    (``--cache-strategy off``) finds nothing and keeps nothing. ``on_lookup`` hears of every
    hit and miss (the stage's metrics count them)."""

    def __init__(
        self,
        root: str,
        max_bytes: int,
        *,
        name: str = "analysis",
        enabled: bool = True,
        on_lookup: LookupListener | None = None,
    ):
        self.root = root
        self.max_bytes = max_bytes
        self.name = name
        self.enabled = enabled
        self.on_lookup = on_lookup

    def _note(self, event: str, nbytes: int = 0) -> None:
        if self.enabled and self.on_lookup is not None:
            self.on_lookup(self.name, event, nbytes)

    def get(self, key: str, check: EntryCheck | None = None, *, count: bool = True) -> dict[str, Any] | None:
        """The entry under ``key``; ``None`` when there is none, or it is unreadable or fails
        ``check`` (what is wrong with it, or ``None``): entries are files anyone may edit.
        ``count``: tell ``on_lookup`` (not for a mere look whether it is there)."""
        if not self.enabled:
            return None
        uri = join(self.root, key)
        fs, path = get_fs(uri)
        try:
            with fs.open(path, "rb") as handle:
                raw = handle.read()
            data = json.loads(raw)
        except (FileNotFoundError, ValueError, OSError):
            data = raw = None
        problem = "not a JSON object" if not isinstance(data, dict) else check(data) if check else None
        if problem and raw is not None:
            log.warning("%s cache entry %s is not valid (%s): doing the work again", self.name, uri, problem)
        if count:
            if problem:
                self._note("miss")
            else:
                self._note("hit", len(raw or b""))
        if problem:
            return None
        self._touch(path)
        return data

    def fetch_file(self, key: str, local_target: str, check: Callable[[str], bool] | None = None) -> bool:
        """Copy the file entry under ``key`` to ``local_target``; whether there was one that
        passes ``check(local_target)`` (a failing one is left out and the target removed)."""
        if not self.enabled:
            return False
        uri = join(self.root, key)
        fs, path = get_fs(uri)
        try:
            fs.get_file(path, local_target)
        except (FileNotFoundError, OSError):
            self._note("miss")
            return False
        if check is not None and not check(local_target):
            log.warning("%s cache entry %s is not valid: doing the work again", self.name, uri)
            with contextlib.suppress(FileNotFoundError):
                os.remove(local_target)
            self._note("miss")
            return False
        self._touch(path)
        self._note("hit", os.path.getsize(local_target))
        return True

    def store_file(self, key: str, local_source: str) -> None:
        """Keep a copy of the local file ``local_source`` under ``key``."""
        if not self.enabled:
            return
        size = os.path.getsize(local_source)
        copy_file_atomic(local_source, join(self.root, key))
        self._note("stored", size)
        self._grew(size)

    def _touch(self, path: str) -> None:
        if is_local(self.root):
            # Recently used entries are evicted last. Object stores cannot change a file's
            # time without rewriting it, so there the order is by write time instead.
            with contextlib.suppress(OSError):
                os.utime(path)

    def has(self, key: str, check: EntryCheck | None = None) -> bool:
        return self.get(key, check, count=False) is not None

    def get_or_compute(
        self, key: str, compute: Callable[[], dict[str, Any]], check: EntryCheck | None = None
    ) -> dict[str, Any]:
        """The valid entry under ``key`` (marked ``cached``), or ``compute()``'s result, stored."""
        result = self.get(key, check)
        if result is not None:
            return {**result, "cached": True}
        result = compute()
        self.put(key, result)
        return result

    def missed(self) -> None:
        """Count a miss found by an uncounted look (:meth:`has`, ``get(count=False)``)."""
        self._note("miss")

    def counted_put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` after a lookup that was not counted (it missed)."""
        self.missed()
        self.put(key, value)

    def put(self, key: str, value: dict[str, Any]) -> None:
        if not self.enabled:
            return
        data = (json_text(value) + "\n").encode("utf-8")
        write_bytes_atomic(join(self.root, key), data)
        self._note("stored", len(data))
        self._grew(len(data))

    def _grew(self, nbytes: int) -> None:
        if self.root in SIZES:
            SIZES[self.root] += nbytes
        if SIZES.get(self.root, self.max_bytes + 1) > self.max_bytes:
            self.evict()

    def evict(self) -> None:
        """List the folder, remove the least recently used entries until it fits ``max_bytes``,
        and start this process's tally from what is left."""
        fs, root = get_fs(self.root)
        try:
            # Listed fresh: another process may have written since this one last listed.
            fs.invalidate_cache(root)
            entries = [
                e
                for e in fs.ls(root, detail=True)
                if e.get("type") == "file" and TEMP_MARKER not in e["name"].rsplit("/", 1)[-1]
            ]
        except FileNotFoundError:
            return
        total = sum(int(e.get("size") or 0) for e in entries)
        for entry in sorted(entries, key=lambda e: float(e.get("mtime") or 0)):
            if total <= self.max_bytes:
                break
            try:
                fs.rm(entry["name"])
                total -= int(entry.get("size") or 0)
            except FileNotFoundError:
                continue
        SIZES[self.root] = total
