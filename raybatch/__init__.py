"""raybatch: a batch AI video editor that scales from a laptop to a Ray cluster.

``run_batch(load_config(...))`` runs one batch; see :mod:`raybatch.api`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from raybatch.api import BatchResult, run_batch
    from raybatch.config import RaybatchConfig, load_config

__all__ = ["BatchResult", "RaybatchConfig", "load_config", "run_batch"]
__version__ = "0.1.0"

_EXPORTS = {
    "BatchResult": "raybatch.api",
    "run_batch": "raybatch.api",
    "RaybatchConfig": "raybatch.config",
    "load_config": "raybatch.config",
}


def __getattr__(name: str) -> Any:
    # Imported on first use: Ray workers that only need a small module (a mailbox, a stage)
    # do not load the whole package with it.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'raybatch' has no attribute {name!r}")
