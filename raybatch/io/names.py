"""Names as raybatch shows and makes them: pure string functions, no I/O.

A file name on Linux is bytes; Python holds bytes that are not UTF-8 as lone surrogates, which
open the file but cannot be printed or written as UTF-8. Output names must also fit a
filesystem's 255-byte limit with room for what raybatch adds around them."""

from __future__ import annotations

import hashlib
import re
import unicodedata

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


#: Characters no portable file name holds (Windows' set, path separators and control codes,
#: Unicode direction overrides that make a name read differently than it is).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]+')
#: Device names Windows reserves, with any extension (``con.txt`` too).
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9¹²³]|lpt[1-9¹²³])(\..*)?$", re.IGNORECASE)


def safe_name(text: str, fallback: str = "_", limit: int = MAX_STEM_BYTES) -> str:
    """``text`` as one portable path component: unsafe characters as ``_``, no leading or
    trailing dots and spaces (so never ``..``), a reserved device name prefixed with ``_``,
    at most ``limit`` bytes; ``fallback`` when nothing is left."""
    cleaned = " ".join(_UNSAFE.sub("_", printable(unicodedata.normalize("NFC", text))).split())
    cleaned = cleaned.strip(" .")
    if not cleaned:
        return fallback
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    return bounded(cleaned, limit)
