"""Assertions on real outputs shared by the integration and end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

from PIL import Image

from raybatch.package.chapters import MIN_CHAPTER_S
from raybatch.package.thumbnails import TRANSITION_MARGIN_S
from tests.conftest import ffprobe


def assert_verified_output(path: Path, *, expected_duration: float, fps: str, has_audio: bool) -> dict:
    """ffprobe the output: H.264 + (AAC), durations within a frame, decodes without errors."""
    assert path.is_file(), f"missing output {path}"
    info = ffprobe(path)
    streams = {s["codec_type"]: s for s in info["streams"]}
    frame = float(1 / Fraction(fps))
    video = streams["video"]
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert abs(float(video["duration"]) - expected_duration) <= frame + 1e-6
    if has_audio:
        audio = streams["audio"]
        assert audio["codec_name"] == "aac"
        assert abs(float(audio["duration"]) - float(video["duration"])) <= frame + 1e-6
    else:
        assert "audio" not in streams
    errors = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True
    ).stderr
    assert errors.strip() == ""
    return info


def run_raybatch(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, as a user runs it (``env`` adds to this environment)."""
    return subprocess.run(
        [sys.executable, "-m", "raybatch", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def read_metrics(out: Path) -> list[dict]:
    """Every row of the run's Parquet stage metrics."""
    import pyarrow.parquet as pq

    files = sorted((out / "summary" / "metrics").glob("*.parquet"))
    assert files, f"no metrics under {out}"
    return [row for path in files for row in pq.read_table(path).to_pylist()]


def video_md5s(path: Path) -> list[str]:
    """Per-frame MD5 of the decoded video (compares pictures, not containers)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split(",")[-1].strip() for line in out.splitlines() if not line.startswith("#")]


def load_report(out: Path) -> dict:
    return json.loads((out / "summary" / "batch_report.json").read_text())


def batch_config(input_dir: Path, out: Path, executor: str = "ray", **processing):
    """A run's configuration for tests: low quality, fast mode, no progress view."""
    from raybatch import load_config

    return load_config(
        None,
        {
            "input": str(input_dir),
            "batch": {"executor": executor},
            "processing": {"quality": "low", "mode": "fast", **processing},
            "output": {"directory": str(out)},
            "monitoring": {"enable_progress_tracking": False},
        },
    )


def assert_thumbnails_obey_the_rules(folder: Path) -> dict:
    index = json.loads((folder / "thumbnails" / "thumbnails.json").read_text())
    analysis = json.loads((folder / "metadata" / "analysis.json").read_text())
    edl = json.loads((folder / "metadata" / "edl.json").read_text())
    strategies = {t["strategy"] for t in index["thumbnails"]}
    assert strategies == {"clean", "title", "closeup"}
    for thumb in index["thumbnails"]:
        path = folder / "thumbnails" / thumb["file"]
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (1280, 720)
        assert path.stat().st_size < 2 * 1024 * 1024
        t = thumb["source_time_s"]
        assert TRANSITION_MARGIN_S <= t <= analysis["duration_s"] - TRANSITION_MARGIN_S
        for shot in analysis["shots"]:
            assert abs(t - shot["time_s"]) >= TRANSITION_MARGIN_S, (t, shot)
        for start, end in analysis["transitions"]:
            assert not start - TRANSITION_MARGIN_S <= t <= end + TRANSITION_MARGIN_S, (t, start, end)
        assert any(k["source"]["start_s"] <= t < k["source"]["end_s"] for k in edl["keep"])
        assert thumb["quality"]["brightness"] >= 24 and thumb["scores"]["total"] > 0
    return index


def assert_valid_chapters(metadata: dict) -> None:
    chapters = metadata["chapters"]
    assert chapters[0]["start_s"] == 0 and len(chapters) >= 3
    ends = [c["start_s"] for c in chapters[1:]] + [metadata["duration_s"]]
    assert all(end - c["start_s"] >= MIN_CHAPTER_S for c, end in zip(chapters, ends, strict=True))
    lines = metadata["chapters_text"].splitlines()
    assert lines[0].startswith("00:00 ") and len(lines) == len(chapters)
    assert metadata["chapters_text"] in metadata["description"]
