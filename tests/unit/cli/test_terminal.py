"""During a run, what native code writes to standard error goes to a log file while Python's
own output (the live view, messages, logging) stays on the terminal."""

from __future__ import annotations

import subprocess
import sys


def test_native_writes_go_to_the_file_and_python_stays_on_the_terminal(tmp_path):
    log = tmp_path / "native.log"
    script = f"""
import logging, os, sys
from raybatch.cli.terminal import StderrHandler, native_stderr_to
logging.basicConfig(level=logging.INFO, handlers=[StderrHandler()], format="%(message)s")
with native_stderr_to(__import__("pathlib").Path({str(log)!r})):
    os.write(2, b"core_worker.cc: a native line\\n")
    print("a python line", file=sys.stderr)
    logging.getLogger("raybatch").info("a log record")
os.write(2, b"after the run\\n")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stderr.splitlines() == ["a python line", "a log record", "after the run"]
    assert log.read_text() == "core_worker.cc: a native line\n"
