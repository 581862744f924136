"""Names as raybatch shows and makes them: pure string functions, no I/O.

A file name on Linux is bytes; Python holds bytes that are not UTF-8 as lone surrogates, which
open the file but cannot be printed or written as UTF-8. Output names must also fit a
filesystem's 255-byte limit with room for what raybatch adds around them."""

from __future__ import annotations

import hashlib

#: Bytes an output folder or file stem may take: ``enhanced_<stem>.mp4`` and a temporary
#: ``.part-<hex>`` suffix must still fit in 255.
MAX_STEM_BYTES = 200


def printable(text: str) -> str:
    """``text`` with the bytes of a name that is not UTF-8 shown as ``\\xff`` escapes: for
    display, metadata and the names raybatch makes, never for opening the file itself."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def bounded(stem: str, limit: int = MAX_STEM_BYTES) -> str:
    """``stem`` itself when it fits in ``limit`` UTF-8 bytes; else its start, cut on a
    character boundary, and a hash of the whole (two long names stay distinct)."""
    data = stem.encode("utf-8")
    if len(data) <= limit:
        return stem
    digest = hashlib.sha256(data).hexdigest()[:10]
    head = data[: limit - len(digest) - 1].decode("utf-8", "ignore").rstrip(" .")
    return f"{head}_{digest}"
