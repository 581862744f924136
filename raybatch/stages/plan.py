"""``plan``: split a video's edited timeline into work segments (seams at cuts and hard shot
changes where possible), plus its audio and its shot detection: the video's parts."""

from __future__ import annotations

from raybatch.analysis.segments import plan_edited_segments
from raybatch.stages.base import Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import AudioRow, Row, SegmentRow, ShotsRow, SoundRef, VideoRow


class PlanSegmentsStage(Stage[VideoRow]):
    """One video row in, its segment rows, shots row and audio row out."""

    name = "plan"
    handles = VideoRow
    emits = (SegmentRow, ShotsRow, AudioRow)

    def process(self, row: VideoRow, measure: StageMeasure) -> list[Row]:
        media, decision = row.media, row.decision
        assert media is not None and decision is not None
        processing, preset = self.settings.processing, self.context.preset_for(row.video)
        # The segment id hashes what the encode depends on: a resumed job reuses a finished
        # segment only when nothing of it changed.
        encode_settings = {
            "encoder": preset.encoder,
            "x264_preset": preset.x264_preset,
            "crf": preset.crf,
            "max_short_side": preset.max_short_side,
            "threads": self.context.encoder_threads,
            "enhancement": decision.enhancement,
        }
        plans = plan_edited_segments(
            decision.edl,
            target_s=processing.segment_seconds,
            min_s=processing.min_segment_seconds,
            parallel_slots=self.context.parallel_slots,
            shot_frames=list(decision.seam_frames),
            avoid_frames=list(decision.seam_avoid),
            source_fingerprint=fingerprint_of(row),
            settings=encode_settings,
        )
        with_shots, with_audio = processing.analysis, media.audio is not None
        common = {
            "media": media,
            "parts": len(plans) + with_shots + with_audio,
            "segments": len(plans),
            "edit": decision.facts(),
        }
        layout, key = self.context.layout, row.video.key
        parts: list[Row] = [
            row.spawn(
                SegmentRow,
                index=plan.index,
                segment_id=plan.segment_id,
                frame_count=plan.frame_count,
                source_ranges=list(plan.source_ranges),
                output_uri=layout.segment(key, plan.index, plan.segment_id),
                **common,
            )
            for plan in plans
        ]
        if with_shots:
            parts.append(row.spawn(ShotsRow, **common))
        if with_audio:
            measured = (row.sound_analysis or {}).get("loudnorm")
            sound = SoundRef(row.video.source_uri, media, measured)
            parts.append(
                row.spawn(
                    AudioRow,
                    keep=list(decision.edl.keep),
                    sound=sound,
                    output_uri=layout.audio_track(key),
                    **common,
                )
            )
        return parts
