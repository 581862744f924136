"""The encoder memory model: estimates against what x264 measured here, and calibration from an
output's earlier runs."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from raybatch.config.presets import resolve_preset
from raybatch.executors.costs import (
    Calibration,
    calibrate,
    encoder_memory_bytes,
    output_calibration,
    planned_encoder_memory,
)
from raybatch.io.metrics import metrics_table

MIB = 1024**2


@pytest.mark.parametrize(
    ("size", "preset", "measured_mib"),
    # ffmpeg -f lavfi testsrc2 ... -vf hqdn3d,unsharp -c:v libx264 -threads 1, peak RSS on this machine
    [((1280, 720), "veryfast", 133), ((1920, 1080), "medium", 426), ((3840, 2160), "medium", 1434)],
)
def test_the_estimate_covers_what_x264_measured_without_doubling_it(size, preset, measured_mib):
    estimate = encoder_memory_bytes(size, size, preset) / MIB
    assert measured_mib <= estimate <= 1.6 * measured_mib


def test_the_pool_claims_more_for_bigger_pictures_and_slower_presets():
    claims = [
        planned_encoder_memory(resolve_preset(q, "balanced", "general"), 1) for q in ("low", "high", "ultra")
    ]
    assert claims == sorted(claims) and claims[0] < 400 * MIB and claims[2] > 1000 * MIB
    fast = planned_encoder_memory(resolve_preset("high", "fast", "general"), 1)
    assert fast < claims[1]
    assert planned_encoder_memory(resolve_preset("low", "fast", "general"), 1, Calibration(2.0, 5)) == 2 * (
        planned_encoder_memory(resolve_preset("low", "fast", "general"), 1)
    )


def report(*videos: tuple[str, tuple[int, int], str]) -> dict:
    return {
        "videos": [
            {
                "video": key,
                "source_video": {"width": size[0], "height": size[1]},
                "output_resolution": list(size),
                "encoding": {"x264_preset": preset},
            }
            for key, size, preset in videos
        ]
    }


def test_calibration_is_the_median_measured_over_estimated_and_never_lowers_the_estimate():
    estimate = encoder_memory_bytes((1280, 720), (1280, 720), "veryfast")
    rows = [
        {"video": "a", "stage": "encode", "max_rss_bytes": int(estimate * f)} for f in (1.4, 1.5, 3.0)
    ] + [{"video": "a", "stage": "verify", "max_rss_bytes": 10 * estimate}]
    calibration = calibrate(rows, report(("a", (1280, 720), "veryfast")))
    assert calibration.encodes == 3 and calibration.memory_factor == pytest.approx(1.5, abs=1e-3)
    low = [{"video": "a", "stage": "encode", "max_rss_bytes": estimate // 2}]
    assert calibrate(low, report(("a", (1280, 720), "veryfast"))).memory_factor == 1.0
    assert calibrate(rows, None) == Calibration()


def test_an_output_calibrates_from_its_parquet_and_report_and_a_new_one_does_not(tmp_path):
    assert output_calibration(str(tmp_path)) == Calibration()
    summary = tmp_path / "summary"
    (summary / "metrics").mkdir(parents=True)
    estimate = encoder_memory_bytes((640, 360), (640, 360), "veryfast")
    rows = [{"video": "a", "stage": "encode", "max_rss_bytes": 2 * estimate, "start": 0, "end": 1}]
    pq.write_table(metrics_table(rows), summary / "metrics" / "job.parquet")
    (summary / "batch_report.json").write_text(json.dumps(report(("a", (640, 360), "veryfast"))))
    assert output_calibration(str(tmp_path)) == Calibration(memory_factor=2.0, encodes=1)
    (summary / "metrics" / "job.parquet").write_bytes(b"not parquet")
    assert output_calibration(str(tmp_path)) == Calibration()
