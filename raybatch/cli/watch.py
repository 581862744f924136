"""``raybatch batch status --job-id ID --watch``: the live view of a job running elsewhere (another
terminal, a Ray job on a cluster), read from its manifest every few seconds until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live

from raybatch.cli import live

#: Seconds between reads of the manifest (the run saves it at most every few seconds).
WATCH_INTERVAL_S = 2.0
#: Seconds between plain summary lines when the output is not a terminal.
PLAIN_SUMMARY_S = 10.0


def watch_job(
    load_job: Callable[[], dict[str, Any]], console: Console, interval_s: float = WATCH_INTERVAL_S
) -> dict[str, Any]:
    """Show the job's view until its state is no longer ``running``; returns the job as last read.
    ``load_job`` reads the manifest (with the state as ``status`` shows it)."""
    job = load_job()
    if console.is_terminal:
        with Live(_panel(job), console=console, refresh_per_second=2) as view:
            while job["state"] == "running":
                time.sleep(interval_s)
                job = load_job()
                view.update(_panel(job))
        return job
    return _watch_plain(job, load_job, console, interval_s)


def _state(job: dict[str, Any]) -> live.LiveState:
    cost, calls = live.api_so_far(job)
    return live.live_state(job, api_cost_usd=cost, api_calls=calls)


def _panel(job: dict[str, Any]):
    return live.render_panel(_state(job))


def _watch_plain(
    job: dict[str, Any], load_job: Callable[[], dict[str, Any]], console: Console, interval_s: float
) -> dict[str, Any]:
    """One line per state change and a summary every ``PLAIN_SUMMARY_S``."""
    state = _state(job)
    for line in live.state_lines(state):
        console.print(line, highlight=False, soft_wrap=True)
    seen, last = {v.name: v.state for v in state.videos}, time.monotonic()
    while job["state"] == "running":
        time.sleep(interval_s)
        job = load_job()
        state = _state(job)
        for line in live.changes(seen, state):
            console.print(line, highlight=False, soft_wrap=True)
        seen = {v.name: v.state for v in state.videos}
        if time.monotonic() - last >= PLAIN_SUMMARY_S:
            last = time.monotonic()
            console.print(live.summary_line(state), highlight=False, soft_wrap=True)
    console.print(live.summary_line(state), highlight=False, soft_wrap=True)
    return job
