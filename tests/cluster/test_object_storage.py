"""Inputs and outputs on S3: a real S3-protocol server (moto) on loopback, reached through
s3fs exactly as a bucket on AWS or an S3-compatible service would be.

The server checks signatures against IAM access keys (INITIAL_NO_AUTH_ACTION_COUNT): the keys
the tests use are created in it, so wrong credentials are refused as on AWS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_av, make_video_only
from tests.helpers import assert_verified_output, load_report, run_raybatch

pytestmark = pytest.mark.cluster
boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")
pytest.importorskip("s3fs")

#: The setup calls the server lets through before it starts checking credentials.
SETUP_CALLS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on loopback and the environment that reaches it with valid keys."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto did not start"
                time.sleep(0.2)
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup",
        )  # fmt: skip
        iam.create_user(UserName="raybatch")
        iam.put_user_policy(
            UserName="raybatch",
            PolicyName="s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="raybatch")["AccessKey"]
        env = {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
        client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )  # fmt: skip
        for bucket in ("media-in", "media-out"):
            client.create_bucket(Bucket=bucket)
        yield {"env": env, "client": client, "endpoint": endpoint}
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _keys(client, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _published_files(keys: list[str]) -> set[str]:
    """The user-facing tree: each video's folder and the summary (not the job's own state,
    whose names carry the job id)."""
    return {k for k in keys if not k.startswith(".raybatch/") and "/metrics/" not in k}


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("s3_inputs")
    make_av(root / "talk.mp4", duration=4.0)
    make_video_only(root / "screen.mkv", duration=2.0)
    return root


def test_a_batch_from_s3_to_s3_produces_what_a_local_run_does(s3, batch_inputs, tmp_path):
    client = s3["client"]
    for path in batch_inputs.iterdir():
        client.upload_file(str(path), "media-in", f"raw/{path.name}")
    options = ("--quality", "low", "--mode", "fast", "--no-progress-bar")
    # The endpoint and the keys come from the config's storage options this time (this process's
    # environment has none of them): they must reach every Ray worker, and stay out of every
    # file written.
    env = s3["env"]
    config = tmp_path / "storage.yaml"
    config.write_text(
        "storage:\n  options:\n    s3:\n"
        f"      endpoint_url: {env['AWS_ENDPOINT_URL']}\n"
        f"      key: {env['AWS_ACCESS_KEY_ID']}\n"
        f"      secret: {env['AWS_SECRET_ACCESS_KEY']}\n"
    )
    remote = run_raybatch(
        "batch", "process", "s3://media-in/raw", "--output", "s3://media-out/run", "--config", str(config),
        *options,
    )  # fmt: skip
    assert remote.returncode == 0, remote.stderr[-3000:]
    assert env["AWS_SECRET_ACCESS_KEY"] not in remote.stdout + remote.stderr
    local_out = tmp_path / "local"
    # The reference run needs no Ray of its own: both executors make the same files.
    local = run_raybatch(
        "batch", "process", str(batch_inputs), "--output", str(local_out), "--executor", "local", *options
    )
    assert local.returncode == 0, local.stderr[-3000:]

    keys = [k.removeprefix("run/") for k in _keys(client, "media-out", "run/")]
    local_files = {str(p.relative_to(local_out)) for p in local_out.rglob("*") if p.is_file()}
    assert _published_files(keys) == _published_files(sorted(local_files))
    assert not [k for k in keys if ".part-" in k], "a temporary object was left behind"
    # The metrics, report and manifest went up too, and the inputs were not touched.
    assert any(k.startswith("summary/metrics/") and k.endswith(".parquet") for k in keys)
    assert _keys(client, "media-in") == ["raw/screen.mkv", "raw/talk.mp4"]

    report_path = tmp_path / "batch_report.json"
    client.download_file("media-out", "run/summary/batch_report.json", str(report_path))
    report = json.loads(report_path.read_text())
    assert report["output"] == "s3://media-out/run"
    assert report["config"]["storage"]["options"]["s3"]["secret"] == "***"
    for key in keys:
        if key.endswith(".json"):
            text = client.get_object(Bucket="media-out", Key=f"run/{key}")["Body"].read().decode()
            assert env["AWS_SECRET_ACCESS_KEY"] not in text, f"the secret was written to {key}"
    assert {v["status"] for v in report["videos"]} == {"done"}
    local_report = load_report(local_out)
    for remote_video, local_video in zip(report["videos"], local_report["videos"], strict=True):
        assert remote_video["output"].startswith("s3://media-out/run/")
        assert remote_video["frames"] == local_video["frames"]
        assert remote_video["output_duration_s"] == local_video["output_duration_s"]
    video = tmp_path / "talk.mp4"
    client.download_file("media-out", "run/talk/video/enhanced_talk.mp4", str(video))
    assert_verified_output(video, expected_duration=4.0, fps="25/1", has_audio=True)


def test_an_interrupted_upload_leaves_no_object_under_the_final_name(s3, tmp_path):
    """The committing process is killed mid-upload: the final name never appears."""
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(160 * 1024**2)  # several multipart chunks
    script = (
        "import sys; from raybatch.io.storage import commit_file; "
        "commit_file(sys.argv[1], 's3://media-out/interrupted/final.bin')"
    )
    uploader = subprocess.Popen([sys.executable, "-c", script, str(big)], env={**os.environ, **s3["env"]})
    client = s3["client"]
    deadline = time.monotonic() + 60
    while not client.list_multipart_uploads(Bucket="media-out").get("Uploads"):
        assert uploader.poll() is None, "the upload finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    uploader.send_signal(signal.SIGKILL)
    uploader.wait()
    # Uploaded straight to its final key (once), which stays invisible until the upload completes.
    uploading = [u["Key"] for u in client.list_multipart_uploads(Bucket="media-out")["Uploads"]]
    assert uploading == ["interrupted/final.bin"]
    assert "interrupted/final.bin" not in _keys(client, "media-out", "interrupted/")


def test_a_missing_bucket_is_a_clear_error(s3, batch_inputs, tmp_path):
    result = run_raybatch(
        "batch", "process", "s3://no-such-bucket/raw", "--output", str(tmp_path), env=s3["env"]
    )
    assert result.returncode == 2
    assert "s3://no-such-bucket does not exist" in result.stderr
    result = run_raybatch(
        "batch", "process", str(batch_inputs), "--output", "s3://no-such-output/run", env=s3["env"]
    )
    assert result.returncode == 2
    assert "s3://no-such-output does not exist" in result.stderr and "create it" in result.stderr


def test_bad_credentials_are_a_clear_error_that_never_shows_them(s3, batch_inputs, tmp_path):
    wrong = "WrongSecretDoNotPrint0123456789abcdef"
    env = {**s3["env"], "AWS_SECRET_ACCESS_KEY": wrong}
    result = run_raybatch("batch", "process", "s3://media-in/raw", "--output", str(tmp_path / "o"), env=env)
    assert result.returncode == 2
    assert "access denied" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr
    result = run_raybatch("batch", "process", str(batch_inputs), "--output", "s3://media-out/denied", env=env)
    assert result.returncode == 2
    assert "s3://media-out/denied: access denied" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert not _keys(s3["client"], "media-out", "denied/")


def test_no_credentials_at_all_is_a_clear_error_and_status_still_lists_every_job(s3, tmp_path):
    """Run after the batch above registered a job whose output is on S3."""
    nowhere = str(tmp_path / "none")
    env = {
        "AWS_ENDPOINT_URL": s3["endpoint"],
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "AWS_CONFIG_FILE": nowhere,
    }
    result = run_raybatch("batch", "process", "s3://media-in/raw", "--output", str(tmp_path / "o"), env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "s3://media-in/raw: access denied" in result.stderr and "Traceback" not in result.stderr
    status = run_raybatch("batch", "status", env=env)
    assert status.returncode == 0, status.stderr[-2000:]
    assert "s3://media-out/run" in status.stdout and "manifest unreadable" in status.stdout
