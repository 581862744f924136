"""``verify``: the assembled output counts only if it decodes cleanly, lasts what the edit
says, keeps its sound in sync and is on its loudness target (``raybatch.media.verify``)."""

from __future__ import annotations

from raybatch.io.storage import local_copy
from raybatch.media.frames import keyframe_brightness
from raybatch.media.verify import verify_output
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AssemblyRow, Row


class VerifyStage(Stage[AssemblyRow]):
    """Check one assembled output before anything is published."""

    name = "verify"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        with local_copy(row.assembled_uri, self.context.scratch) as path:
            verified, runs = verify_output(
                path,
                row.media,
                row.audio,
                self.context.preset_for(row.video),
                expected_s=row.edit.kept_duration_s,
                strict=self.settings.batch.strict_mode,
                timeout_s=self.context.command_timeout_s,
            )
            # How bright the output looks, for comparing a series' episodes (keyframes only).
            brightness = keyframe_brightness(path, self.context.command_timeout_s)
        measure.add_runs(runs)
        measure.frames = verified.frames
        row.verified = {**verified.to_dict(), "brightness": brightness}
        return [row]
