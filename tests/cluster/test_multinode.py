"""A multi-node Ray cluster on this machine (scripts/local_cluster.py): where work lands.

Two CPU nodes join a head that does no work, beside a node advertising a (fake) GPU and the
``nvenc`` resource. The batch runs through the CLI against that cluster; the Parquet metrics
say which node ran each stage.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from scripts.local_cluster import local_cluster
from tests.conftest import ffmpeg
from tests.helpers import assert_verified_output, load_report, read_metrics, run_raybatch

pytestmark = pytest.mark.cluster

GPU_NODE = {"num_cpus": 1, "num_gpus": 1, "resources": {"nvenc": 1}}
# Two logical CPUs: encoders then claim 0.75 CPU each, more than the GPU node has left beside
# its model actors, so the pool can grow only onto CPU nodes.
CPU_NODE = {"num_cpus": 2}


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """40 s with speech-like tone bursts: eight 5 s segments (x264's slow preset: long enough
    for the pool to grow while they encode)."""
    root = tmp_path_factory.mktemp("long_in")
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=40",
        "-f", "lavfi", "-i",
        "sine=frequency=300:sample_rate=48000:duration=40,volume='if(lt(mod(t,2),1.2),0.4,0)':eval=frame",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        str(root / "lecture.mp4"),
    )  # fmt: skip
    (root.parent / "short_segments.yaml").write_text(
        "processing:\n  segment_seconds: 5\n  min_segment_seconds: 2\n  quality: low\n  mode: high_quality\n"
    )
    return root


def test_segments_spread_over_nodes_and_models_land_on_the_gpu_node(long_video, tmp_path):
    """One video's segments run on several nodes, the encoder pool grows past its planned size,
    and the model actors run on the GPU node."""
    out = tmp_path / "out"
    config = long_video.parent / "short_segments.yaml"
    with local_cluster([CPU_NODE, GPU_NODE]) as cluster:
        gpu_node = cluster.node_with("GPU")["id"][:12]
        result = run_raybatch(
            "batch", "process", str(long_video), "--output", str(out), "--config", str(config),
            "--ray-address", cluster.address, "--no-progress-bar",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]

    report = load_report(out)
    video = report["videos"][0]
    assert video["status"] == "done"
    assert_verified_output(
        Path(video["output"]), expected_duration=video["output_duration_s"], fps="25/1", has_audio=True
    )
    placement = report["placement"]
    assert placement["autoscaling_encoder_pool"] is True
    # The probe of the fake nvenc node failed honestly: x264 on CPU, with the reason.
    assert placement["encoder"]["name"] == "libx264"
    assert any("h264_nvenc failed" in w for w in placement["warnings"])
    assert report["pool"]["size"] == 2  # planned from the one CPU node there was

    metrics = [m for m in read_metrics(out) if m["status"] == "ok"]
    encodes = Counter(m["node"] for m in metrics if m["stage"] == "encode")
    assert sum(encodes.values()) == video["segments"] >= 8
    assert len(encodes) >= 2, f"one video's segments ran on one node only: {encodes}"
    # The pool follows the cluster's free resources: more encoder actors ran than were planned
    # at the start (here, once the speech model's actor had finished and freed its CPU).
    encoder_workers = {(m["node"], m["worker"]) for m in metrics if m["stage"] == "encode"}
    assert len(encoder_workers) > report["pool"]["size"], f"the pool never grew: {encoder_workers}"
    models = {m["node"] for m in metrics if m["stage"] in ("analyse_sound", "detect_shots")}
    assert models == {gpu_node}, f"model actors ran on {models}, the GPU node is {gpu_node}"
    print(json.dumps({"encodes_per_node": encodes, "workers": len(encoder_workers), "gpu_node": gpu_node}))
