"""A job's life on real files: created from a folder, run, closed; changed inputs noticed."""

from __future__ import annotations

import pytest

from raybatch.config import load_config
from raybatch.errors import InputError
from raybatch.jobs.lifecycle import begin_run, end_run, new_job
from raybatch.jobs.records import Outcome


def config(tmp_path, **batch):
    return load_config(
        None, {"input": str(tmp_path / "in"), "batch": batch, "output": {"directory": str(tmp_path / "out")}}
    )


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("episode 10.mp4", "episode 2.mp4", "song.mp4"):
        (folder / name).write_bytes(name.encode() * 1000)
    return folder


def test_a_new_job_lists_its_inputs_with_fingerprints(tmp_path, inputs):
    manifest = new_job(config(tmp_path))
    assert list(manifest.videos) == ["episode 2", "episode 10", "song"]
    assert all(v["fingerprint"] and v["state"] == "queued" for v in manifest.videos.values())
    with pytest.raises(InputError, match="no input given"):
        new_job(load_config(None, {"output": {"directory": str(tmp_path / "out")}}))


def test_a_run_closes_with_the_whole_jobs_outcomes(tmp_path, inputs):
    manifest = new_job(config(tmp_path))
    run = begin_run(manifest)
    assert run.number == 1 and [v.key for v in run.videos] == ["episode 2", "episode 10", "song"]
    first = Outcome("episode 2", "/in/e2.mp4", "episode 2.mp4", "done", edit={"content_type": "general"})
    manifest.finish_video(first)
    outcomes = end_run(manifest, run, [first], stopped=True, group_by_type=False)
    statuses = [(o.video, o.status) for o in outcomes]
    assert statuses == [("episode 2", "done"), ("episode 10", "cancelled"), ("song", "cancelled")]
    assert manifest.state == "stopped" and outcomes[1].error.stage == "scheduling"

    (inputs / "song.mp4").write_bytes(b"a new take" * 1000)
    retry = begin_run(manifest, only=["episode 10", "song"], kind="retry")
    assert manifest.runs[-1]["changed_inputs"] == ["song"] and manifest.videos["song"]["attempts"] == 2
    song = Outcome("song", "/in/song.mp4", "song.mp4", "done", edit={"content_type": "music"})
    ten = Outcome("episode 10", "/in/e10.mp4", "episode 10.mp4", "done", edit={"content_type": "general"})
    for outcome in (song, ten):
        manifest.finish_video(outcome)
    outcomes = end_run(manifest, retry, [song, ten], stopped=False, group_by_type=True)
    assert [o.video for o in outcomes] == ["song", "episode 2", "episode 10"]  # music before general
    assert manifest.state == "completed" and [o.attempt for o in outcomes] == [2, 1, 2]
