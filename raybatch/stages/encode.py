"""``encode``: enhance and encode one segment (video only) with the run's identical encoder
settings, then decode it once to check every frame. Runs in the encoder pool."""

from __future__ import annotations

import os
from fractions import Fraction

from raybatch.io.cache import ContentCache, cache_key
from raybatch.io.storage import exists, local_copy, local_output, stage_input
from raybatch.media.commands import segment_decode_args, segment_encode_args
from raybatch.media.loudness import require_clean_decode
from raybatch.media.probe import count_video_packets
from raybatch.media.runner import run_command
from raybatch.stages.base import Demand, Stage, StageMeasure
from raybatch.stages.rows import Row, SegmentRow


def segment_is_complete(uri: str, frame_count: int, scratch: str) -> bool:
    """Whether an encoded segment already exists under ``uri`` with all its frames (written
    atomically, so a crash mid-encode leaves nothing under the final name)."""
    if not exists(uri):
        return False
    with local_copy(uri, scratch) as path:
        return count_video_packets(path) == frame_count


class EncodeSegmentStage(Stage[SegmentRow]):
    """One segment of the edited timeline: the enhancement filters, x264 or NVENC, a decode check."""

    name = "encode"
    handles = SegmentRow
    demand = Demand(runs_as="encoder")

    def process(self, row: SegmentRow, measure: StageMeasure) -> list[Row]:
        measure.frames = row.frame_count
        if segment_is_complete(row.output_uri, row.frame_count, self.context.scratch):
            # Resumed job: segment ids hash source, range and settings, so an output under this
            # name that holds every frame is this very segment, finished before.
            measure.status = "reused"
            row.reused = row.encoded = True
            return [row]
        cache = self.context.cache("segments", measure)
        key = cache_key(row.segment_id, "segment", {}, suffix=".mp4")
        with local_output(row.output_uri, self.context.scratch) as out_path:
            if cache.fetch_file(key, out_path, lambda path: count_video_packets(path) == row.frame_count):
                # Another job (or video with the same content) encoded this very segment.
                measure.status = "cached"
                measure.bytes_out = os.path.getsize(out_path)
            else:
                self.encode(row, out_path, measure, cache, key)
        measure.bytes_in = round(row.video.size_bytes / max(1, row.segments))
        row.encoded = True
        return [row]

    def encode(
        self, row: SegmentRow, out_path: str, measure: StageMeasure, cache: ContentCache, key: str
    ) -> None:
        """Encode the segment to ``out_path``, check its decode, and keep a copy in the cache."""
        video = row.media.video
        start = row.source_start
        local = stage_input(row.video.source_uri, self.context.scratch)
        args = segment_encode_args(
            local,
            out_path,
            video=video,
            start_s=float(start / Fraction(video.fps)),
            keep=[(a - start, b - start) for a, b in row.source_ranges],
            preset=self.context.preset_for(row.video),
            threads=self.context.encoder_threads,
            enhancement=row.edit.enhancement,
        )
        measure.add_run(run_command(args, timeout_s=self.context.command_timeout_s, what="segment encode"))
        # Decoded here, in parallel with the other segments, rather than once more in the
        # serial verification of the assembled file (which concatenates without re-encoding).
        check = run_command(
            segment_decode_args(out_path),
            timeout_s=self.context.command_timeout_s,
            check=False,
            what="segment decode check",
        )
        measure.add_run(check)
        require_clean_decode(check, "the encoded segment")
        measure.bytes_out = os.path.getsize(out_path)
        cache.store_file(key, out_path)
