"""The serial tail of a long source: what runs after its last video segment is encoded.

Generates one long 720p source (1 fps by default, so the picture is cheap and the audio and
verification dominate, as they do for a long talk), runs it through ``raybatch batch process``
and reads the run's Parquet metrics: the encode span, the audio pass and the verification, and
the share of the wall time after the last segment is encoded (target: <= 10 %). The delivered
loudness and true peak are then measured independently on the whole output with ffmpeg's
``ebur128``. The run's peak memory (the process tree's, the node's, and the largest stage's
resident set) is printed too; with ``--against`` a shorter source is run the same way and the
peaks compared (memory should follow the segments, not the length).

    .venv/bin/python scripts/bench/long_source.py --minutes 60
    .venv/bin/python scripts/bench/long_source.py --minutes 60 --source ../old   # another checkout
    .venv/bin/python scripts/bench/long_source.py --minutes 60 --size 1920x1080 --against 10
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from routing import run

REPO = Path(__file__).resolve().parents[2]


def generate(path: Path, minutes: float, fps: int, size: str = "1280x720") -> Path:
    """A test pattern over speech-like sound: pink noise swelling and fading every few seconds
    (seeded: runs of different checkouts see the same sound)."""
    seconds = minutes * 60
    partial = path.with_suffix(".part.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
         "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=pink:r=48000:a=0.2:seed=17",
         "-af", "volume='0.55+0.4*sin(t/3)':eval=frame", "-ac", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-c:a", "aac", "-b:a", "128k",
         str(partial)],
        check=True,
    )  # fmt: skip
    return partial.rename(path)


def stage_spans(out: Path, origin: datetime) -> dict[str, tuple[float, float, float]]:
    """Per stage (first start, last end, CPU s) in seconds from ``origin``."""
    rows = [r for p in (out / "summary" / "metrics").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    spans: dict[str, tuple[float, float, float]] = {}
    for r in rows:
        start, end = (r["start"] - origin).total_seconds(), (r["end"] - origin).total_seconds()
        first, last, cpu = spans.get(r["stage"], (start, end, 0.0))
        spans[r["stage"]] = (min(first, start), max(last, end), cpu + (r.get("cpu_s") or 0.0))
    return spans


def independent_loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of the output, by ffmpeg's own meter."""
    stderr = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = stderr[stderr.rfind("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def peak_memory(out: Path) -> dict[str, float]:
    """The run's peak memory in GiB: the process tree's, the node's and the largest stage's RSS."""
    metrics = json.loads((out / "summary" / "processing_metrics.json").read_text())
    nodes = list((metrics.get("resource_efficiency") or {}).get("nodes", {}).values())
    rows = [r for p in (out / "summary" / "metrics").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    largest = max(rows, key=lambda r: r.get("max_rss_bytes") or 0)
    return {
        "tree": (metrics.get("peak_memory_bytes") or 0) / 1024**3,
        "node": (nodes[0]["memory_peak_bytes"] if nodes else 0) / 1024**3,
        "stage": (largest.get("max_rss_bytes") or 0) / 1024**3,
        "stage_name": largest["stage"],
    }


def measure(args: argparse.Namespace, work: Path, minutes: float) -> dict[str, float]:
    """One source of ``minutes`` through raybatch: the tail figures printed, the peaks returned."""
    videos = work / f"videos-{minutes:g}min-{args.size}"
    videos.mkdir(parents=True, exist_ok=True)
    source = videos / f"long_{minutes:g}min.mp4"
    if not source.exists():
        generate(source, minutes, args.fps, args.size)
    out = work / f"out-{time.strftime('%H%M%S')}"
    wall = run(args.source.resolve(), videos, out)
    ended = time.time()
    spans = stage_spans(out, datetime.fromtimestamp(ended - wall, UTC))
    encode_end = spans["encode"][1]
    print(f"{minutes:g}-minute {args.size} source at {args.fps} fps, wall {wall:.1f} s")
    for stage, (first, last, cpu) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        print(f"  {stage:<12} {first:7.1f} -> {last:7.1f} s  (span {last - first:6.1f} s, cpu {cpu:7.1f} s)")
    tail = wall - encode_end  # everything after the last segment, driver shutdown included
    share = 100 * tail / wall
    print(f"  after the last segment: {tail:.1f} s = {share:.1f} % of the wall time (target <= 10 %)")
    report = json.loads((out / "summary" / "batch_report.json").read_text())
    output = Path(report["videos"][0]["output"])
    integrated, peak = independent_loudness(output)
    print(
        f"  delivered (ffmpeg ebur128 on the whole output): {integrated:.1f} LUFS, true peak {peak:.1f} dBTP"
    )
    memory = peak_memory(out)
    print(
        f"  peak memory: process tree {memory['tree']:.2f} GiB, node {memory['node']:.2f} GiB, "
        f"largest stage {memory['stage_name']} {memory['stage']:.2f} GiB"
    )
    return memory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--fps", type=int, default=1)
    parser.add_argument("--size", default="1280x720", help="the generated picture's size, WxH")
    parser.add_argument(
        "--against", type=float, help="also run a source this many minutes long; compare peaks"
    )
    parser.add_argument("--source", type=Path, default=REPO, help="the raybatch checkout to run")
    parser.add_argument("--work", type=Path, help="keep the generated sources and outputs here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="raybatch-long-"))
    long = measure(args, work, args.minutes)
    if args.against:
        short = measure(args, work, args.against)
        for key in ("tree", "stage"):
            ratio = long[key] / short[key] if short[key] else float("nan")
            print(
                f"peak memory ({key}), {args.minutes:g} min / {args.against:g} min: {ratio:.2f}"
                " (target <= 1.10)"
            )


if __name__ == "__main__":
    main()
