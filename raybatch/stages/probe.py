"""``probe``: read the streams of one input; anything that is not a decodable video becomes
that video's error."""

from __future__ import annotations

import os
from typing import Any

from raybatch.errors import StageFailure
from raybatch.io.cache import cache_key
from raybatch.io.names import printable
from raybatch.io.storage import exists, size, stage_input
from raybatch.media.probe import MediaInfo, probe_media
from raybatch.stages.base import Demand, Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import Row, VideoRow

#: Bumped when what the probe reports changes.
PROBE_SETTINGS = {"probe": 1}


def check_media(entry: dict[str, Any]) -> str | None:
    """What is wrong with a cached probe result (``None``: nothing)."""
    try:
        MediaInfo.from_dict(entry)
    except (KeyError, TypeError, ValueError) as exc:
        return f"not a probe result ({exc})"
    return None


class ProbeStage(Stage[VideoRow]):
    """Streams, duration, frame rate, rotation, pixel shape and audio of one input."""

    name = "probe"
    handles = VideoRow
    # Paced like the picture analysis after it, so that the two run as one task.
    demand = Demand(paced_by_models=True)

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        source = row.video.source_uri
        if row.video.size_bytes == 0 and exists(source) and size(source) == 0:
            raise StageFailure(
                "the file is empty (0 bytes)",
                hint="re-copy or re-export the video; an interrupted transfer leaves empty files",
            )
        local = stage_input(source, self.context.scratch)
        if not os.path.exists(local):
            raise StageFailure(
                f"{printable(source)} was not found",
                hint="check the path (a list file's relative paths start from the list's folder)",
            )
        if not os.access(local, os.R_OK):
            raise PermissionError(f"cannot read {source}")
        cache = self.context.cache("probe", measure)
        entry = cache.get_or_compute(
            cache_key(fingerprint_of(row), "probe", PROBE_SETTINGS),
            lambda: probe_media(
                local, size_bytes=row.video.size_bytes, timeout_s=self.context.command_timeout_s
            ).to_dict(),
            check_media,
        )
        row.media = MediaInfo.from_dict(entry)
        measure.bytes_in = row.media.size_bytes
        return [row]
