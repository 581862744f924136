"""``assemble``: concatenate a video's segments without re-encoding, mux its audio, move the
index to the front (faststart). The result waits in the work folder until it verifies."""

from __future__ import annotations

import contextlib
import os
import tempfile

from raybatch.io.storage import local_copy, local_output
from raybatch.media.commands import assemble_args, concat_list
from raybatch.media.runner import run_command
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row


class AssembleStage(Stage[AssemblyRow]):
    """Segments and audio into one MP4."""

    name = "assemble"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        scratch = self.context.scratch
        uri = self.context.layout.assembled(row.video.key)
        with contextlib.ExitStack() as stack:
            paths = [stack.enter_context(local_copy(s, scratch)) for s in row.segment_uris]
            audio = stack.enter_context(local_copy(row.audio_uri, scratch)) if row.audio_uri else None
            out_path = stack.enter_context(local_output(uri, scratch))
            listing = stack.enter_context(
                tempfile.NamedTemporaryFile("w", suffix=".ffconcat", dir=scratch, encoding="utf-8")
            )
            listing.write(concat_list(paths))
            listing.flush()
            run = run_command(
                assemble_args(listing.name, audio, out_path),
                timeout_s=self.context.command_timeout_s,
                what="assemble",
            )
            measure.add_run(run)
            measure.bytes_in = sum(os.path.getsize(p) for p in paths) + (
                os.path.getsize(audio) if audio else 0
            )
            measure.bytes_out = os.path.getsize(out_path)
        row.assembled_uri = uri
        return [row]
