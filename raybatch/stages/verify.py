"""``verify``: the assembled output counts only if it decodes cleanly, lasts what the edit
says, keeps its sound in sync and is on its loudness target (``raybatch.media.verify``); its
SSIM and PSNR against the source are measured on sampled frames (``raybatch.media.quality``)."""

from __future__ import annotations

from raybatch.analysis.edl import Edl
from raybatch.io.storage import local_copy, read_json, stage_input
from raybatch.media.frames import keyframe_brightness
from raybatch.media.quality import measure_quality
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
            quality, scoring = self.score(row, path, (verified.width, verified.height))
        measure.add_runs([*runs, *scoring])
        measure.frames = verified.frames
        measure.quality = quality
        row.verified = {**verified.to_dict(), "brightness": brightness, "quality": quality}
        return [row]

    def score(self, row: AssemblyRow, path: str, size: tuple[int, int]) -> tuple[dict | None, list]:
        """SSIM and PSNR of the output against the source on sampled frames of the kept ranges
        (``raybatch.media.quality``); none for a video without frames."""
        if not size[0] or not size[1]:
            return None, []
        edl = Edl.from_dict(read_json(self.context.layout.work_metadata(row.video.key, "edl.json")))
        score, runs = measure_quality(
            path,
            stage_input(row.video.source_uri, self.context.scratch),
            edl.keep,
            row.media.video.fps,
            size,
            self.context.command_timeout_s,
        )
        return (score.to_dict() if score else None), runs
