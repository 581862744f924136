"""Storage: retries only on hiccups, secrets redacted, errors that say the fix."""

from __future__ import annotations

import errno
import json
import os

import pytest

from raybatch.io.storage import (
    explain_storage_error,
    is_transient,
    redact_options,
    with_retries,
    without_redacted,
    write_json_atomic,
)


def test_storage_retries_only_hiccups():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError(errno.ECONNRESET, "connection reset by peer")
        return "ok"

    assert with_retries(flaky, first_delay_s=0) == "ok" and len(calls) == 3
    assert is_transient(TimeoutError()) and not is_transient(OSError(errno.ENOSPC, "full"))

    def full():
        calls.append(1)
        raise OSError(errno.ENOSPC, "No space left on device")

    calls.clear()
    with pytest.raises(OSError, match="No space"):
        with_retries(full, first_delay_s=0)
    assert len(calls) == 1


def test_storage_secrets_are_redacted_and_dropped_on_resume():
    options = {
        "s3": {
            "endpoint_url": "http://minio:9000",
            "key": "AKIA123",
            "secret": "s3cr3t",
            "client_kwargs": {"region_name": "eu-west-1", "aws_session_token": "tok"},
        }
    }
    redacted = redact_options(options)
    assert redacted["s3"]["endpoint_url"] == "http://minio:9000"
    assert redacted["s3"]["key"] == redacted["s3"]["secret"] == "***"
    assert redacted["s3"]["client_kwargs"] == {"region_name": "eu-west-1", "aws_session_token": "***"}
    assert "s3cr3t" not in str(redacted) and "AKIA123" not in str(redacted)
    assert without_redacted(redacted) == {
        "s3": {"endpoint_url": "http://minio:9000", "client_kwargs": {"region_name": "eu-west-1"}}
    }


def test_storage_errors_say_what_is_wrong_and_how_to_fix_it():
    missing = explain_storage_error("s3://nope/in", FileNotFoundError("The specified bucket does not exist"))
    assert "s3://nope does not exist" in str(missing) and "AWS_ENDPOINT_URL" in str(missing)
    denied = explain_storage_error("s3://b/out", PermissionError("Forbidden"), writing=True)
    assert "access denied" in str(denied) and "write to" in str(denied)
    local = explain_storage_error("/srv/out", PermissionError("denied"))
    assert "permissions" in str(local)


def test_json_files_never_hold_infinity_or_nan(tmp_path):
    """The loudness of silence is -inf LUFS: it is written as null, valid JSON for any reader."""
    target = tmp_path / "report.json"
    write_json_atomic(str(target), {"lufs": float("-inf"), "peaks": [1.0, float("nan")], "ok": 2.5})
    assert json.loads(target.read_text(), parse_constant=lambda name: pytest.fail(name)) == {
        "lufs": None,
        "peaks": [1.0, None],
        "ok": 2.5,
    }


def test_names_are_shown_escaped_and_bounded_in_bytes():
    from raybatch.io.names import MAX_STEM_BYTES, bounded, printable

    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9" and printable("café") == "café"
    long_a, long_b = "é" * 150 + "a", "é" * 150 + "b"  # 301 bytes each, same start
    assert len(bounded(long_a).encode()) <= MAX_STEM_BYTES and bounded(long_a) != bounded(long_b)
    assert bounded("short") == "short"


def test_redact_text_hides_url_credentials_and_secret_query_values():
    from raybatch.io.storage import redact_text

    assert redact_text("s3://bucket/in.mp4") == "s3://bucket/in.mp4"
    assert redact_text("https://me:pw@host/a.mp4") == "https://***@host/a.mp4"
    assert (
        redact_text("ffmpeg -i 'https://h/a.mp4?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff&n=1' out.mp4")
        == "ffmpeg -i 'https://h/a.mp4?X-Amz-Credential=***&X-Amz-Signature=***&n=1' out.mp4"
    )
    assert redact_text("http://h/v?token=abc&key=k1&page=2") == "http://h/v?token=***&key=***&page=2"
