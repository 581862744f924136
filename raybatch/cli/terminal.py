"""What reaches the user's terminal.

Ray's C++ core prints some of its own diagnostics straight to the process's standard error (for
example a note, on every actor pool, about where actor arguments live). For the length of a run
the CLI sends whatever native code writes there to a log file, while everything Python writes
(the live view, messages, logging) still goes to the terminal. ``--verbose`` keeps it all on
the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from raybatch.jobs.ids import raybatch_home


class StderrHandler(logging.StreamHandler):
    """A logging handler that writes to whatever ``sys.stderr`` is when a record comes."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def native_log_path(job_id: str) -> Path:
    """Where a run's native diagnostics go: ``$RAYBATCH_HOME/logs/<job_id>.native.log``."""
    return raybatch_home() / "logs" / f"{job_id}.native.log"


@contextlib.contextmanager
def native_stderr_to(path: Path | None) -> Iterator[None]:
    """Send what native code writes to standard error into ``path`` (``None``: leave it), while
    Python's ``sys.stderr`` stays on the terminal."""
    if path is None or not _is_process_stderr(sys.stderr):
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 2)
    os.close(log)
    previous, sys.stderr = sys.stderr, terminal
    try:
        yield
    finally:
        terminal.flush()
        os.dup2(terminal.fileno(), 2)
        # Left open: loggers set up during the run (Ray's) keep writing to it, to the terminal.
        sys.stderr = previous


def _is_process_stderr(stream) -> bool:
    """Whether ``stream`` writes to file descriptor 2 (not, say, a test's capture buffer)."""
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def native_stderr_through_python() -> Iterator[None]:
    """Pass what native code writes to standard error through Python's ``sys.stderr``, line by
    line (``--verbose``: Ray's own diagnostics stay on the terminal, printed above the live view
    instead of tearing it)."""
    if not _is_process_stderr(sys.stderr):
        yield
        return
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    previous, sys.stderr = sys.stderr, terminal
    relay = threading.Thread(target=_relay_lines, args=(read_end,), name="raybatch-stderr", daemon=True)
    relay.start()
    try:
        yield
    finally:
        os.dup2(terminal.fileno(), 2)  # closes the pipe's last write end: the relay ends
        relay.join(timeout=2)
        terminal.flush()
        sys.stderr = previous


def _relay_lines(read_end: int) -> None:
    with os.fdopen(read_end, "r", encoding="utf-8", errors="backslashreplace") as pipe:
        for line in pipe:
            sys.stderr.write(line)
