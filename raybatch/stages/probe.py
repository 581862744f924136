"""``probe``: read the streams of one input; anything that is not a decodable video becomes
that video's error."""

from __future__ import annotations

import os

from raybatch.errors import StageFailure
from raybatch.io.names import printable
from raybatch.io.storage import exists, size, stage_input
from raybatch.media.probe import probe_media
from raybatch.stages.base import Demand, Stage, StageMeasure
from raybatch.stages.rows import Row, VideoRow


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
        row.media = probe_media(
            local, size_bytes=row.video.size_bytes, timeout_s=self.context.command_timeout_s
        )
        measure.bytes_in = row.media.size_bytes
        return [row]
