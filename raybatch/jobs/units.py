"""Durations and sizes as the reports and the live view print them."""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    """``1h 02m 03s`` / ``8m 32s``; "estimating" when unknown."""
    if seconds is None:
        return "estimating"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def byte_size(count: float | None) -> str:
    """``3.2 GiB`` / ``512 MiB`` / ``12.0 KiB``; "–" when unknown."""
    if not count:
        return "–"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}" if unit != "MiB" else f"{count / scale:.0f} {unit}"
    return f"{count:.0f} B"
