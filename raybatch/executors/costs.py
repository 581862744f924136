"""What an encoder costs in memory: estimated from the picture sizes and the preset, calibrated by
what earlier runs into the same output measured (their Parquet metrics).

One x264 encode holds a fixed part (ffmpeg, the codec tables, the libraries) and frames: the
decoder's reference frames at the source's size, and at the output's size the filters' buffers
and x264's lookahead, B-frames and references, each a 4:2:0 picture (1.5 bytes a pixel) that x264
also keeps a half-resolution copy and motion data of. The encoder pool claims the estimate at the
preset's resolution cap, so Ray never packs more encoders on a node than fit, and
``--max-memory`` divided by it bounds their number.
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass
from typing import Any

from raybatch.config.presets import Preset
from raybatch.media.commands import output_dimensions

log = logging.getLogger(__name__)

MIB = 1024**2
#: The newest runs' metrics files read for calibration (an output may hold hundreds).
MAX_RUNS_READ = 8
#: ffmpeg with its codecs and libraries, before any frame (measured: ~60-90 MB resident).
FIXED_BYTES = 96 * MIB
#: x264's rc-lookahead per preset (its defaults).
LOOKAHEAD = {
    "ultrafast": 0,
    "superfast": 0,
    "veryfast": 10,
    "faster": 20,
    "fast": 30,
    "medium": 40,
    "slow": 50,
    "slower": 60,
    "veryslow": 60,
}
#: B-frames, references and frame threads' pictures x264 holds beside its lookahead.
X264_FRAMES = 8
#: What x264 keeps per picture beyond the picture: its lowres copy, motion vectors, costs.
X264_OVERHEAD = 2.0
#: Pictures the H.264/HEVC decoder keeps (its decoded picture buffer) plus the filters' buffers.
DECODER_FRAMES = 18


@dataclass(frozen=True)
class Calibration:
    """Measured over estimated memory of earlier encodes (1.0: nothing measured yet)."""

    memory_factor: float = 1.0
    encodes: int = 0


def encoder_memory_bytes(
    source_size: tuple[int, int], output_size: tuple[int, int], x264_preset: str, threads: int = 1
) -> int:
    """Resident memory of one segment's encode."""
    source_frame = source_size[0] * source_size[1] * 1.5
    output_frame = output_size[0] * output_size[1] * 1.5
    held = LOOKAHEAD.get(x264_preset, 40) + X264_FRAMES + 2 * max(1, threads)
    return int(FIXED_BYTES + DECODER_FRAMES * source_frame + held * output_frame * X264_OVERHEAD)


def planned_encoder_memory(preset: Preset, threads: int, calibration: Calibration = Calibration()) -> int:
    """What each encoder actor claims: the estimate for a 16:9 picture at the preset's cap
    (source and output alike), scaled by what earlier runs measured."""
    size = output_dimensions(preset.max_short_side * 16 // 9, preset.max_short_side, preset.max_short_side)
    estimate = encoder_memory_bytes(size, size, preset.x264_preset, threads)
    return int(estimate * calibration.memory_factor)


def calibrate(metrics: list[dict[str, Any]], report: dict[str, Any] | None) -> Calibration:
    """The median of measured over estimated memory across earlier encodes (their Parquet rows
    and the report that says each video's sizes and settings). Only ever raises the estimate:
    an estimate that was too high costs parallelism, one too low costs the run."""
    sizes = {video["video"]: video for video in (report or {}).get("videos", []) if video.get("encoding")}
    ratios = []
    for row in metrics:
        video = sizes.get(row.get("video"))
        if row.get("stage") != "encode" or not video or not row.get("max_rss_bytes"):
            continue
        source = (video["source_video"]["width"], video["source_video"]["height"])
        output = tuple(video["output_resolution"])
        estimate = encoder_memory_bytes(source, output, video["encoding"]["x264_preset"])
        ratios.append(row["max_rss_bytes"] / estimate)
    if not ratios:
        return Calibration()
    return Calibration(memory_factor=max(1.0, statistics.median(ratios)), encodes=len(ratios))


def output_calibration(root: str) -> Calibration:
    """The calibration from the earlier runs into the output at ``root`` (none there, or
    unreadable: no calibration; it only tunes an estimate)."""
    import pyarrow.parquet as pq

    from raybatch.io.layout import SUMMARY_DIR
    from raybatch.io.storage import get_fs, join

    try:
        fs, path = get_fs(join(root, SUMMARY_DIR))
        rows: list[dict[str, Any]] = []
        for name in sorted(fs.glob(f"{path}/metrics/*.parquet"))[-MAX_RUNS_READ:]:
            with fs.open(name, "rb") as handle:
                rows += pq.read_table(handle, columns=["video", "stage", "max_rss_bytes"]).to_pylist()
        report = json.loads(fs.cat_file(f"{path}/batch_report.json")) if rows else None
    except Exception as exc:  # a half-written or foreign file: plan without it
        log.debug("no memory calibration from %s: %s", root, exc)
        return Calibration()
    return calibrate(rows, report)
