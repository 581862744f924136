"""What the user sees when something goes wrong: a usage error exits 2 with the fix, a run
failure exits 1, and a bug says so in one line and keeps its traceback in a file."""

from __future__ import annotations

import json

import pytest

from raybatch.cli.errors import EXIT_BUG, EXIT_SOME_FAILED, EXIT_USAGE, guarded
from raybatch.errors import ConfigError, InputError, JobError, RunFailure, StorageError


def exit_of(error: BaseException, capsys) -> tuple[int, str]:
    def command():
        raise error

    with pytest.raises(SystemExit) as stopped:
        guarded(command)
    return stopped.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("c.yaml: batch.error_handling: Input should be 'continue' or 'stop'"),
        InputError("/videos: no such file or folder; check the path or URL"),
        StorageError("s3://b/out: access denied (Forbidden)", hint="check the credentials"),
        JobError("job batch_1 is not known on this machine", hint="pass --output"),
    ],
)
def test_usage_errors_exit_2_with_the_message_and_the_fix(error, capsys):
    code, err = exit_of(error, capsys)
    assert code == EXIT_USAGE and err.startswith(f"Error: {error.message}")
    assert ("  fix: " + error.hint in err) if error.hint else "fix:" not in err
    assert "Traceback" not in err


def test_a_run_failure_exits_1_and_says_how_to_go_on(capsys):
    failure = RunFailure(
        "cannot write the job's reports under /out/summary: [Errno 28] No space left on device",
        hint="free space or make the output writable, then: raybatch batch resume --job-id b",
    )
    code, err = exit_of(failure, capsys)
    assert code == EXIT_SOME_FAILED and "No space left" in err and "batch resume" in err


def test_a_bug_is_one_line_naming_the_file_that_holds_the_traceback(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RAYBATCH_HOME", str(tmp_path))
    code, err = exit_of(json.JSONDecodeError("Expecting value", "{", 0), capsys)
    assert code == EXIT_BUG and len(err.strip().splitlines()) == 1
    assert "raybatch hit a bug (JSONDecodeError: Expecting value" in err and "Traceback" not in err
    (report,) = (tmp_path / "crashes").iterdir()
    assert str(report) in err
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "json.decoder.JSONDecodeError" in text


def test_raybatch_debug_re_raises_a_bug(monkeypatch):
    monkeypatch.setenv("RAYBATCH_DEBUG", "1")

    def command():
        raise ZeroDivisionError("oops")

    with pytest.raises(ZeroDivisionError):
        guarded(command)
