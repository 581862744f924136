"""Batch throughput per scheduling strategy, short clips against a plain ffmpeg loop, and the
quality spread with and without ``--consistent-settings``.

``--mixed``: a generated mixed batch (sizes 360p to 1080p, lengths spread over the range given;
speech-like tone bursts or steady music-like tones) through the CLI once per strategy. Printed
per strategy: wall time, videos per hour, mean CPU use and peak memory of the node (from
``processing_metrics.json``), and the ideal: the CPU-seconds the work took (the run's Parquet
metrics) divided by the cores, with wall / ideal.

``--short``: 20 clips of 5-20 s through raybatch (analysis and thumbnails included) and through
a sequential loop of plain ffmpeg (same size cap, x264 preset and CRF, filters, two-pass
loudnorm; ``overhead.plain_ffmpeg``); the ratio of the two and where raybatch's time went.

``--consistency``: the mixed batch with and without ``--consistent-settings``: the spread of the
outputs' SSIM and PSNR against their sources.

    .venv/bin/python scripts/bench/batch_throughput.py --mixed --short --consistency
    .venv/bin/python scripts/bench/batch_throughput.py --mixed --videos 12 --longest 300
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from overhead import plain_ffmpeg

SIZES = ("640x360", "854x480", "1280x720", "1920x1080")
STRATEGIES = {
    "sequential": ["--parallel-strategy", "sequential"],
    "fixed": ["--parallel-strategy", "fixed", "--max-concurrent", str(os.cpu_count() or 2)],
    "adaptive": ["--parallel-strategy", "adaptive"],
    "smart": ["--parallel-strategy", "smart"],
}


def generate(path: Path, size: str, seconds: float, music: bool) -> Path:
    """A test pattern over speech-like tone bursts (pauses for the edit) or a steady chord."""
    if music:
        sound = f"aevalsrc='0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)':s=48000:d={seconds}"
    else:
        sound = f"aevalsrc='if(lt(mod(t,6),4.5),0.3*sin(2*PI*(180+60*sin(t))*t),0)':s=48000:d={seconds}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", "-f", "lavfi", "-i", sound,
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def mixed_batch(folder: Path, videos: int, shortest: float, longest: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(videos):
        seconds = round(shortest + (longest - shortest) * ((i * 7) % videos) / max(1, videos - 1), 1)
        generate(folder / f"v{i:02d}_{int(seconds)}s.mp4", SIZES[i % len(SIZES)], seconds, music=i % 3 == 2)
    return folder


def run_cli(videos: Path, out: Path, *flags: str) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "raybatch", "batch", "process", str(videos), "--output", str(out),
         "--quality", "low", "--mode", "fast", "--no-progress-bar", *flags],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def run_figures(out: Path, wall: float, videos: int) -> dict:
    metrics = json.loads((out / "summary" / "processing_metrics.json").read_text())
    table = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pandas()
    nodes = list((metrics.get("resource_efficiency") or {}).get("nodes", {}).values())
    cpu_s = float(table["cpu_s"].sum())
    ideal = cpu_s / (os.cpu_count() or 1)
    return {
        "wall_s": wall,
        "videos_per_hour": videos * 3600 / wall,
        "cpu_mean_percent": nodes[0]["cpu_mean_percent"] if nodes else None,
        "node_memory_peak_gb": nodes[0]["memory_peak_bytes"] / 1024**3 if nodes else None,
        "tree_memory_peak_gb": metrics["peak_memory_bytes"] / 1024**3
        if metrics["peak_memory_bytes"]
        else None,
        "work_cpu_s": cpu_s,
        "ideal_s": ideal,
        "wall_over_ideal": wall / ideal if ideal else None,
        "quality": metrics.get("quality_consistency"),
    }


def mixed(work: Path, args: argparse.Namespace) -> None:
    videos = mixed_batch(work / "mixed", args.videos, args.shortest, args.longest)
    print(f"mixed batch: {args.videos} videos, {args.shortest:.0f}-{args.longest:.0f} s, {', '.join(SIZES)}")
    header = ("wall s", 8), ("videos/h", 10), ("CPU %", 7), ("node GB", 9), ("ideal s", 9), ("wall/ideal", 11)
    print(f"{'strategy':<11}" + "".join(f"{name:>{width}}" for name, width in header))
    for name, flags in STRATEGIES.items():
        out = work / f"out_{name}"
        figures = run_figures(out, run_cli(videos, out, *flags), args.videos)
        print(
            f"{name:<11}{figures['wall_s']:>8.1f}{figures['videos_per_hour']:>10.1f}"
            f"{figures['cpu_mean_percent'] or 0:>7.0f}{figures['node_memory_peak_gb'] or 0:>9.2f}"
            f"{figures['ideal_s']:>9.1f}{figures['wall_over_ideal']:>11.2f}"
        )


def short_clips(work: Path) -> None:
    folder = work / "short"
    folder.mkdir(parents=True, exist_ok=True)
    clips = [
        generate(folder / f"clip{i:02d}.mp4", SIZES[i % 2], 5 + (i * 3) % 16, music=i % 4 == 3)
        for i in range(20)
    ]
    plain_out = work / "plain"
    plain_out.mkdir(exist_ok=True)
    started = time.monotonic()
    for clip in clips:
        plain_ffmpeg(clip, plain_out / clip.name, "low", "fast", "general")
    plain = time.monotonic() - started
    out = work / "short_out"
    wall = run_cli(folder, out, "--type", "general")
    ratio = wall / plain
    print(f"20 clips of 5-20 s: plain ffmpeg loop {plain:.1f} s, raybatch {wall:.1f} s, ratio {ratio:.2f}")
    table = pq.read_table(next((out / "summary" / "metrics").glob("*.parquet"))).to_pandas()
    covered = (table["end"].max() - table["start"].min()).total_seconds()
    print(f"  stages cover {covered:.1f} s of raybatch's {wall:.1f} s; CPU-s by stage:")
    for stage, cpu in table.groupby("stage")["cpu_s"].sum().sort_values(ascending=False).items():
        print(f"    {stage:<14}{cpu:7.1f}")


def consistency(work: Path, args: argparse.Namespace) -> None:
    videos = mixed_batch(work / "mixed", args.videos, args.shortest, args.longest)
    print("quality spread across the mixed batch (SSIM / PSNR dB against the sources):")
    for label, flags in (("default", []), ("--consistent-settings", ["--consistent-settings"])):
        out = work / f"out_consistency_{label.strip('-')}"
        quality = run_figures(out, run_cli(videos, out, *flags), args.videos)["quality"]
        ssim, psnr = quality["ssim"], quality["psnr_db"]
        print(
            f"  {label:<23} SSIM {ssim['mean']:.4f} (spread {ssim['spread']:.4f}, sd {ssim['stdev']:.4f})  "
            f"PSNR {psnr['mean']:.2f} (spread {psnr['spread']:.2f}, sd {psnr['stdev']:.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--consistency", action="store_true")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--shortest", type=float, default=10.0)
    parser.add_argument("--longest", type=float, default=90.0)
    parser.add_argument("--keep", type=Path, help="work in this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    if not (args.mixed or args.short or args.consistency):
        args.mixed = args.short = args.consistency = True
    with tempfile.TemporaryDirectory() as scratch:
        work = args.keep or Path(scratch)
        if args.short:
            short_clips(work)
        if args.mixed:
            mixed(work, args)
        if args.consistency:
            consistency(work, args)


if __name__ == "__main__":
    main()
