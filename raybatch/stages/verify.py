"""``verify``: the assembled output counts only if it decodes cleanly, lasts what the edit
says, keeps its sound in sync and is on its loudness target (``raybatch.media.verify``); its
SSIM and PSNR against the source are measured on sampled frames (``raybatch.media.quality``)."""

from __future__ import annotations

from typing import Any

from raybatch.analysis.edl import Edl
from raybatch.io.cache import cache_key, file_digest
from raybatch.io.storage import local_copy, read_json, stage_input
from raybatch.media.frames import keyframe_brightness
from raybatch.media.quality import measure_quality
from raybatch.media.verify import verify_output
from raybatch.stages.base import Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import AssemblyRow, Row


class VerifyStage(Stage[AssemblyRow]):
    """Check one assembled output before anything is published."""

    name = "verify"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        cache = self.context.cache("verify", measure)
        with local_copy(row.assembled_uri, self.context.scratch) as path:
            if cache.enabled:
                verdict = cache.get_or_compute(
                    self.verdict_key(row, path), lambda: self.verify(row, path, measure), _check_verified
                )
            else:
                verdict = self.verify(row, path, measure)
        row.verified = {name: value for name, value in verdict.items() if name != "cached"}
        measure.frames = row.verified["frames"]
        measure.quality = row.verified["quality"]
        return [row]

    def verdict_key(self, row: AssemblyRow, path: str) -> str:
        """The verify cache's entry for this output: an output identical to the byte to one
        verified before (its segments and sound came from the caches), against the same source
        and expectations, gets the same verdict."""
        settings = {
            "source": fingerprint_of(row),
            "expected_s": row.edit.kept_duration_s,
            "strict": self.settings.batch.strict_mode,
            "preset": self.context.preset_for(row.video).to_dict(),
            "audio": row.audio,
        }
        return cache_key(file_digest(path), "verify", settings)

    def verify(self, row: AssemblyRow, path: str, measure: StageMeasure) -> dict[str, Any]:
        """Decode, measure and score the output at ``path``."""
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
        return {**verified.to_dict(), "brightness": brightness, "quality": quality}

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


def _check_verified(entry: dict[str, Any]) -> str | None:
    missing = [name for name in ("frames", "width", "height", "quality", "warnings") if name not in entry]
    return f"missing {', '.join(missing)}" if missing else None
