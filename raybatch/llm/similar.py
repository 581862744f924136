"""Near-duplicate requests (``--cache-similar-content``): a request whose content is close
enough to an earlier one's reuses that one's answer.

"Content" is what tells one video from another: its transcript. Two requests are near
duplicates when the cosine similarity of their transcripts' sentence embeddings
(all-MiniLM-L6-v2, offline) is at least the configured threshold: a re-upload of one recording,
or an episode re-cut, is; another lecture of the same course is not. A request without enough
transcript to tell videos apart is never matched (the facts alone - a duration, a content type -
say nothing about what a video is about). The index is one small file per answered request,
beside the response cache, so parallel workers add to it without a lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable

import numpy as np

from raybatch.io.storage import get_fs, join, write_json_atomic

log = logging.getLogger(__name__)

#: Below this many characters of transcript a request is not matched.
MIN_CONTENT_CHARS = 200

Embed = Callable[[list[str]], np.ndarray]


def _text_model_embed(texts: list[str]) -> np.ndarray:
    """Embeddings from one all-MiniLM-L6-v2 per process, loaded on first use (CPU, one thread:
    it runs beside the package stage's own work)."""
    global _MODEL
    if _MODEL is None:
        from raybatch.models.text import TextModel

        _MODEL = TextModel(threads=1, prefer_gpu=False)
    return _MODEL.embed(texts)


_MODEL = None


class SimilarRequests:
    """The index of answered requests' content embeddings under ``root``, per model and purpose."""

    def __init__(self, root: str, threshold: float, embed: Embed | None = None):
        self.root = root
        self.threshold = threshold
        self.embed = embed or _text_model_embed

    def _folder(self, model: str, purpose: str) -> str:
        return join(self.root, "similar", hashlib.sha256(model.encode()).hexdigest()[:12], purpose)

    def find(self, model: str, purpose: str, content: str) -> tuple[str, float] | None:
        """The key of the earlier request closest to ``content`` and their similarity, when it
        reaches the threshold."""
        if len(content.strip()) < MIN_CONTENT_CHARS:
            return None
        entries = self._entries(model, purpose)
        if not entries:
            return None
        vector = self.embed([content])[0]
        keys = [key for key, _ in entries]
        scores = np.stack([v for _, v in entries]) @ vector
        best = int(np.argmax(scores))
        if float(scores[best]) < self.threshold:
            return None
        return keys[best], float(scores[best])

    def closest(self, content: str, others: list[str]) -> int | None:
        """Which of ``others`` ``content`` is a near duplicate of (the closest), if any."""
        candidates = [i for i, text in enumerate(others) if len(text.strip()) >= MIN_CONTENT_CHARS]
        if len(content.strip()) < MIN_CONTENT_CHARS or not candidates:
            return None
        vectors = self.embed([content, *(others[i] for i in candidates)])
        scores = vectors[1:] @ vectors[0]
        best = int(np.argmax(scores))
        return candidates[best] if float(scores[best]) >= self.threshold else None

    def add(self, model: str, purpose: str, key: str, content: str) -> None:
        """Index the answered request ``key`` by its content."""
        if len(content.strip()) < MIN_CONTENT_CHARS:
            return
        vector = self.embed([content])[0].astype(np.float32)
        entry = {"key": key, "vector": base64.b64encode(vector.tobytes()).decode("ascii")}
        write_json_atomic(join(self._folder(model, purpose), f"{key}.json"), entry)

    def _entries(self, model: str, purpose: str) -> list[tuple[str, np.ndarray]]:
        fs, folder = get_fs(self._folder(model, purpose))
        try:
            names = [e for e in fs.ls(folder, detail=False) if e.endswith(".json")]
        except FileNotFoundError:
            return []
        entries = []
        for name in names:
            try:
                with fs.open(name, "rb") as handle:
                    data = json.loads(handle.read())
                vector = np.frombuffer(base64.b64decode(data["vector"]), dtype=np.float32)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged entry is skipped: it only costs a call
            entries.append((str(data["key"]), vector))
        return entries
