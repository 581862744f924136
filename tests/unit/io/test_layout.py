"""Every path of a job comes from one place, under its output location."""

from __future__ import annotations

from raybatch.io.layout import Layout, default_cache_root


def test_the_job_state_work_files_and_published_files_of_a_local_output():
    layout = Layout("/out", "batch_1")
    assert layout.manifest == "/out/.raybatch/jobs/batch_1/manifest.json"
    assert layout.checkpoint("half") == "/out/.raybatch/jobs/batch_1/checkpoints/half.json"
    assert layout.segment("a/talk", 3, "abc") == "/out/.raybatch/work/batch_1/a__talk/seg_00003_abc.mp4"
    assert layout.work_metadata("talk", "edl.json") == "/out/.raybatch/work/batch_1/talk/metadata/edl.json"
    assert layout.file("music/talk/video/enhanced_talk.mp4") == "/out/music/talk/video/enhanced_talk.mp4"
    assert layout.metrics_parquet(1).endswith("summary/metrics/batch_1.parquet")
    assert layout.metrics_parquet(2).endswith("summary/metrics/batch_1.run2.parquet")
    assert default_cache_root("/out") == "/out/.raybatch/cache"


def test_urls_keep_their_protocol_and_types_add_a_level():
    layout = Layout("s3://bucket/out", "batch_1")
    assert layout.audio_track("talk") == "s3://bucket/out/.raybatch/work/batch_1/talk/audio.m4a"
    assert layout.summary("batch_report.json") == "s3://bucket/out/summary/batch_report.json"
