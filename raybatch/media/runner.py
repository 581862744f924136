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
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, BinaryIO

from raybatch.errors import VideoFailure

#: In ``args``, ``SIDE_PIPE.format(i)`` is replaced by ffmpeg's name of the i-th side pipe.
SIDE_PIPE = "{{side_pipe_{}}}"


class MediaError(VideoFailure):
    """A media command failed. ``hint`` tells the user what to do about it."""

    def __init__(self, message: str, *, hint: str = "", stderr_tail: str = "", command: str = ""):
        super().__init__(message, hint)
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
    stdin_producer: Callable[[BinaryIO], None] | None = None,
    what: str = "",
) -> CommandResult:
    """Run ``args``; raise :class:`MediaError` on a non-zero exit (when ``check``) or a timeout.

    stdout is captured only when asked (ffprobe's JSON), or streamed to ``stdout_consumer``;
    each of ``side_consumers`` reads one more output pipe, named in ``args`` by
    ``SIDE_PIPE.format(i)`` (one decode, several raw outputs, read concurrently so that none
    blocks ffmpeg). ``stdin_producer`` writes the process's stdin on a thread of its own (closed
    after it; an exception it raises kills the process and is raised here). stderr is always
    captured so that a failure can say what ffmpeg said.
    """
    started = time.monotonic()
    timeout_s = _within_deadline(timeout_s)
    process = _Process(
        args, capture_stdout or stdout_consumer is not None, len(side_consumers), stdin_producer is not None
    )
    process.read_outputs(stdout_consumer, side_consumers)
    if stdin_producer is not None:
        process.write_input(stdin_producer)
    status, usage = process.wait(timeout_s)
    stderr = process.chunks["stderr"].decode("utf-8", errors="replace")
    result = CommandResult(
        returncode=os.waitstatus_to_exitcode(status),
        stdout=process.chunks["stdout"],
        stderr=stderr,
        wall_s=time.monotonic() - started,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,
    )
    if process.consumer_errors:
        raise process.consumer_errors[0]
    problem = _problem(result, what or process.args[0], process.timed_out.is_set(), timeout_s, check)
    if problem:
        message, hint = problem
        raise MediaError(message, hint=hint, stderr_tail=_tail(stderr), command=shlex.join(process.args))
    return result


def _problem(
    result: CommandResult, what: str, timed_out: bool, timeout_s: float | None, check: bool
) -> tuple[str, str] | None:
    """(message, hint) when the run failed: it timed out, or (``check``) it exited badly."""
    if timed_out:
        return (
            f"{what} did not finish within {timeout_s:.0f} s",
            "raise the timeout or check that the file is not damaged",
        )
    if not check or result.returncode == 0:
        return None
    if NO_SPACE in result.stderr:
        return (
            f"{what} failed: no space left on the device it writes to",
            "free space on the output (or scratch) disk, then: raybatch batch retry --job-id JOB",
        )
    return f"{what} failed (exit {result.returncode}): {_tail(result.stderr, 3)}", ""


def submit_in_context(pool: Executor, fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` on ``pool``'s thread, in a copy of the caller's context: the current video's
    deadline bounds the commands it runs there too."""
    return pool.submit(contextvars.copy_context().run, fn, *args)


def _within_deadline(timeout_s: float | None) -> float | None:
    """The timeout, cut short by the current video's deadline."""
    deadline = VIDEO_DEADLINE.get()
    if not deadline:
        return timeout_s
    left = max(0.01, deadline - time.time())
    return min(timeout_s, left) if timeout_s else left


class _Process:
    """One child process, its output pipes each read on a thread of its own, and its usage."""

    def __init__(self, args: list[str], pipe_stdout: bool, side_pipes: int, pipe_stdin: bool = False):
        self.side = [os.pipe() for _ in range(side_pipes)]
        for index, (_, write_end) in enumerate(self.side):
            args = [a.replace(SIDE_PIPE.format(index), f"pipe:{write_end}") for a in args]
        self.args = args
        self.chunks: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self.consumer_errors: list[BaseException] = []
        self.timed_out = threading.Event()
        self.readers: list[threading.Thread] = []
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if pipe_stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipe_stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=[w for _, w in self.side],
            )
        except FileNotFoundError as exc:
            for read_end, write_end in self.side:
                os.close(read_end)
                os.close(write_end)
            raise MediaError(
                f"{args[0]} is not installed",
                hint="install ffmpeg (Debian: apt-get install -y ffmpeg) or run scripts/setup.sh",
            ) from exc
        for _, write_end in self.side:
            os.close(write_end)  # the child holds its own copy; EOF arrives when it exits

    def read_outputs(
        self,
        stdout_consumer: Callable[[BinaryIO], None] | None,
        side_consumers: tuple[Callable[[BinaryIO], None], ...],
    ) -> None:
        """Start a reader per pipe: stderr and (when no consumer takes it) stdout are kept."""
        jobs: list[tuple[Callable, tuple]] = [(self._drain, ("stderr", self.proc.stderr))]
        if self.proc.stdout is not None:
            stdout = self.proc.stdout
            jobs.append(
                (self._consume, (stdout_consumer, stdout))
                if stdout_consumer
                else (self._drain, ("stdout", stdout))
            )
        for consumer, (read_end, _) in zip(side_consumers, self.side, strict=True):
            jobs.append((self._consume, (consumer, os.fdopen(read_end, "rb"))))
        for target, job_args in jobs:
            reader = threading.Thread(target=target, args=job_args, daemon=True)
            reader.start()
            self.readers.append(reader)

    def write_input(self, producer: Callable[[BinaryIO], None]) -> None:
        """Start the thread that writes stdin."""
        writer = threading.Thread(target=self._produce, args=(producer, self.proc.stdin), daemon=True)
        writer.start()
        self.readers.append(writer)

    def _produce(self, producer: Callable[[BinaryIO], None], stream: BinaryIO) -> None:
        try:
            producer(stream)
        except BrokenPipeError:
            pass  # the process stopped reading: its exit status says why
        except BaseException as exc:  # re-raised in the caller's thread
            self.consumer_errors.append(exc)
            self.kill()
        finally:
            with contextlib.suppress(OSError):
                stream.close()

    def _drain(self, name: str, stream: BinaryIO) -> None:
        self.chunks[name] = stream.read()

    def _consume(self, consumer: Callable[[BinaryIO], None], stream: BinaryIO) -> None:
        try:
            consumer(stream)
        except BaseException as exc:  # re-raised in the caller's thread
            self.consumer_errors.append(exc)
            self.kill()
        finally:
            stream.close()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _kill_on_timeout(self) -> None:
        self.timed_out.set()
        self.kill()

    def wait(self, timeout_s: float | None) -> tuple[int, Any]:
        """Wait for the process (killed at the timeout) and its readers; (status, rusage)."""
        timer = threading.Timer(timeout_s, self._kill_on_timeout) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(self.proc.pid, 0)
        except BaseException:
            # Interrupted (Ctrl-C, cancellation): never leave an orphaned ffmpeg behind.
            self.kill()
            raise
        finally:
            if timer:
                timer.cancel()
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        for reader in self.readers:
            reader.join()
        return status, usage


NO_SPACE = "No space left on device"
