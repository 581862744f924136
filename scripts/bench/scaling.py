"""Scaling across nodes: one long generated video on 1 and on 2 worker nodes of a local
multi-node cluster (scripts/local_cluster.py: real raylets on loopback, a head that does no
work), through the CLI with --ray-address, as a user would run it against a cluster.

Prints each run's wall time (the batch's own, from processing_metrics.json: connect, plan,
every stage, assemble, verify), the speedup and the efficiency (speedup / nodes; target >= 0.9),
the encode phase alone, and how many segments each node encoded (from the Parquet metrics).

Each node gets --cpus-per-node logical CPUs and that many cores of its own (its raylet, workers
and their ffmpeg are pinned to them), so one machine's cores stand in for separate machines: on
a 2-core machine, "1 node" has one core and "2 nodes" have one each.

    .venv/bin/python scripts/bench/scaling.py                 # 240 s of 540p30, 10 s segments
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scripts.bench.overhead import generate  # noqa: E402
from scripts.local_cluster import local_cluster  # noqa: E402


def run_on(nodes: int, cpus_per_node: int, source: Path, work: Path, extra: list[str]) -> dict:
    out = work / f"out_{nodes}"
    cores = sorted(os.sched_getaffinity(0))
    # Each node gets cores of its own, as if it were its own machine.
    specs = [
        {"num_cpus": cpus_per_node, "cpu_affinity": cores[i * cpus_per_node : (i + 1) * cpus_per_node]}
        for i in range(nodes)
    ]
    if any(len(spec["cpu_affinity"]) < cpus_per_node for spec in specs):
        raise SystemExit(f"{nodes} nodes of {cpus_per_node} CPUs need {nodes * cpus_per_node} cores")
    with local_cluster(specs) as cluster:
        result = subprocess.run(
            [sys.executable, "-m", "raybatch", "batch", "process", str(source), "--output", str(out),
             "--ray-address", cluster.address, "--no-progress-bar", *extra],
            capture_output=True, text=True,
        )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"the {nodes}-node run failed:\n{result.stderr[-3000:]}")
    summary = out / "summary"
    metrics = json.loads((summary / "processing_metrics.json").read_text())
    rows = [r for p in (summary / "metrics").glob("*.parquet") for r in pq.read_table(p).to_pylist()]
    encodes = [r for r in rows if r["stage"] == "encode" and r["status"] == "ok"]
    phase = max(r["end"] for r in encodes) - min(r["start"] for r in encodes)
    first_start = min(r["start"] for r in rows)
    last_encode = max(r["end"] for r in encodes)
    tail = {r["stage"]: round(r["wall_s"], 1) for r in rows if r["start"] >= last_encode}
    return {
        "before_first_row_s": (min(r["start"] for r in encodes) - first_start).total_seconds(),
        "after_last_encode": tail,
        "nodes": nodes,
        "wall_s": metrics["wall_time_s"],
        "encode_phase_s": phase.total_seconds(),
        "segments": len(encodes),
        "segments_per_node": dict(Counter(r["node"] for r in encodes)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=240, help="seconds of generated video [240]")
    # Short segments balance the nodes: the one that also runs the audio pass takes fewer.
    parser.add_argument("--segment-seconds", type=float, default=10, help="work segment length [10]")
    parser.add_argument("--cpus-per-node", type=int, default=1)
    parser.add_argument(
        "--full",
        action="store_true",
        help="the whole pipeline (analysis, thumbnails); default: transcode, enhance, normalise",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rb_scaling_") as tmp:
        work = Path(tmp)
        config = work / "segments.yaml"
        config.write_text(f"processing:\n  segment_seconds: {args.segment_seconds}\n")
        extra = ["--quality", "medium", "--mode", "fast", "--config", str(config)]
        if not args.full:
            extra += ["--no-analysis", "--no-thumbnails"]
        source = generate("540p", args.duration, work)
        runs = [run_on(n, args.cpus_per_node, source, work, extra) for n in (1, 2)]
    one, two = runs
    speedup = one["wall_s"] / two["wall_s"]
    encode_speedup = one["encode_phase_s"] / two["encode_phase_s"]
    for run in runs:
        counts = ", ".join(f"{node}: {n}" for node, n in sorted(run["segments_per_node"].items()))
        print(
            f"{run['nodes']} node(s): wall {run['wall_s']:.1f} s, "
            f"encode phase {run['encode_phase_s']:.1f} s, {run['segments']} segments ({counts})"
        )
        print(
            f"  first encode {run['before_first_row_s']:.1f} s after the first stage started; "
            f"after the last encode: {run['after_last_encode']}"
        )
    print(f"speedup {speedup:.3f}x, efficiency {speedup / 2:.3f} (target >= 0.9)")
    print(f"encode phase: speedup {encode_speedup:.3f}x, efficiency {encode_speedup / 2:.3f}")


if __name__ == "__main__":
    main()
