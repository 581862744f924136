"""Every example command of the guide's resource, parallelism, batching and troubleshooting
sections, run as printed (``python -m ai_video_editor.cli.main`` is ``raybatch``) in a folder
holding the ``./videos/`` (or ``./mixed_content/``) it names, on the shared Ray session. Each
must finish its batch and do what its text promises."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from raybatch.cli.main import cli
from tests.conftest import make_av

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT.parent / "shared" / "guide" / "batch-processing.md"
SECTIONS = (
    "Resource Management",
    "Parallel Processing Optimization",
    "Resource-Aware Processing",
    "Content-Aware Batching",
    "Memory Exhaustion",
    "Inconsistent Quality",
)


def guide_commands() -> dict[str, list[str]]:
    """Each section's commands, by the comment line above each ("# Optimize for limited memory")."""
    if not GUIDE.is_file():
        return {}
    text = GUIDE.read_text()
    commands: dict[str, list[str]] = {}
    for section in SECTIONS:
        start = re.search(rf"^#{{2,}} .*{re.escape(section)}.*$|^\*\*{re.escape(section)}:\*\*$", text, re.M)
        assert start, f"the guide has no section {section!r}"
        # A section runs to the next heading (a bold label's, to the next bold label).
        end = re.compile(r"^\*\*[^*]+:\*\*$" if start.group().startswith("**") else r"^#{2,} ", re.M)
        following = end.search(text, start.end())
        body = text[start.end() : following.start() if following else len(text)]
        for block in re.findall(r"```bash\n(.*?)```", body, re.S):
            comment, _, command = block.partition("\n")
            words = shlex.split(command.replace("\\\n", " "))
            assert words[:3] == ["python", "-m", "ai_video_editor.cli.main"], words
            commands[comment.lstrip("# ").strip()] = words[3:]
    return commands


COMMANDS = guide_commands()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide_clips")
    # Tiny on purpose: seven runs, whose cost is mostly the run's own start (actors, models).
    make_av(root / "lesson_long.mp4", size="320x180", duration=1.6)
    make_av(root / "lesson_short.mp4", size="320x180", duration=1.2)
    return root


def run_as_printed(words: list[str], clips: Path, cwd: Path, monkeypatch) -> dict:
    folder = next(w for w in words if w.startswith("./"))
    shutil.copytree(clips, cwd / folder)
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, [*words, "--no-progress-bar"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = cwd / "batch_output" / "summary"
    report = json.loads((summary / "batch_report.json").read_text())
    assert report["totals"]["done"] == 2, report["videos"]
    return {"report": report, "metrics": json.loads((summary / "processing_metrics.json").read_text())}


@pytest.mark.skipif(not COMMANDS, reason="../shared/guide is not present")
@pytest.mark.parametrize("comment", list(COMMANDS) or ["none"])
def test_the_guide_example_runs_as_printed_and_does_what_it_says(
    comment, ray_session, clips, tmp_path, monkeypatch
):
    run = run_as_printed(COMMANDS[comment], clips, tmp_path, monkeypatch)
    report, metrics = run["report"], run["metrics"]
    scheduling, pool, batch = report["scheduling"], report["pool"], report["config"]["batch"]
    if comment == "Optimize for limited memory":
        assert scheduling["videos_in_flight_limit"] == 2 and pool["size"] <= 2
    elif comment == "Optimize for powerful systems":
        # the whole machine: as many encoders as its CPUs allow (two here), four videos in flight
        assert pool["size"] == min(4, int(ray_session.cluster_resources()["CPU"]))
        assert scheduling["videos_in_flight_limit"] == 4 and report["preset"]["quality"] == "ultra"
    elif comment == "Configure parallel processing":
        assert (scheduling["strategy"], scheduling["queue"]) == ("adaptive", "smart")
        assert report["placement"]["encoders_spread_over_nodes"] is True
    elif comment == "Enable dynamic resource management":
        assert (batch["memory_threshold_gb"], batch["cpu_threshold_pct"], batch["adaptive_quality"]) == (
            16,
            80,
            True,
        )
        assert metrics["resource_efficiency"]["nodes"] and "adaptations" in metrics["resource_efficiency"]
    elif comment == "Process different content types in optimized batches":
        assert batch["group_by_type"] and batch["optimize_batches"]
        assert {v["content_type"] for v in report["videos"]} <= {"educational", "music", "general"}
    elif comment == "Reduce memory usage":
        assert scheduling["videos_in_flight_limit"] == 1 and pool["size"] == 1
    elif comment == "Ensure consistent processing":
        assert scheduling["consistent_settings"] is True
        assert len({json.dumps(v["encoding"]) for v in report["videos"]}) == 1
        assert len({json.dumps(v["enhancement"]) for v in report["videos"]}) == 1
    else:
        pytest.fail(f"no expectation for the guide's {comment!r}")


def test_the_sections_hold_the_seven_examples():
    if not COMMANDS:
        pytest.skip("../shared/guide is not present")
    assert len(COMMANDS) == 7, list(COMMANDS)
