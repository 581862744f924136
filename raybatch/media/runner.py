"""Run ffmpeg/ffprobe processes: captured stderr, a wall-clock timeout, and per-process usage.

Every media command in raybatch goes through :func:`run_command`, so errors always carry the
command's own diagnostics and every run reports the CPU seconds and peak memory of that one
process (measured with ``wait4``, which is exact even when other processes run beside it).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

#: In ``args``, ``SIDE_PIPE.format(i)`` is replaced by ffmpeg's name of the i-th side pipe.
SIDE_PIPE = "{{side_pipe_{}}}"


class MediaError(Exception):
    """A media command failed. ``hint`` tells the user what to do about it."""

    def __init__(self, message: str, *, hint: str = "", stderr_tail: str = "", command: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.stderr_tail = stderr_tail
        self.command = command


@dataclass(frozen=True)
class CommandResult:
    """What one finished process produced and used."""

    returncode: int
    stdout: bytes
    stderr: str
    wall_s: float
    cpu_s: float
    max_rss_bytes: int


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


#: When the current video must be finished (epoch seconds), set per work item by its stage: every
#: command it runs is cut off then, whatever its own timeout (``--timeout`` per video).
VIDEO_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("video_deadline", default=0.0)


def run_command(
    args: list[str],
    *,
    timeout_s: float | None = None,
    check: bool = True,
    capture_stdout: bool = False,
    stdout_consumer: Callable[[BinaryIO], None] | None = None,
    side_consumers: tuple[Callable[[BinaryIO], None], ...] = (),
    what: str = "",
) -> CommandResult:
    """Run ``args``; raise :class:`MediaError` on a non-zero exit (when ``check``) or a timeout.

    stdout is captured only when asked (ffprobe's JSON), or streamed to ``stdout_consumer``;
    each of ``side_consumers`` reads one more output pipe, named in ``args`` by
    ``SIDE_PIPE.format(i)`` (one decode, several raw outputs, read concurrently so that none
    blocks ffmpeg). stderr is always captured so that a failure can say what ffmpeg said.
    """
    started = time.monotonic()
    deadline = VIDEO_DEADLINE.get()
    if deadline:
        left = max(0.01, deadline - time.time())
        timeout_s = min(timeout_s, left) if timeout_s else left
    side = [os.pipe() for _ in side_consumers]
    for index, (_, write_end) in enumerate(side):
        args = [a.replace(SIDE_PIPE.format(index), f"pipe:{write_end}") for a in args]
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout or stdout_consumer else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=[w for _, w in side],
        )
    except FileNotFoundError as exc:
        for read_end, write_end in side:
            os.close(read_end)
            os.close(write_end)
        raise MediaError(
            f"{args[0]} is not installed",
            hint="install ffmpeg (Debian: apt-get install -y ffmpeg) or run scripts/setup.sh",
        ) from exc
    for _, write_end in side:
        os.close(write_end)  # the child holds its own copy; EOF arrives when it exits

    chunks: dict[str, bytes] = {"stdout": b"", "stderr": b""}
    consumer_errors: list[BaseException] = []

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    def consume(consumer: Callable[[BinaryIO], None], stream) -> None:
        try:
            consumer(stream)
        except BaseException as exc:  # re-raised in the caller's thread below
            consumer_errors.append(exc)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        finally:
            stream.close()

    jobs: list[tuple[Callable, tuple]] = [(drain, ("stderr", proc.stderr))]
    if proc.stdout is not None:
        jobs.append(
            (consume, (stdout_consumer, proc.stdout)) if stdout_consumer else (drain, ("stdout", proc.stdout))
        )
    for consumer, (read_end, _) in zip(side_consumers, side, strict=True):
        jobs.append((consume, (consumer, os.fdopen(read_end, "rb"))))
    readers = []
    for target, job_args in jobs:
        reader = threading.Thread(target=target, args=job_args, daemon=True)
        reader.start()
        readers.append(reader)

    timed_out = threading.Event()

    def kill_on_timeout() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout_s, kill_on_timeout) if timeout_s else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        # Interrupted (Ctrl-C, cancellation): never leave an orphaned ffmpeg behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        if timer:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    stderr = chunks["stderr"].decode("utf-8", errors="replace")
    result = CommandResult(
        returncode=proc.returncode,
        stdout=chunks["stdout"],
        stderr=stderr,
        wall_s=time.monotonic() - started,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,
    )
    command = shlex.join(args)
    if consumer_errors:
        raise consumer_errors[0]
    if timed_out.is_set():
        raise MediaError(
            f"{what or args[0]} did not finish within {timeout_s:.0f} s",
            hint="raise the timeout or check that the file is not damaged",
            stderr_tail=_tail(stderr),
            command=command,
        )
    if check and result.returncode != 0:
        if NO_SPACE in stderr:
            raise MediaError(
                f"{what or args[0]} failed: no space left on the device it writes to",
                hint="free space on the output (or scratch) disk, then: raybatch batch retry --job-id JOB",
                stderr_tail=_tail(stderr),
                command=command,
            )
        raise MediaError(
            f"{what or args[0]} failed (exit {result.returncode}): {_tail(stderr, 3)}",
            stderr_tail=_tail(stderr),
            command=command,
        )
    return result


NO_SPACE = "No space left on device"
