"""The live progress view of a running batch: a panel kept current on a terminal, plain lines
otherwise (one per state change and a periodic summary), both from ``raybatch.cli.live``.

It is fed by the run's events (rows back from the stages, videos finished) and by a ticker that
keeps the clocks moving between them; it never polls files. On a terminal, log records print
above the panel (rich redirects the streams while it is live), so logging never tears it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live

from raybatch.cli import live
from raybatch.jobs.manifest import JobManifest

#: Seconds between plain summary lines (and the first one comes within this of the start).
PLAIN_SUMMARY_S = 10.0
#: Seconds between redraws of the terminal panel when nothing else happens.
TICK_S = 1.0


class ProgressView:
    """Listener for :func:`raybatch.run_batch`: the guide's progress view of ``manifest``'s run."""

    def __init__(self, enabled: bool = True, stream=None, manifest: JobManifest | None = None):
        self.enabled = enabled
        self.console = Console(file=stream or sys.stderr)
        self.manifest = manifest
        self.live: Live | None = None
        self.progress = None
        self.memory_peak: Callable[[], int] | None = None
        self.seen: dict[str, str] = {}
        self.last_summary = 0.0
        self.lock = threading.RLock()
        self.stop = threading.Event()
        self.ticker: threading.Thread | None = None
        self.rebound: list[tuple[logging.StreamHandler, Any]] = []
        if enabled and manifest is not None:
            count = sum(1 for v in manifest.videos.values() if v["state"] not in live.FINISHED)
            self._say(f"🎬 raybatch job {manifest.job_id}: {count} video(s) to process; starting")

    def __call__(self, event: str, payload: Any) -> None:
        if not self.enabled:
            return
        with self.lock:
            if event == "start":
                self._start(payload)
            elif self.manifest is not None:
                self._show()

    def _start(self, payload: dict[str, Any]) -> None:
        self.progress = payload["progress"]
        self.memory_peak = payload.get("memory_peak")
        pool = payload["plan"].pool
        self._say(
            f"raybatch job {payload['job_id']}: {len(payload['videos'])} videos, "
            f"{pool.size} encoder(s) x {pool.num_cpus:g} CPU"
        )
        if self.manifest is None:
            return
        self.seen = {v.name: v.state for v in self.state().videos}
        if self.console.is_terminal:
            self.live = Live(self._panel(), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
            # Live redirects sys.stderr to print above the panel; handlers that hold the terminal
            # itself (Ray's, set up when it started) are pointed there too.
            self.rebound = rebind_stream_handlers(self.console.file, sys.stderr)
        else:
            self._say(live.queued_line(self.state().of("queued")) if self.state().of("queued") else "")
            self.last_summary = time.monotonic()
        self.ticker = threading.Thread(target=self._tick, name="raybatch-progress", daemon=True)
        self.ticker.start()

    def state(self) -> live.LiveState:
        """The run now, from the manifest the run keeps current."""
        assert self.manifest is not None
        progress = self.progress
        job = {
            "job_id": self.manifest.job_id,
            "state": self.manifest.state,
            "created_at": self.manifest.created_at,
            "runs": self.manifest.runs,
            "videos": self.manifest.videos,
        }
        return live.live_state(
            job,
            memory_peak_bytes=self.memory_peak() if self.memory_peak else None,
            api_cost_usd=progress.api_cost_usd if progress else 0.0,
            api_calls=progress.api_calls if progress else 0,
        )

    def _show(self) -> None:
        state = self.state()
        if self.live:
            self.live.update(live.render_panel(state))
            return
        for line in live.changes(self.seen, state):
            self._say(line)
        self.seen = {v.name: v.state for v in state.videos}

    def _tick(self) -> None:
        while not self.stop.wait(TICK_S):
            with self.lock:
                if self.live:
                    self.live.update(self._panel())
                elif time.monotonic() - self.last_summary >= PLAIN_SUMMARY_S:
                    self.last_summary = time.monotonic()
                    self._say(live.summary_line(self.state()))

    def _panel(self):
        return live.render_panel(self.state())

    def _say(self, text: str) -> None:
        if text:
            self.console.print(text, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self.stop.set()
        if self.ticker:
            self.ticker.join(timeout=TICK_S + 1)
            self.ticker = None
        with self.lock:
            if self.live:
                self.live.update(self._panel())
                for handler, stream in self.rebound:
                    handler.setStream(stream)
                self.live.stop()
                self.live = None
            elif self.manifest is not None and self.progress is not None:
                self._show()
                self._say(live.summary_line(self.state()))
                self.progress = None


def rebind_stream_handlers(old: Any, new: Any) -> list[tuple[logging.StreamHandler, Any]]:
    """Point every logging stream handler that writes to ``old`` at ``new``; returns what to
    restore (handler, its stream before)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    rebound = []
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                rebound.append((handler, handler.setStream(new)))
    return rebound
