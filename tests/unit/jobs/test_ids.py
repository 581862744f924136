"""Job ids: the guide's shape by default, or the user's own with ``--job-id``."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from raybatch.errors import JobError
from raybatch.jobs.ids import claim_job_id, registry_root


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RAYBATCH_HOME", str(tmp_path / "home"))


def test_ids_made_in_the_same_second_get_suffixes():
    now = datetime(2024, 1, 7, 14, 30, 22)
    assert [claim_job_id("/out", now) for _ in range(3)] == [
        "batch_20240107_143022",
        "batch_20240107_143022_2",
        "batch_20240107_143022_3",
    ]


def test_a_chosen_id_is_registered_as_it_is_and_only_once():
    assert claim_job_id("/out", requested="nightly-2024.01") == "nightly-2024.01"
    entry = json.loads((registry_root() / "nightly-2024.01.json").read_text())
    assert entry["output"] == "/out"
    with pytest.raises(JobError, match="is taken") as taken:
        claim_job_id("/elsewhere", requested="nightly-2024.01")
    assert "choose another --job-id" in taken.value.hint


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", ".hidden", "x" * 101])
def test_a_chosen_id_that_could_name_another_file_is_refused(bad):
    with pytest.raises(JobError, match="not a usable job id"):
        claim_job_id("/out", requested=bad)
