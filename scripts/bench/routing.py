"""Do segments wait behind the shot model? A 3-video batch through the CLI on the Ray executor.

Three generated videos (60 s or more each, with hard cuts, a dissolve and silences) go through
``raybatch batch process`` (quality low, fast); the run's Parquet metrics then say when each
video's shot detection ran and when each video's segments started encoding. Routing holds when
video 2's first segment starts encoding before video 1's shot detection finishes.

    .venv/bin/python scripts/bench/routing.py                  # this checkout
    .venv/bin/python scripts/bench/routing.py --source ../old  # another checkout, same inputs
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]


def generate(path: Path, duration: float, seed: int) -> Path:
    """Shots of test patterns (hard cuts every 7-11 s, one dissolve) over tone bursts that pause
    for 2 s every 10 s: cuts for the edit, shots for the model."""
    patterns = ["testsrc2", "smptebars", "rgbtestsrc", "testsrc", "smptehdbars"]
    inputs, filters, length, index = [], [], 0.0, 0
    while length < duration:
        shot = min(7 + (seed + index) % 5, duration - length)
        inputs += ["-f", "lavfi", "-i", f"{patterns[(seed + index) % len(patterns)]}=s=640x360:r=25:d={shot}"]
        filters.append(f"[{index}:v]format=yuv420p,setpts=PTS-STARTPTS[v{index}]")
        length += shot
        index += 1
    chain = "[v0][v1]xfade=transition=fade:duration=1:offset=6[x1]" if index > 1 else "[v0]null[x1]"
    rest = "".join(f"[v{i}]" for i in range(2, index))
    concat = f"[x1]{rest}concat=n={index - 1}:v=1:a=0[v]" if index > 2 else "[x1]null[v]"
    tone = f"aevalsrc='if(lt(mod(t,10),8),0.3*sin(2*PI*(220+40*{seed})*t),0)':s=48000:d={duration}"
    graph = ";".join([*filters, chain, concat])
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac", "-t", str(duration)]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *inputs, "-f", "lavfi", "-i", tone, "-filter_complex", graph,
         "-map", "[v]", "-map", f"{index}:a", *encode, str(path)],
        check=True,
    )  # fmt: skip
    return path


def run(source: Path, videos: Path, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(source)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "raybatch", "batch", "process", str(videos), "--output", str(out),
         "--quality", "low", "--mode", "fast", "--type", "general", "--no-progress-bar"],
        cwd=source, env=env, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"raybatch failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return wall


def timeline(out: Path) -> dict[str, dict[str, list[tuple[float, float]]]]:
    rows = [
        r for path in (out / "summary" / "metrics").glob("*.parquet") for r in pq.read_table(path).to_pylist()
    ]
    start = min(r["start"] for r in rows)
    spans: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in rows:
        span = ((r["start"] - start).total_seconds(), (r["end"] - start).total_seconds())
        spans.setdefault(r["video"], {}).setdefault(r["stage"], []).append(span)
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=REPO, help="the raybatch checkout to run")
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="raybatch-routing-") as tmp:
        folder = Path(tmp) / "videos"
        folder.mkdir()
        for number in (1, 2, 3):
            generate(folder / f"video{number}.mp4", args.duration + 5 * (number - 1), number)
        wall = run(args.source.resolve(), folder, Path(tmp) / "out")
        spans = timeline(Path(tmp) / "out")
    for video in sorted(spans):
        stages = spans[video]
        shots = stages.get("detect_shots", [(float("nan"),) * 2])[0]
        encodes = stages.get("encode", [])
        print(
            f"{video}: shots {shots[0]:6.1f}-{shots[1]:6.1f} s; {len(encodes)} segments encoded "
            f"{min(e[0] for e in encodes):6.1f}-{max(e[1] for e in encodes):6.1f} s; "
            f"published at {max(e[1] for e in stages.get('publish', stages.get('verify', [(0, 0)]))):6.1f} s"
        )
    first_shots_end = spans["video1"]["detect_shots"][0][1]
    second_encode = min(e[0] for e in spans["video2"]["encode"])
    print(
        f"video 2's first segment starts encoding at {second_encode:.1f} s; video 1's shots end at "
        f"{first_shots_end:.1f} s: {'before' if second_encode < first_shots_end else 'AFTER'}"
    )
    print(f"wall time {wall:.1f} s")


if __name__ == "__main__":
    main()
