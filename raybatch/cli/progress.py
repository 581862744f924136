"""The live progress view: a rich panel on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    seconds = int(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


class ProgressView:
    """Listener for :func:`raybatch.run_batch` that shows videos done/failed/total, segments
    encoded, elapsed time and the estimate of what remains."""

    def __init__(self, enabled: bool = True, stream=None):
        self.enabled = enabled
        self.console = Console(file=stream or sys.stderr)
        self.live: Live | None = None
        self.progress = None
        self.lines: list[str] = []
        self.last_plain = 0.0

    def __call__(self, event: str, payload: Any) -> None:
        if not self.enabled:
            return
        if event == "start":
            self.progress = payload["progress"]
            pool = payload["plan"].pool
            self._say(
                f"raybatch job {payload['job_id']}: {len(payload['videos'])} videos, "
                f"{pool.size} encoder(s) x {pool.num_cpus:g} CPU"
            )
            if self.console.is_terminal:
                self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
                self.live.start()
            return
        if event == "video":
            outcome = payload
            if outcome.done:
                line = f"✅ Completed: {outcome.relative_path}"
            else:
                error = outcome.error
                why = f"{error.stage}: {error.message}" if error else outcome.status
                line = f"❌ Failed: {outcome.relative_path} ({why})"
            self.lines.append(line)
            if not self.live:
                self._say(line + "  " + self._summary())
        if self.live:
            self.live.update(self._render())
        elif event == "row" and time.monotonic() - self.last_plain > 10:
            self.last_plain = time.monotonic()
            self._say(self._summary())

    def _summary(self) -> str:
        p = self.progress
        elapsed = time.monotonic() - p.started
        return (
            f"[{p.done + p.failed}/{p.total_videos} videos, {p.failed} failed; "
            f"{p.segments_done}/{p.segments_total} segments; elapsed {_clock(elapsed)}; "
            f"remaining {_clock(p.eta_s())}{self._costs()}]"
        )

    def _costs(self) -> str:
        p = self.progress
        return f"; API {p.api_calls} calls, ${p.api_cost_usd:.4f}" if p.api_calls else ""

    def _render(self) -> Table:
        p = self.progress
        finished = p.done + p.failed
        table = Table.grid(padding=(0, 1))
        table.add_row(Text("🎬 Batch Processing Progress", style="bold"))
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=max(1, p.total_videos), completed=finished, width=40),
            Text(f"{int(100 * finished / max(1, p.total_videos))}% {finished}/{p.total_videos} videos"),
        )
        table.add_row(bar)
        for line in self.lines[-8:]:
            table.add_row(Text(line))
        table.add_row(Text(""))
        table.add_row(
            Text(
                f"📊 segments {p.segments_done}/{p.segments_total} · failed {p.failed} · "
                f"elapsed {_clock(time.monotonic() - p.started)} · remaining {_clock(p.eta_s())}"
            )
        )
        table.add_row(
            Text(
                f"💵 API costs: ${p.api_cost_usd:.4f} total ({p.api_calls} calls)"
                if p.api_calls
                else "💵 API costs: $0 (offline metadata)"
            )
        )
        return table

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self.live:
            self.live.update(self._render())
            self.live.stop()
            self.live = None
