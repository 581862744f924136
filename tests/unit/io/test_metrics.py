"""The stage metrics as Parquet: the documented schema, timestamps in UTC, one row per metric."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.parquet as pq

from raybatch.io.metrics import STAGE_METRICS_SCHEMA, metrics_table, write_metrics_parquet


def metric(**changes) -> dict:
    row = dict(job_id="batch_1", video="talk", segment_id="abc", segment_index=0, stage="encode", status="ok")
    row.update(start=1_700_000_000.25, end=1_700_000_002.5, wall_s=2.25, cpu_s=3.5, max_rss_bytes=123)
    row.update(node="n1", worker="pid-1", bytes_in=10, bytes_out=20, frames=50, fps=22.2)
    return {**row, **changes}


def test_rows_become_a_table_with_the_documented_schema():
    table = metrics_table([metric(), metric(stage="probe", segment_id="", segment_index=-1, frames=0)])
    assert table.schema == STAGE_METRICS_SCHEMA and table.num_rows == 2
    first = table.to_pylist()[0]
    assert first["start"] == datetime(2023, 11, 14, 22, 13, 20, 250000, tzinfo=UTC)
    assert first["segment_index"] == 0 and table.to_pylist()[1]["segment_index"] == -1


def test_the_file_is_written_whole_and_reads_back(tmp_path):
    path = tmp_path / "summary" / "metrics" / "batch_1.parquet"
    write_metrics_parquet(str(path), [metric(), metric(segment_index=1)])
    rows = pq.read_table(path).to_pylist()
    assert [r["segment_index"] for r in rows] == [0, 1] and rows[0]["fps"] == 22.2
    assert not list(path.parent.glob("*.part-*"))
    write_metrics_parquet(str(path), [])
    assert pq.read_table(path).num_rows == 0
