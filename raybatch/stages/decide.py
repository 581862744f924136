"""``decide``: turn the analysis into decisions (content type, the EDL, the enhancement) and
write ``analysis.json``, ``edl.json`` and ``edl.otio`` to the video's work folder; they are
published with the video once it verifies."""

from __future__ import annotations

from dataclasses import replace

from raybatch.analysis.decide import analysis_document, decide
from raybatch.analysis.otio_export import edl_to_otio
from raybatch.io.layout import Layout
from raybatch.io.storage import write_bytes_atomic, write_json_atomic
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import Row, VideoRow


class DecideEditStage(Stage[VideoRow]):
    """Content type, EDL and enhancement for one video."""

    name = "decide"
    handles = VideoRow

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        media = row.media
        assert media is not None
        processing = self.settings.processing
        row.decision = decide(
            fps=media.video.fps,
            duration_s=media.duration_s,
            picture=row.picture_analysis,
            sound=row.sound_analysis,
            preset=self.context.preset_for(row.video),
            processing=processing,
        )
        if self.context.series is not None:
            # One loudness for the whole series, fixed before any episode is encoded: the
            # configured type's target, whatever type each episode is detected as.
            row.decision = replace(
                row.decision, loudness_target_lufs=self.context.preset_for(row.video).loudness_target_lufs
            )
        write_documents(row, self.context.layout)
        samples = (row.picture_analysis or {}).get("samples")
        if samples:
            write_json_atomic(self.context.layout.frame_samples(row.video.key), samples)
        return [row]


def write_documents(row: VideoRow, layout: Layout) -> None:
    """``analysis.json``, ``edl.json`` and ``edl.otio`` into the video's work folder."""
    assert row.media is not None and row.decision is not None
    video = row.video
    document = analysis_document(
        source_uri=video.source_uri,
        fingerprint=video.fingerprint,
        duration_s=row.media.duration_s,
        fps=row.media.video.fps,
        picture=row.picture_analysis,
        sound=row.sound_analysis,
        decision=row.decision,
    )
    write_json_atomic(layout.work_metadata(video.key, "analysis.json"), document)
    edl = row.decision.edl
    write_json_atomic(
        layout.work_metadata(video.key, "edl.json"), {"source": video.source_uri, **edl.to_dict()}
    )
    otio = edl_to_otio(edl, video.source_uri, name=video.key, has_audio=row.media.audio is not None)
    write_bytes_atomic(layout.work_metadata(video.key, "edl.otio"), otio.encode())
