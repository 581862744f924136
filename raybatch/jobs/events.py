"""Stage starts, told to the driver as they happen, for the live view.

A stage tells :func:`stage_started` when it takes a video's row. Where stages run in the
driver's process (the local executor) the sink is the run's observer; in Ray workers it is the
run's mailbox actor, told without waiting (``connect_worker``), and the driver drains it.
Rows coming back tell the rest (stages finished, segments encoded, outcomes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

#: ``sink(video_key, stage)``: where this process sends stage starts (none: nowhere).
Sink = Callable[[str, str], None]
_sink: Sink | None = None
#: The job this worker process last connected its stage starts for.
_connected_job: str | None = None


def set_sink(sink: Sink | None) -> None:
    """Send this process's stage starts to ``sink`` (``None``: stop sending)."""
    global _sink
    _sink = sink


def stage_started(video_key: str, stage: str) -> None:
    """``stage`` takes a row of video ``video_key`` (never fails the stage)."""
    if _sink is None:
        return
    try:
        _sink(video_key, stage)
    except Exception as exc:  # the live view is a nicety; the work goes on
        log.debug("stage start of %s not sent: %s", video_key, exc)


def events_actor_name(job_id: str) -> str:
    """The name the run's mailbox actor goes by, for workers to find it."""
    return f"raybatch-events-{job_id}"


def quiet_worker(job_id: str) -> None:
    """In an actor's process: send no stage starts. Its rows are segments and shot windows,
    counted when they come back; its video was seen starting by the tasks before it. (Actor
    processes are torn down by Ray Data while the run goes on, and are kept free of anything
    in flight then.)"""
    global _connected_job
    _connected_job = job_id
    set_sink(None)


def connect_worker(job_id: str) -> None:
    """In a Ray worker: send stage starts to the run's mailbox (when it can be found); once per
    job and process (workers outlive runs)."""
    global _connected_job
    if _connected_job == job_id:
        return
    import ray

    _connected_job = job_id
    if not ray.is_initialized():
        set_sink(None)  # not in a Ray worker after all (asking Ray would start one)
        return
    try:
        mailbox = ray.get_actor(events_actor_name(job_id))
    except ValueError:
        set_sink(None)  # not started by an executor that listens (a test's own Ray use)
        return
    set_sink(lambda key, stage: mailbox.note_started.remote(key, stage))
