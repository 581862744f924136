"""Job files edited by someone else: raybatch acts on nothing in them that points outside the
job's output location or input, and says which file and field it refused (exit 2).

Each attack runs the CLI as a user would against a real finished job, beside a sentinel folder
that must come out byte for byte as it went in."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_video_only
from tests.helpers import run_raybatch as raybatch

pytestmark = pytest.mark.security

FAST = ["--executor", "local", "--quality", "low", "--mode", "fast", "--no-analysis", "--no-progress-bar"]


def tree_digest(root: Path) -> str:
    """Every path under ``root`` with its content: any change shows."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory) -> dict:
    """One finished job of two short clips; a copy is made for each test to attack."""
    root = tmp_path_factory.mktemp("job")
    videos = root / "in"
    videos.mkdir()
    make_video_only(videos / "one.mp4", duration=1.0)
    make_video_only(videos / "two.mp4", duration=1.0)
    out = root / "out"
    result = raybatch("batch", "process", str(videos), "--output", str(out), *FAST)
    assert result.returncode == 0, result.stderr
    (job_id,) = [p.name for p in (out / ".raybatch" / "jobs").iterdir()]
    return {"root": root, "job_id": job_id}


@pytest.fixture
def job(finished_job, tmp_path) -> dict:
    """A copy of the finished job (inputs, outputs) and a sentinel folder beside it."""
    shutil.copytree(finished_job["root"], tmp_path, dirs_exist_ok=True)
    victim = tmp_path / "victim"
    (victim / "jobc").mkdir(parents=True)
    (victim / "keep.txt").write_text("precious")
    out = tmp_path / "out"
    manifest = out / ".raybatch" / "jobs" / finished_job["job_id"] / "manifest.json"
    return {
        "out": out,
        "in": tmp_path / "in",
        "victim": victim,
        "job_id": finished_job["job_id"],
        "manifest": manifest,
        "before": tree_digest(victim),
    }


def edit_manifest(job: dict, change) -> None:
    data = json.loads(job["manifest"].read_text())
    change(data)
    job["manifest"].write_text(json.dumps(data))


def failed_again(data: dict) -> None:
    """Mark the first video failed, so that ``batch retry`` runs it."""
    video = next(iter(data["videos"].values()))
    video.update(state="failed", error={"file": video["source"], "stage": "encode", "message": "x"})
    data["state"] = "completed_with_errors"


def assert_refused(result, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_work_and_output_pointing_elsewhere_move_and_delete_nothing(job):
    """The manifest's ``work`` and ``output`` are never read: the retried video is written into
    the job's own output, and the completed job removes only its own marked work folder."""

    def redirect(data: dict) -> None:
        failed_again(data)
        data["work"] = str(job["victim"])
        data["output"] = str(job["victim"])

    edit_manifest(job, redirect)
    result = raybatch(
        "batch", "retry", "--job-id", job["job_id"], "--output", str(job["out"]), "--no-progress-bar"
    )
    assert result.returncode == 0, result.stderr
    assert tree_digest(job["victim"]) == job["before"]
    assert (job["out"] / "one" / "video" / "enhanced_one.mp4").is_file()
    manifest = json.loads(job["manifest"].read_text())
    assert manifest["output"] == str(job["out"]) and manifest["state"] == "completed"


def test_a_job_id_that_is_a_path_is_refused(job):
    evil = "../../../../" + str(job["victim"] / "jobc").lstrip("/")
    result = raybatch(
        "batch", "checkpoint", "--job-id", evil, "--checkpoint-name", "x", "--output", str(job["out"])
    )
    assert_refused(result, "is not a job id")
    result = raybatch("batch", "status", "--job-id", evil, "--output", str(job["out"]))
    assert_refused(result, "is not a job id")
    assert tree_digest(job["victim"]) == job["before"]


def test_a_manifest_naming_another_job_is_refused(job):
    edit_manifest(
        job, lambda data: data.update(job_id="../../../../" + str(job["victim"] / "jobc").lstrip("/"))
    )
    result = raybatch("batch", "resume", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, str(job["manifest"]), "job_id")
    assert tree_digest(job["victim"]) == job["before"]


def test_a_checkpoint_name_that_is_a_path_is_refused(job):
    (job["victim"] / "x").mkdir()
    shutil.copy(job["manifest"], job["victim"] / "x" / "manifest.json")
    job["before"] = tree_digest(job["victim"])
    name = "../../../../" + str(job["victim"] / "x" / "manifest").lstrip("/")
    result = raybatch(
        "batch", "resume", "--job-id", job["job_id"], "--from-checkpoint", name, "--output", str(job["out"])
    )
    assert_refused(result, "checkpoint name")
    assert tree_digest(job["victim"]) == job["before"]


def test_a_source_outside_the_input_is_never_read(job):
    def system_file(data: dict) -> None:
        failed_again(data)
        next(iter(data["videos"].values()))["source"] = "/etc/passwd"

    edit_manifest(job, system_file)
    result = raybatch("batch", "retry", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, "videos.one.source", "not inside the job's input")


def test_a_key_that_climbs_out_is_refused(job):
    def climbing_key(data: dict) -> None:
        failed_again(data)
        data["videos"]["../../victim"] = data["videos"].pop("one")

    edit_manifest(job, climbing_key)
    result = raybatch("batch", "retry", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, "videos.../../victim")
    assert tree_digest(job["victim"]) == job["before"]


def test_a_garbage_manifest_is_a_clear_error(job):
    job["manifest"].write_bytes(b"\x00\xffnot json at all")
    result = raybatch("batch", "status", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, str(job["manifest"]), "not a job manifest")
    job["manifest"].write_text(json.dumps({"job_id": job["job_id"], "videos": "many"}))
    result = raybatch("batch", "status", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, str(job["manifest"]))


def test_a_work_folder_that_is_a_link_is_refused(job):
    """A link in place of the work folder would send the work files (and, once the job
    completes, their removal) elsewhere."""
    work = job["out"] / ".raybatch" / "work" / job["job_id"]
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    work.symlink_to(job["victim"], target_is_directory=True)
    edit_manifest(job, failed_again)
    result = raybatch("batch", "retry", "--job-id", job["job_id"], "--output", str(job["out"]))
    assert_refused(result, "is a link")
    assert tree_digest(job["victim"]) == job["before"]


def test_a_listed_job_reads_only_what_its_list_names(tmp_path):
    """A job of listed videos has no input folder to hold its sources: its list file does."""
    videos = tmp_path / "in"
    videos.mkdir()
    make_video_only(videos / "one.mp4", duration=1.0)
    listing = tmp_path / "videos.txt"
    listing.write_text("in/one.mp4\n")
    out = tmp_path / "out"
    assert raybatch("batch", "process-list", str(listing), "--output", str(out), *FAST).returncode == 0
    (manifest,) = out.glob(".raybatch/jobs/*/manifest.json")
    job = {"manifest": manifest}
    data = json.loads(manifest.read_text())
    assert data["input_list"] == str(listing)
    retry = ["batch", "retry", "--job-id", manifest.parent.name, "--output", str(out)]

    edit_manifest(job, failed_again)
    listing.rename(tmp_path / "moved.txt")
    status = raybatch("batch", "status", "--job-id", manifest.parent.name, "--output", str(out))
    assert status.returncode == 0, status.stderr  # seeing a job needs no list; reading its inputs does
    assert_refused(raybatch(*retry), "videos.txt is gone or unreadable", "put the list back")
    (tmp_path / "moved.txt").rename(listing)
    assert raybatch(*retry, "--no-progress-bar").returncode == 0  # the list is back: the job goes on

    def system_file(data: dict) -> None:
        failed_again(data)
        data["videos"]["one"]["source"] = "/etc/passwd"

    edit_manifest(job, system_file)
    assert_refused(raybatch(*retry), "videos.one.source", "not in the job's list")
