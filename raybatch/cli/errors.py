"""Exit codes, and what the user sees when something goes wrong.

A usage error (a config key, an input location, credentials, a job id) is one ``Error:`` line
and a ``fix:`` line, exit 2. A run failure (reports that could not be written) is the same with
exit 1. Anything else is a bug in raybatch: one line says so and names the file that holds the
traceback; ``RAYBATCH_DEBUG=1`` raises it instead.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click

from raybatch.errors import RaybatchError, RunFailure, UsageError
from raybatch.jobs.ids import raybatch_home

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: A bug in raybatch (sysexits' "internal software error").
EXIT_BUG = 70


def exit_code(result) -> int:
    """0 when every video of the job is done, 1 when some failed or the batch stopped."""
    return EXIT_OK if result.ok else EXIT_SOME_FAILED


def guarded(command: Callable[[], object]) -> None:
    """Run the CLI, turning raybatch's errors into messages and exit codes."""
    try:
        command()
    except UsageError as exc:
        _explain(exc)
        sys.exit(EXIT_USAGE)
    except RunFailure as exc:
        _explain(exc)
        sys.exit(EXIT_SOME_FAILED)
    except Exception as exc:
        if os.environ.get("RAYBATCH_DEBUG") == "1":
            raise
        path = write_crash_report(exc)
        click.echo(
            f"raybatch hit a bug ({type(exc).__name__}: {str(exc)[:200]}); the traceback is in {path}. "
            "Please report it with that file (RAYBATCH_DEBUG=1 shows it here).",
            err=True,
        )
        sys.exit(EXIT_BUG)


def _explain(exc: RaybatchError) -> None:
    click.echo(f"Error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  fix: {exc.hint}", err=True)


def write_crash_report(exc: BaseException) -> Path:
    """The traceback, the command and the version in ``$RAYBATCH_HOME/crashes/``."""
    from raybatch import __version__

    folder = raybatch_home() / "crashes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"raybatch-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.txt"
    details = "".join(traceback.format_exception(exc))
    path.write_text(f"raybatch {__version__}\ncommand: {' '.join(sys.argv)}\n\n{details}", encoding="utf-8")
    return path
