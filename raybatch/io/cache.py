"""The analysis cache: results keyed by the input's content and the analysis settings.

Entries are small JSON files in a folder (by default inside the output, configurable to a shared
location), so re-running a batch, or another batch over the same files, does not analyse again.
The folder is kept under a size bound by evicting the least recently used entries. The size is
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

from raybatch.io.storage import get_fs, is_local, join, json_text, write_bytes_atomic

log = logging.getLogger(__name__)

#: Bumped whenever analysis output changes meaning, so stale entries are never reused.
ANALYSIS_VERSION = 2
_SAMPLE = 1 << 20

#: What is wrong with an entry read back (``None``: nothing).
EntryCheck = Callable[[dict[str, Any]], str | None]


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


def cache_key(fingerprint: str, part: str, settings: dict[str, Any]) -> str:
    """The entry name for one part of the analysis of one input under given settings."""
    payload = json.dumps(
        {"v": ANALYSIS_VERSION, "fp": fingerprint, "part": part, "s": settings}, sort_keys=True
    )
    return f"{part}-{hashlib.sha256(payload.encode()).hexdigest()[:24]}.json"


#: Per worker process, for every cache folder it wrote to: the bytes listed there plus the
#: bytes this process wrote since.
SIZES: dict[str, int] = {}


class AnalysisCache:
    """Get and put analysis results under ``root``; ``max_bytes`` bounds the folder."""

    def __init__(self, root: str, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes

    def get(self, key: str, check: EntryCheck | None = None) -> dict[str, Any] | None:
        """The entry under ``key``; ``None`` when there is none, or it is unreadable or fails
        ``check`` (what is wrong with it, or ``None``): entries are files anyone may edit."""
        uri = join(self.root, key)
        fs, path = get_fs(uri)
        try:
            with fs.open(path, "rb") as handle:
                data = json.loads(handle.read())
        except (FileNotFoundError, ValueError, OSError):
            return None
        problem = "not a JSON object" if not isinstance(data, dict) else check(data) if check else None
        if problem:
            log.warning("analysis cache entry %s is not valid (%s): analysing again", uri, problem)
            return None
        if is_local(self.root):
            # Recently used entries are evicted last. Object stores cannot change a file's
            # time without rewriting it, so there the order is by write time instead.
            with contextlib.suppress(OSError):
                os.utime(path)
        return data

    def has(self, key: str, check: EntryCheck | None = None) -> bool:
        return self.get(key, check) is not None

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

    def put(self, key: str, value: dict[str, Any]) -> None:
        data = (json_text(value) + "\n").encode("utf-8")
        write_bytes_atomic(join(self.root, key), data)
        if self.root in SIZES:
            SIZES[self.root] += len(data)
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
                e for e in fs.ls(root, detail=True) if e.get("type") == "file" and e["name"].endswith(".json")
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
