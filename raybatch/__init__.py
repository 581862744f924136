"""raybatch: a batch AI video editor that scales from a laptop to a Ray cluster."""

from raybatch.api import BatchResult, run_batch
from raybatch.config import RaybatchConfig, load_config

__all__ = ["BatchResult", "RaybatchConfig", "load_config", "run_batch"]
__version__ = "0.1.0"
