"""Following a run as its rows come back: progress counters for the live view, the manifest's
per-video state, the error policy, and the log records stages made in worker processes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raybatch.jobs.manifest import JobManifest
from raybatch.jobs.records import Outcome

#: ``listener(event, payload)``: ``start`` (a dict), ``row`` (a row), ``video`` (an Outcome).
Listener = Callable[[str, Any], None]


@dataclass
class Progress:
    """Live counters of a run, shared with whoever displays progress."""

    total_videos: int = 0
    done: int = 0
    failed: int = 0
    api_cost_usd: float = 0.0
    api_calls: int = 0


class RunObserver:
    """Counts progress, keeps the manifest current, applies ``--error-handling stop``, shows the
    stages' log records, and forwards every event to a display."""

    def __init__(
        self,
        manifest: JobManifest,
        progress: Progress,
        *,
        stop_on_error: bool,
        listener: Listener | None,
        memory_peak: Callable[[], int] | None = None,
    ):
        self.manifest = manifest
        self.progress = progress
        self.stop_on_error = stop_on_error
        self.listener = listener
        self.stopped = False
        #: The run's memory peak so far, recorded in the manifest's run entry for ``status --watch``.
        self.memory_peak = memory_peak
        #: Rows and outcomes come on the executor's thread, stage starts on another.
        self.lock = threading.RLock()

    def on_stage_started(self, video_key: str, stage: str) -> None:
        """A stage took a row of the video (``raybatch.jobs.events``): it is being worked on."""
        with self.lock:
            self.manifest.start_video(video_key)
            self.manifest.note_stage_started(video_key, stage)
            if self.listener:
                self.listener("stage", (video_key, stage))

    def on_row(self, row: Any) -> None:
        """A row came back from its stages."""
        with self.lock:
            self._on_row(row)

    def _on_row(self, row: Any) -> None:
        key = row.video.key
        if self.memory_peak and self.manifest.runs:
            self.manifest.runs[-1]["memory_peak_bytes"] = self.memory_peak()
        self.manifest.start_video(key)
        # A segment is done once encoded; it is also seen on its way to the encoders.
        segment_id = row.segment_id if getattr(row, "encoded", False) else ""
        segments = getattr(row, "segments", 0)
        self.manifest.note_row(
            key, row.kind, segment_id, row.last_stage or row.kind, segments, row.error is None
        )
        replay_logs(row.logs)
        row.logs = []
        if self.listener:
            self.listener("row", row)

    def on_video(self, outcome: Outcome) -> None:
        """A video's attempt ended."""
        with self.lock:
            self._on_video(outcome)

    def _on_video(self, outcome: Outcome) -> None:
        self.manifest.finish_video(outcome)
        usage = (outcome.package or {}).get("usage") or {}
        self.progress.api_cost_usd += usage.get("cost_usd", 0.0)
        self.progress.api_calls += usage.get("calls", 0)
        if outcome.done:
            self.progress.done += 1
        else:
            self.progress.failed += 1
            self.stopped = self.stopped or self.stop_on_error
        if self.listener:
            self.listener("video", outcome)

    def should_stop(self) -> bool:
        return self.stopped


def replay_logs(records: list[dict[str, Any]]) -> None:
    """Emit, in this process, the log records a stage made in a worker."""
    for record in records:
        logger = logging.getLogger(record["name"])
        if logger.isEnabledFor(record["level"]):
            logger.log(record["level"], "[%s] %s", record["stage"], record["message"])
