"""Per-(video, segment, stage) metrics, written as Parquet through fsspec."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from raybatch.io.storage import write_bytes_atomic

CACHE_COUNTS = pa.struct(
    [
        ("cache", pa.string()),
        ("hits", pa.int64()),
        ("misses", pa.int64()),
        ("bytes_read", pa.int64()),
        ("bytes_stored", pa.int64()),
    ]
)

#: The schema of ``summary/metrics/*.parquet`` (documented in the README).
STAGE_METRICS_SCHEMA = pa.schema(
    [
        ("job_id", pa.string()),
        ("video", pa.string()),
        ("segment_id", pa.string()),  # empty for per-video stages
        ("segment_index", pa.int32()),  # -1 for per-video stages
        ("stage", pa.string()),
        ("status", pa.string()),  # ok | error
        ("start", pa.timestamp("ms", tz="UTC")),
        ("end", pa.timestamp("ms", tz="UTC")),
        ("wall_s", pa.float64()),
        ("cpu_s", pa.float64()),  # CPU of the stage's own process and the ffmpeg it ran
        ("max_rss_bytes", pa.int64()),  # peak memory of the largest ffmpeg it ran
        ("node", pa.string()),
        ("worker", pa.string()),
        ("bytes_in", pa.int64()),
        ("bytes_out", pa.int64()),
        ("frames", pa.int64()),
        ("fps", pa.float64()),  # frames per wall second (0 for stages without frames)
        ("ssim", pa.float64()),  # verify: the output's SSIM against its source (null elsewhere)
        ("psnr_db", pa.float64()),  # verify: its PSNR in dB
        # per cache the stage used: hits, misses, bytes read on hits, bytes stored
        ("caches", pa.list_(CACHE_COUNTS)),
    ]
)


def metrics_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts with the schema's keys; ``start``/``end`` as epoch seconds) as an Arrow table."""
    columns: dict[str, list[Any]] = {name: [] for name in STAGE_METRICS_SCHEMA.names}
    for row in rows:
        for name in STAGE_METRICS_SCHEMA.names:
            value = row.get(name)
            if name == "caches":
                value = value or []
            if name in ("start", "end"):
                value = int(round(float(value) * 1000)) if value is not None else None
            columns[name].append(value)
    arrays = []
    for field in STAGE_METRICS_SCHEMA:
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(columns[field.name], type=pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(columns[field.name], type=field.type))
    return pa.Table.from_arrays(arrays, schema=STAGE_METRICS_SCHEMA)


def write_metrics_parquet(uri: str, rows: list[dict[str, Any]]) -> None:
    """Write the stage metrics to ``uri`` atomically."""
    buffer = io.BytesIO()
    pq.write_table(metrics_table(rows), buffer, compression="zstd")
    write_bytes_atomic(uri, buffer.getvalue())
