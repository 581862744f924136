"""The series plan from a job's videos, and series_metadata.json from the episodes' results."""

from __future__ import annotations

import pytest

from raybatch.config.loader import load_config
from raybatch.errors import RunFailure
from raybatch.io.layout import Layout
from raybatch.jobs.records import ErrorRecord, Outcome
from raybatch.series.documents import series_keywords, series_metadata
from raybatch.series.plan import plan_series, series_name
from raybatch.series.step import episode_documents, write_series


def videos(*paths: str) -> dict[str, dict]:
    return {f"v{i}": {"relative_path": p} for i, p in enumerate(paths)}


def test_the_plan_orders_and_names_the_series():
    plan = plan_series(
        videos("python_tutorial_ep10.mp4", "python_tutorial_ep2.mp4"),
        name=None,
        explicit=None,
        input_uri="/in",
    )
    assert plan.name == "Python Tutorial" and plan.count == 2
    assert [(k, e.number, e.position) for k, e in plan.episodes.items()] == [("v1", 2, 1), ("v0", 10, 2)]
    assert plan_series(videos("a.mp4"), name="Money", explicit=None, input_uri=None).name == "Money"


def test_an_unnamed_series_without_marks_takes_its_folders_name():
    assert series_name(["intro.mp4", "loops.mp4"], "s3://bucket/course_videos/") == "Course Videos"
    assert series_name(["intro.mp4"], None) == "Series"


def test_series_keywords_keep_the_configured_ones_first_then_the_most_shared():
    merged = series_keywords(
        ["Python", "learn python"], [["loops", "python", "lists"], ["loops", "Functions"], ["loops", "lists"]]
    )
    assert merged == ["Python", "learn python", "loops", "lists", "functions"]


def done(key: str, path: str, title: str, lufs: float) -> Outcome:
    return Outcome(
        video=key, source_uri=f"/in/{path}", relative_path=path, status="done", folder=key,
        output_uri=f"/out/{key}/video/enhanced_{key}.mp4", output_duration_s=60.0,
        package={"title": title, "thumbnails": ["clean.jpg"]}, loudness_after={"input_i": lufs},
    )  # fmt: skip


def test_series_metadata_lists_every_episode_in_order_failed_ones_as_such():
    config = load_config(None, {"series": {"name": "Money"}, "metadata": {"series_keywords": ["budget"]}})
    plan = plan_series(
        videos("money_ep1.mp4", "money_ep2.mp4", "money_ep3.mp4"), name="Money", explicit=None, input_uri=None
    )
    failed = Outcome(
        video="v1", source_uri="/in/money_ep2.mp4", relative_path="money_ep2.mp4", status="failed",
        error=ErrorRecord(file="/in/money_ep2.mp4", stage="probe", message="no video stream"),
    )  # fmt: skip
    outcomes = [
        done("v0", "money_ep1.mp4", "Money – Episode 1", -16.1),
        failed,
        done("v2", "money_ep3.mp4", "Money – Episode 3", -15.9),
    ]
    document = series_metadata(
        config, plan, outcomes, {"v0": {"keywords": ["saving"]}, "v2": {"keywords": ["saving"]}}
    )
    assert document["series"] == {
        "name": "Money",
        "type": "general",
        "episodes": 3,
        "done": 2,
        "failed": ["v1"],
    }
    assert [(e["episode"], e["status"]) for e in document["episodes"]] == [
        (1, "done"),
        (2, "failed"),
        (3, "done"),
    ]
    assert document["episodes"][1]["error"] == "no video stream"
    assert (
        document["episodes"][2]["title"] == "Money – Episode 3"
        and document["episodes"][2]["loudness_lufs"] == -15.9
    )
    assert document["keywords"] == ["budget", "saving"]


def test_a_series_folder_that_cannot_be_written_is_a_clear_run_failure(tmp_path):
    (tmp_path / "series_coordination").write_text("a file where the folder should be")
    config = load_config(None, {"series": {"name": "Money"}})
    plan = plan_series(videos("money_ep1.mp4"), name="Money", explicit=None, input_uri=None)
    with pytest.raises(RunFailure, match="cannot write the series files") as caught:
        write_series(config, plan, [], Layout(str(tmp_path), "job_1"))
    assert "raybatch batch resume --job-id job_1" in caught.value.hint
    fine = tmp_path / "ok"
    write_series(config, plan, [], Layout(str(fine), "job_2"))
    assert (fine / "series_coordination" / "series_metadata.json").is_file()


def test_episode_metadata_is_read_only_from_folders_inside_the_output(tmp_path):
    out = tmp_path / "out"
    for folder in (out / "ep1", tmp_path / "elsewhere"):
        (folder / "metadata").mkdir(parents=True)
        (folder / "metadata" / "metadata.json").write_text('{"keywords": ["budget"]}')
    layout = Layout(str(out), "job_1")
    inside = done("v0", "money_ep1.mp4", "Money – Episode 1", -16.0)
    inside.folder = "ep1"
    tampered = done("v1", "money_ep2.mp4", "Money – Episode 2", -16.0)
    tampered.folder = "../elsewhere"  # an earlier run's result, edited in the manifest
    listed = done("v2", "money_ep3.mp4", "Money – Episode 3", -16.0)
    listed.folder = "ep1"
    listed.files = {"metadata/metadata.json": "../elsewhere/metadata/metadata.json"}
    assert episode_documents(layout, [inside, tampered, listed], "metadata/metadata.json") == {
        "v0": {"keywords": ["budget"]}
    }
