"""Assertions on real outputs shared by the integration and end-to-end tests."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

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
