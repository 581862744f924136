"""The published guide, held to its word: every ``batch`` command it prints runs as printed.

The test reads ``../shared/guide/batch-processing.md``, takes every ``python -m
ai_video_editor.cli.main batch ...`` command from its code blocks (continued lines joined), and
runs it as ``raybatch batch ...`` in a folder holding what the commands name: the input folders
with tiny generated videos, ``video_list.txt``, the guide's two YAML files verbatim and the logo
the series one points at. Only ``--output`` is added, where a processing command has none. Each
command must exit 0, or 1 where its input holds the deliberately broken file; never 2 (a flag,
a file or a key the guide promises that raybatch refuses). The commands run with
``RAYBATCH_EXECUTOR=local`` (a real, documented setting: the in-process executor, no Ray start
per command) to keep 28 commands quick; every other part is the real one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ffmpeg, make_av
from tests.helpers import assert_verified_output, load_report

GUIDE = Path(__file__).resolve().parents[2].parent / "shared" / "guide" / "batch-processing.md"
PROGRAM = "python -m ai_video_editor.cli.main"
#: The guide's own job id, which its status, retry, resume and checkpoint examples name.
GUIDE_JOB = "batch_20240107_143022"
#: The input folders that hold the broken file (their commands exit 1: the rest goes on).
BROKEN = "broken_export.mp4"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not GUIDE.exists(), reason=f"the published guide is absent ({GUIDE})"),
]


def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8") if GUIDE.exists() else ""


def code_blocks(text: str) -> list[tuple[str, str, str]]:
    """(language, body, the text before it) of every fenced block."""
    return [
        (m.group(1), m.group(2), text[: m.start()]) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)
    ]


def guide_commands(text: str) -> list[str]:
    """Every ``batch`` command of the guide, continued lines joined, in the guide's order."""
    commands = []
    for _, body, _ in code_blocks(text):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith(f"{PROGRAM} batch"):
                commands.append(re.sub(r"\s+", " ", line))
    return commands


def guide_yaml_files(text: str) -> dict[str, str]:
    """The YAML files the guide tells the reader to create: name -> content, verbatim."""
    files = {}
    for language, body, before in code_blocks(text):
        named = (
            re.findall(r"\(`([\w.-]+\.ya?ml)`\)", before.strip().splitlines()[-1]) if before.strip() else []
        )
        if language == "yaml" and named:
            files[named[0]] = body
    return files


COMMANDS = guide_commands(guide_text())


def argv(command: str) -> list[str]:
    """The guide's command as raybatch's: the same words after the program."""
    return [sys.executable, "-m", "raybatch", *shlex.split(command[len(PROGRAM) :])]


def with_output(words: list[str], folder: str) -> list[str]:
    """``words`` with ``--output folder`` added to a processing command that has none."""
    processing = "process" in words or "process-list" in words
    return [*words, "--output", folder] if processing and "--output" not in words else words


def make_workspace(root: Path) -> None:
    """Everything the guide's commands name, tiny."""

    def speech(path: Path, size: str = "320x180", seconds: float = 2.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        make_av(path, size=size, duration=seconds)

    def music(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
            "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:d=2",
            "-c:v", "libx264", "-crf", "26", "-c:a", "aac", "-shortest", str(path),
        )  # fmt: skip

    for name in ("course_01.mp4", "course_02.mp4"):
        speech(root / "videos" / name)
    for name in ("lesson_01_budgeting.mp4", "lesson_02_saving.mp4"):
        speech(root / "course_videos" / name)
    speech(root / "content" / "intro.mp4")
    speech(root / "content" / "part2" / "lesson.mp4", size="256x144")
    (root / "content" / "part2" / BROKEN).write_bytes(os.urandom(4096))
    music(root / "music" / "relaxing_music_01.mp4")
    for name in ("01_variables.mp4", "02_functions.mp4"):
        speech(root / "python_tutorials" / name)
    speech(root / "mixed_content" / "talk.mp4")
    music(root / "mixed_content" / "song.mp4")
    (root / "video_list.txt").write_text(
        "# the guide's list file\nvideos/course_01.mp4\nvideos/course_02.mp4\n"
    )
    (root / "assets").mkdir()
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=0x2255aa:s=200x200:d=1",
        "-frames:v",
        "1",
        str(root / "assets" / "series_logo.png"),
    )
    for name, content in guide_yaml_files(guide_text()).items():
        (root / name).write_text(content)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The folder the commands run in, with the guide's job made under the guide's own id
    (over ``content/``, which holds the broken file, so ``retry`` has work)."""
    root = tmp_path_factory.mktemp("guide")
    make_workspace(root)
    setup = run(
        root,
        [sys.executable, "-m", "raybatch", "batch", "process", "./content/", "--recursive",
         "--job-id", GUIDE_JOB, "--output", "./guide_job", "--quality", "low", "--mode", "fast"],
    )  # fmt: skip
    assert setup.returncode == 1, setup.stderr  # the broken file failed, the rest was done
    return root


def run(root: Path, words: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAYBATCH_EXECUTOR": "local", "COLUMNS": "120"}
    return subprocess.run(words, cwd=root, capture_output=True, text=True, timeout=600, env=env)


def expected_exit(command: str) -> int:
    """1 where the command's videos include the broken file (``content/``, and the guide's job
    for ``retry`` and ``resume``); 0 elsewhere."""
    words = shlex.split(command[len(PROGRAM) :])
    return 1 if "./content/" in words or (GUIDE_JOB in words and words[1] in ("retry", "resume")) else 0


def test_the_guide_prints_its_28_commands_and_2_yaml_files():
    assert len(COMMANDS) == 28, COMMANDS
    assert sorted(guide_yaml_files(guide_text())) == ["batch_config.yaml", "series_config.yaml"]


@pytest.mark.parametrize("number", range(len(COMMANDS)), ids=lambda n: f"{n + 1:02d}")
def test_every_command_of_the_guide_runs_as_printed(workspace, number):
    command = COMMANDS[number]
    output = f"./out/{number + 1:02d}"
    result = run(workspace, with_output(argv(command), output))
    shown = f"{command}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    assert result.returncode != 2, f"raybatch refused a command the guide prints:\n{shown}"
    assert result.returncode == expected_exit(command), shown
    words = shlex.split(command)
    if "process" in words or "process-list" in words:
        written = workspace / (words[words.index("--output") + 1] if "--output" in words else output)
        report = load_report(written)
        failed = [v["source"] for v in report["videos"] if v["status"] != "done"]
        assert all(source.endswith(BROKEN) for source in failed), shown
        assert bool(failed) == bool(expected_exit(command)) and report["totals"]["done"] >= 1, shown


def test_the_output_is_organised_as_the_guide_shows(workspace):
    """The "Batch output organization" tree, on a series command's output."""
    command = next(c for c in COMMANDS if "--series-name" in c)
    result = run(workspace, argv(command))
    assert result.returncode == 0, result.stderr
    out = workspace / "course_output"
    for name in ("batch_report.json", "processing_metrics.json", "error_log.json"):
        assert (out / "summary" / name).is_file(), name
    report = load_report(out)
    for video in report["videos"]:
        folder = out / video["video"]
        assert_verified_output(
            folder / "video" / f"enhanced_{video['video']}.mp4",
            expected_duration=video["output_duration_s"],
            fps="25/1",
            has_audio=True,
        )
        assert any((folder / "thumbnails").iterdir()) and any((folder / "metadata").iterdir())
    series = out / "series_coordination"
    assert (series / "unified_branding").is_dir()
    assert (
        json.loads((series / "series_metadata.json").read_text())["series"]["name"]
        == "Financial Literacy Course"
    )
    assert json.loads((series / "cross_references.json").read_text())
