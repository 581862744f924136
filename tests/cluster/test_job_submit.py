"""`ray job submit` against a real head started with `ray start --head`, on loopback, with
Ray's token auth on: the batch joins that cluster, and leaves it running."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from scripts.local_cluster import free_port
from tests.conftest import make_av
from tests.helpers import assert_verified_output, load_report

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _dashboard_up(url: str, token: str) -> bool:
    request = urllib.request.Request(f"{url}/api/version", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def ray_head():
    """A head node as `ray start --head` makes it: GCS, dashboard and job API on 127.0.0.1 only,
    two CPUs for the work. Stopped afterwards by signalling its process group (``ray stop``
    would also stop the tests' own embedded Ray)."""
    temp_dir = tempfile.mkdtemp(prefix="rbhead", dir="/tmp")  # short: Ray's socket paths
    dashboard = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "PATH": f"{BIN}:{os.environ['PATH']}"}
    command = [
        str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address", "127.0.0.1",
        "--port", str(free_port()), "--dashboard-host", "127.0.0.1",
        "--dashboard-port", dashboard.rsplit(":", 1)[1], "--include-dashboard", "true",
        "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
        "--num-cpus", "2", "--temp-dir", temp_dir, "--disable-usage-stats",
    ]  # fmt: skip
    log = open(os.path.join(temp_dir, "head.log"), "w")  # noqa: SIM115 - open for the fixture's life
    head = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    token = Path(os.environ["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    try:
        deadline = time.monotonic() + 90
        while not _dashboard_up(dashboard, token):
            assert head.poll() is None, Path(temp_dir, "head.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the head's dashboard did not come up"
            time.sleep(0.5)
        yield {"dashboard": dashboard, "env": env, "token": token}
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.wait(timeout=3)
        # Ray's daemons outlive a terminated `ray start --block`: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_ray_job_submit_runs_a_batch_on_the_cluster_and_leaves_it_running(ray_head, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    make_av(inputs / "talk.mp4", duration=4.0)
    out = tmp_path / "out"
    submit = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", ray_head["dashboard"], "--working-dir", str(REPO),
         "--", "raybatch", "batch", "process", str(inputs), "--output", str(out),
         "--quality", "low", "--mode", "fast", "--no-progress-bar", "--log-level", "INFO"],
        env=ray_head["env"], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    assert "succeeded" in submit.stdout.lower()

    report = load_report(out)
    assert report["status"] == "completed"
    placement = report["placement"]
    assert placement["inside_ray_job"] is True
    # It joined the head's cluster (one node, two CPUs), never an embedded one of its own.
    assert [node["resources"]["CPU"] for node in placement["nodes"]] == [2.0]
    video = report["videos"][0]
    assert_verified_output(Path(video["output"]), expected_duration=4.0, fps="25/1", has_audio=True)
    # The batch left the cluster up: the job API still answers, and lists the job as done.
    assert _dashboard_up(ray_head["dashboard"], ray_head["token"])
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(ray_head["dashboard"])
    (job,) = client.list_jobs()
    assert str(job.status) == "SUCCEEDED"
    # The stages' log records, written in the cluster's workers, are in the job's own log.
    logs = client.get_job_logs(job.submission_id)
    assert "[analyse_sound] Silero VAD on cpu" in logs and "Token authentication" not in logs


def test_a_submission_without_the_token_is_refused(ray_head, tmp_path):
    """Token auth is on: a client with another token cannot submit anything."""
    wrong = tmp_path / "wrong_token"
    wrong.write_text("0" * 64)
    submit = subprocess.run(
        [str(BIN / "ray"), "job", "submit", "--address", ray_head["dashboard"], "--no-wait", "--", "true"],
        env={**ray_head["env"], "RAY_AUTH_TOKEN_PATH": str(wrong)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert submit.returncode != 0
    assert "auth" in (submit.stdout + submit.stderr).lower()
