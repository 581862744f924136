"""What the caches save: a second job over the same inputs, and copies of one input in a batch.

``--rerun``: 3 generated inputs through the CLI twice, as two jobs with separate outputs that
share one ``--cache-dir`` with ``--enable-aggressive-caching``. Printed: both wall times, their
ratio, each job's per-stage seconds, and the hits, misses and bytes per cache of the second.

``--duplicates``: one input and two copies of it under other names, with ``--cache-strategy
batch_optimized`` against ``conservative``: wall times, and which videos were the same content.

    .venv/bin/python scripts/bench/caching.py --rerun --duplicates
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from batch_throughput import generate, run_cli


def figures(out: Path) -> tuple[dict, dict]:
    metrics = json.loads((out / "summary" / "processing_metrics.json").read_text())
    report = json.loads((out / "summary" / "batch_report.json").read_text())
    return metrics, report


def cpu_s(metrics: dict) -> float:
    """The CPU seconds the stages and the ffmpeg they ran took together."""
    return sum(entry["cpu_s"] for entry in metrics["stage_totals"].values())


def stage_line(metrics: dict) -> str:
    totals = metrics["stage_totals"]
    return ", ".join(f"{name} {entry['wall_s']:.1f}" for name, entry in totals.items())


def rerun(root: Path, seconds: float, flags: list[str]) -> None:
    videos = root / "videos"
    videos.mkdir()
    for index, size in enumerate(("640x360", "854x480", "1280x720")):
        generate(videos / f"talk{index}.mp4", size, seconds + 5 * index, music=False)
    cache = ["--enable-aggressive-caching", "--cache-dir", str(root / "cache"), *flags]
    walls = []
    for job in ("first", "second"):
        started = time.monotonic()
        run_cli(videos, root / job, *cache)
        walls.append(time.monotonic() - started)
        metrics, _ = figures(root / job)
        print(
            f"  {job} job: {walls[-1]:.1f} s, {cpu_s(metrics):.0f} CPU s  "
            f"(stage wall s: {stage_line(metrics)})"
        )
    print(f"second / first: {walls[1] / walls[0]:.2f}")
    for name, counts in figures(root / "second")[0]["caches"]["by_cache"].items():
        print(
            f"  {name:10s} hits {counts['hits']:3d}  misses {counts['misses']:3d}  "
            f"read {counts['bytes_read'] / 1e6:7.2f} MB  stored {counts['bytes_stored'] / 1e6:7.2f} MB"
        )


def duplicates(root: Path, seconds: float, flags: list[str]) -> None:
    videos = root / "copies"
    videos.mkdir()
    generate(videos / "lecture.mp4", "1280x720", seconds, music=False)
    for name in ("lecture_reupload.mp4", "lecture_final_FINAL.mp4"):
        shutil.copy(videos / "lecture.mp4", videos / name)
    for strategy in ("conservative", "batch_optimized"):
        out = root / f"copies-{strategy}"
        started = time.monotonic()
        run_cli(videos, out, "--cache-strategy", strategy, *flags)
        wall = time.monotonic() - started
        metrics, report = figures(out)
        print(
            f"  {strategy:16s} {wall:6.1f} s, {cpu_s(metrics):5.0f} CPU s  "
            f"same content: {report['caches']['same_content_as']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rerun", action="store_true")
    parser.add_argument("--duplicates", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the shortest input")
    parser.add_argument("--flag", action="append", default=[], help="extra CLI flag (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raybatch-bench-cache-") as folder:
        if args.rerun:
            print(f"second job over the same 3 inputs ({args.seconds:g}-{args.seconds + 10:g} s):")
            rerun(Path(folder), args.seconds, args.flag)
        if args.duplicates:
            print(f"one {args.seconds:g} s input and two copies under other names:")
            duplicates(Path(folder), args.seconds, args.flag)


if __name__ == "__main__":
    main()
