"""The run's order over the batch: with ``batch_optimized``, one content once, its copies after."""

from __future__ import annotations

from raybatch.api import content_waves, same_content
from raybatch.jobs.records import VideoRef


def video(key: str, fingerprint: str) -> VideoRef:
    return VideoRef(key, f"/in/{key}.mp4", f"{key}.mp4", 100, fingerprint)


def test_copies_under_other_names_wait_for_the_first_of_their_content():
    videos = [video("a", "fp1"), video("a_copy", "fp1"), video("b", "fp2"), video("unread", "")]
    assert same_content(videos) == {"a_copy": "a"}
    first, copies = content_waves(videos, "batch_optimized")
    assert [v.key for v in first] == ["a", "b", "unread"] and [v.key for v in copies] == ["a_copy"]


def test_other_strategies_take_the_batch_at_once():
    videos = [video("a", "fp1"), video("a_copy", "fp1")]
    assert content_waves(videos, "conservative") == [videos]
    assert content_waves([], "conservative") == [] and content_waves([video("a", "x")], "batch_optimized")
