"""Run ffmpeg/ffprobe processes: captured stderr, a wall-clock timeout, and per-process usage.

Every media command in raybatch goes through :func:`run_command`, so errors always carry the
command's own diagnostics and every run reports the CPU seconds and peak memory of that one
process (measured with ``wait4``, which is exact even when other processes run beside it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass


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


def run_command(
    args: list[str],
    *,
    timeout_s: float | None = None,
    check: bool = True,
    capture_stdout: bool = False,
    what: str = "",
) -> CommandResult:
    """Run ``args``; raise :class:`MediaError` on a non-zero exit (when ``check``) or a timeout.

    stdout is captured only when asked (ffprobe's JSON); stderr is always captured so that a
    failure can say what ffmpeg said.
    """
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise MediaError(
            f"{args[0]} is not installed",
            hint="install ffmpeg (Debian: apt-get install -y ffmpeg) or run scripts/setup.sh",
        ) from exc

    chunks: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    readers = []
    for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        if stream is not None:
            reader = threading.Thread(target=drain, args=(name, stream), daemon=True)
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
    if timed_out.is_set():
        raise MediaError(
            f"{what or args[0]} did not finish within {timeout_s:.0f} s",
            hint="raise the timeout or check that the file is not damaged",
            stderr_tail=_tail(stderr),
            command=command,
        )
    if check and result.returncode != 0:
        raise MediaError(
            f"{what or args[0]} failed (exit {result.returncode}): {_tail(stderr, 3)}",
            stderr_tail=_tail(stderr),
            command=command,
        )
    return result
