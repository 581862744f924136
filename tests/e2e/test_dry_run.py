"""Seeing before doing: `--dry-run` prints the plan and writes nothing; `batch config` prints,
validates and describes configurations."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.conftest import make_av, sha256
from tests.helpers import run_raybatch

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("dry")
    make_av(root / "talk.mp4", size="640x360", duration=3.0)
    (root / "later").mkdir()
    make_av(root / "later" / "part2.mp4", size="320x240", duration=2.0)
    (root / "notes.txt").write_text("not a video\n")
    (root / "broken.mp4").write_text("not a video either\n")
    return root


def _inputs(root) -> dict:
    return {p: sha256(p) for p in root.rglob("*") if p.is_file()}


def test_dry_run_prints_the_plan_and_writes_nothing(folder, tmp_path):
    before, out = _inputs(folder), tmp_path / "out"
    done = run_raybatch(
        "batch", "process", str(folder), "--output", str(out), "--dry-run", "--executor", "local"
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"Dry run: nothing is processed or written. Output: {out}" in text
    assert "1 video(s) to process:" in text
    talk = next(line for line in text.splitlines() if line.strip().startswith("talk.mp4"))
    assert talk.split()[1:6] == ["3.0s", "640x360", "640x360", "1", "talk/video/enhanced_talk.mp4"]
    assert "skipped later: a folder (add --recursive to look inside)" in text
    assert "skipped notes.txt: not a video or audio file name" in text
    assert "will fail broken.mp4: ffprobe cannot read the file" in text
    assert "Encoder: libx264 (" in text and "Pools on " in text
    assert "Estimated wall time: " in text and "(from the CPU model on" in text
    assert "API cost: $0 (offline metadata writer)" in text
    assert not out.exists() and _inputs(folder) == before


def test_dry_run_of_a_list_names_its_missing_entry_and_a_later_run_calibrates_the_forecast(folder, tmp_path):
    listing = tmp_path / "videos.txt"
    listing.write_text(f"{folder / 'talk.mp4'}\n{folder / 'later' / 'part2.mp4'}\nmissing.mp4\n")
    out = tmp_path / "out"
    common = ("--output", str(out), "--executor", "local", "--quality", "low", "--mode", "fast")
    plan = run_raybatch("batch", "process-list", str(listing), *common, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "2 video(s) to process:" in plan.stdout
    assert "will fail missing.mp4:" in plan.stdout
    assert not out.exists()
    run = run_raybatch("batch", "process", str(folder / "talk.mp4"), *common, "--no-progress-bar")
    assert run.returncode == 0, run.stderr
    again = run_raybatch("batch", "process-list", str(listing), *common, "--dry-run")
    assert (
        f"(from the pace of the last run into this output ({out}/summary/processing_metrics.json))"
        in again.stdout
    )


def test_config_show_resolves_the_file_and_redacts_secrets(tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text(
        "batch:\n  max_concurrent_jobs: 5\nstorage:\n  options:\n    s3:\n"
        "      endpoint_url: http://127.0.0.1:9000\n      secret: do-not-print-me\n"
    )
    shown = run_raybatch("batch", "--config", str(config), "config", "show")
    assert shown.returncode == 0, shown.stderr
    data = yaml.safe_load(shown.stdout)
    assert data["batch"]["max_concurrent_jobs"] == 5 and data["processing"]["quality"] == "high"
    assert data["storage"]["options"]["s3"] == {"endpoint_url": "http://127.0.0.1:9000", "secret": "***"}
    assert "do-not-print-me" not in shown.stdout
    as_json = run_raybatch("batch", "config", "show", "--config", str(config), "--json")
    assert json.loads(as_json.stdout) == data


def test_config_validate_names_the_file_and_the_key(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(run_raybatch("batch", "config", "--example", "series").stdout)
    bad.write_text("processing:\n  quality: superb\n")
    assert run_raybatch("batch", "config", "validate", str(good)).stdout == f"{good}: valid\n"
    failed = run_raybatch("batch", "config", "validate", str(good), str(bad))
    assert failed.returncode == 2
    assert f"{bad}: processing.quality: " in failed.stderr and "superb" in failed.stderr


def test_config_schema_validates_every_example(tmp_path):
    schema = json.loads(run_raybatch("batch", "config", "schema").stdout)
    assert schema["title"] == "RaybatchConfig" and "processing" in schema["properties"]
    for name in ("batch", "series", "custom_output"):
        example = yaml.safe_load(run_raybatch("batch", "config", "--example", name).stdout)
        jsonschema.validate(example, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"processing": {"quality": "superb"}}, schema)
