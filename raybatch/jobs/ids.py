"""Job identifiers."""

from __future__ import annotations

from datetime import datetime


def new_job_id(now: datetime | None = None) -> str:
    """``batch_YYYYMMDD_HHMMSS`` in local time, as the guide shows."""
    return (now or datetime.now()).strftime("batch_%Y%m%d_%H%M%S")
