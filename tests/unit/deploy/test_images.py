"""The Docker image's build files and the install script's pieces the image and launchers share."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_dockerfile_installs_the_static_ffmpeg_and_the_tested_set_then_gates():
    text = (ROOT / "cluster" / "Dockerfile").read_text()
    assert not re.search(r"apt-get install[^&]*\bffmpeg\b", text), "apt's ffmpeg is 4.4 on the Ray image"
    assert "install_ffmpeg.sh" in text
    install = re.search(r"pip install[^\n]*\\\n[^\n]*", text).group(0)
    assert "-c /home/ray/raybatch/constraints.txt" in install and '"torch==2.13.0"' in install
    assert text.rstrip().endswith("python -m raybatch.media.toolchain")
    # The CPU variant is the same file with two build arguments.
    assert "ARG BASE=rayproject/ray:2.60.0-py311-gpu" in text and "ARG TORCH_INDEX" in text
    assert "--build-arg BASE=rayproject/ray:2.60.0-py311-cpu" in text


def test_dockerignore_keeps_the_venv_and_history_out_of_the_image():
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"
    }
    assert {".venv", ".git", "tests", "**/__pycache__"} <= ignored
    # What the build needs stays in.
    assert not ignored & {"raybatch", "pyproject.toml", "README.md", "LICENSE", "constraints.txt", "cluster"}


def test_constraints_pin_every_dependency_the_ranges_allow():
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["ray"] == "2.60.0" and pins["torch"] == "2.13.0"  # no +cpu: CUDA nodes use it too
    assert "raybatch" not in pins
