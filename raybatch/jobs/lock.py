"""One job at a time per output location.

Two jobs writing one output would replace each other's videos and reports while both manifests
say done. A job therefore holds ``OUT/.raybatch/lock.json`` (its id, host, pid and a heartbeat
it refreshes) from before its manifest is written until its run ends. A second job is refused,
naming the one that runs, unless that one is gone: a dead pid on this host, or a heartbeat older
than :data:`STALE_AFTER_S` (another host, or a hung process); its lock is then taken over with a
warning. On local disks the lock is created exclusively; object stores have no exclusive create,
so there the lock is written, then read back (two starts in the same instant could both pass).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import psutil

from raybatch.errors import JobError
from raybatch.io.layout import lock_path
from raybatch.io.storage import exists, get_fs, is_local, local_path, read_json, write_json_atomic

log = logging.getLogger(__name__)

#: A heartbeat older than this means the job holding the lock is gone.
STALE_AFTER_S = 90.0
HEARTBEAT_EVERY_S = 20.0


@dataclass
class LockHolder:
    """Who holds an output location."""

    job_id: str
    host: str
    pid: int
    heartbeat: float
    token: str

    def is_gone(self, now: float | None = None) -> bool:
        """The holder's process is dead (this host) or has not beaten for too long. A job of
        this very process is gone too: a process starts its next job after the last one."""
        if self.host == socket.gethostname() and (self.pid == os.getpid() or not psutil.pid_exists(self.pid)):
            return True
        return (now or time.time()) - self.heartbeat > STALE_AFTER_S

    def is_us(self) -> bool:
        return self.host == socket.gethostname() and self.pid == os.getpid()


def holder(root: str) -> LockHolder | None:
    """The lock's holder, or None when the location is free (or the lock is unreadable)."""
    uri = lock_path(root)
    try:
        data = read_json(uri) if exists(uri) else None
        found = LockHolder(**data) if isinstance(data, dict) else None
    except (OSError, ValueError, TypeError):
        return None
    # The file may have been edited: a holder of the wrong types is no holder.
    types = {"job_id": str, "host": str, "pid": int, "heartbeat": (int, float), "token": str}
    if found is None or not all(isinstance(getattr(found, k), t) for k, t in types.items()):
        return None
    return found


def shown_state(root: str, job_id: str, state: str) -> str:
    """A job's state as ``status`` shows it: a job whose manifest says running but that no
    live process holds was killed; it is ``interrupted`` (and can be resumed)."""
    if state != "running":
        return state
    current = holder(root)
    alive = current is not None and current.job_id == job_id and not current.is_gone()
    return state if alive else "interrupted"


def acquire(root: str, job_id: str) -> None:
    """Take the output location for ``job_id`` (a no-op if this process holds it for it)."""
    current = holder(root)
    if current is None and exists(lock_path(root)):
        # Unreadable (a crash mid-write, a hand edit): it names no live job, and left in place
        # the exclusive create below would refuse every job for ever.
        log.warning("%s is not a lock raybatch can read; job %s takes it over", lock_path(root), job_id)
        _remove(root)
    if current is not None:
        if current.is_us() and current.job_id == job_id:
            return
        if not current.is_gone():
            raise JobError(
                f"{root} is in use by job {current.job_id} (pid {current.pid} on {current.host})",
                hint="wait for it to finish, or give this job another --output",
            )
        log.warning(
            "job %s (pid %d on %s) left %s without finishing; job %s takes it over",
            current.job_id, current.pid, current.host, root, job_id,
        )  # fmt: skip
        _remove(root)
    _create(root, LockHolder(job_id, socket.gethostname(), os.getpid(), time.time(), uuid.uuid4().hex))


def release(root: str, job_id: str) -> None:
    """Give the location back, if this process holds it for ``job_id``."""
    current = holder(root)
    if current is not None and current.is_us() and current.job_id == job_id:
        _remove(root)


@contextlib.contextmanager
def held(root: str, job_id: str) -> Iterator[None]:
    """Hold the location for the block, beating every :data:`HEARTBEAT_EVERY_S` seconds."""
    acquire(root, job_id)
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(root, job_id, stop), daemon=True, name="raybatch-lock")
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=5)
        release(root, job_id)


def _beat(root: str, job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_EVERY_S):
        current = holder(root)
        if current is None or not current.is_us() or current.job_id != job_id:
            return  # taken over (this process looked gone): nothing to refresh
        current.heartbeat = time.time()
        with contextlib.suppress(OSError):
            write_json_atomic(lock_path(root), asdict(current))


def _create(root: str, mine: LockHolder) -> None:
    uri = lock_path(root)
    if is_local(uri):
        path = local_path(uri)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise _taken(root) from None
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(mine), handle)
        return
    write_json_atomic(uri, asdict(mine))
    current = holder(root)
    if current is None or current.token != mine.token:
        raise _taken(root)


def _taken(root: str) -> JobError:
    other = holder(root)
    who = f"job {other.job_id}" if other else "another job"
    return JobError(f"{root} was just taken by {who}", hint="give this job another --output")


def _remove(root: str) -> None:
    fs, path = get_fs(lock_path(root))
    with contextlib.suppress(FileNotFoundError):
        fs.rm(path)
