"""The pipeline: every stage of raybatch, in order. This is the one place that declares it.

A video row goes through probe, analysis, the decision and ``plan``, which makes its parts:
segments (encoded in the encoder pool), its audio (edited, then normalised, right after ``plan``
in the same task) and its shot detection (beside the encoders). Once every part is back, the
video goes through assemble, verify, package and publish. The executors route each row only to
the stages that handle its kind, so a segment never waits behind the shot model.

Adding a stage is one file under ``raybatch/stages/`` and one line here (see the README's
"Adding a stage").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import content_type_rank
from raybatch.executors.base import Pipeline
from raybatch.executors.plan import RunPlan
from raybatch.executors.scheduling import Gate, in_flight_limit, open_gate
from raybatch.series.look import harmonise
from raybatch.series.plan import SeriesPlan
from raybatch.stages.analyse_picture import PictureAnalysisStage
from raybatch.stages.analyse_sound import SoundAnalysisStage
from raybatch.stages.assemble import AssembleStage
from raybatch.stages.audio import AudioPassStage
from raybatch.stages.base import RunContext, Stage
from raybatch.stages.decide import DecideEditStage, write_documents
from raybatch.stages.detect_shots import ShotDetectionStage
from raybatch.stages.edit_audio import EditAudioStage
from raybatch.stages.embed_text import EmbedTextStage
from raybatch.stages.encode import EncodeSegmentStage
from raybatch.stages.package import PackageStage
from raybatch.stages.plan import PlanSegmentsStage
from raybatch.stages.probe import ProbeStage
from raybatch.stages.publish import PublishStage
from raybatch.stages.rows import Row, VideoRow
from raybatch.stages.verify import VerifyStage

STAGES: tuple[type[Stage], ...] = (
    # one video, then its parts
    ProbeStage,
    PictureAnalysisStage,
    SoundAnalysisStage,
    DecideEditStage,
    PlanSegmentsStage,
    EditAudioStage,
    AudioPassStage,
    # the parts that run in actor pools, each its own stream
    EncodeSegmentStage,
    ShotDetectionStage,
    # the whole video again
    AssembleStage,
    VerifyStage,
    PackageStage,
    EmbedTextStage,
    PublishStage,
)

#: With ``--group-by-type`` and detected types, every video runs up to here before any goes on
#: (its type is known only then).
REGROUP_AFTER = DecideEditStage


def stage_types(config: RaybatchConfig) -> list[type[Stage]]:
    """The stages this configuration runs, in order."""
    return [stage for stage in STAGES if stage.enabled(config)]


def build_pipeline(
    types: list[type[Stage]], context: RunContext, plan: RunPlan, gate: Callable[[], Gate] = open_gate
) -> Pipeline:
    """The run's stages, each with the resources the plan gives its demand, and the strategy's
    admission (``gate``: the resource monitor's say). With ``--group-by-type`` (and detected
    types), or a series whose look is coordinated, every video is decided before any goes on:
    then by type, and in episode order."""
    config, batch = context.config, context.config.batch
    grouped = batch.group_by_type and config.processing.auto_detect_type
    series_look = (
        context.series is not None
        and config.coordination.cross_video_optimization
        and not config.processing.consistent_settings
    )
    ranking = BatchRanking(
        series=context.series if series_look else None,
        grouped=grouped,
        by_resolution=grouped and batch.optimize_batches,
        longest_first=batch.smart_queue,
    )
    return Pipeline(
        stages=[stage(context, plan.resources_for(stage.demand)) for stage in types],
        regroup_after=REGROUP_AFTER.name if grouped or series_look else None,
        order=ranking.rank,
        at_barrier=partial(apply_series_look, context) if series_look else None,
        ordered_after_barrier=grouped,
        task_reserve=plan.task_reserve(),
        in_flight_limit=in_flight_limit(batch.strategy, batch.max_concurrent_jobs, plan.pool.size),
        smart_queue=batch.smart_queue,
        gate=gate,
    )


def type_rank(row: Row) -> int:
    """Where a decided video goes in a batch grouped by type (failed videos last)."""
    decision = row.decision if isinstance(row, VideoRow) and row.error is None else None
    return content_type_rank(decision.content_type if decision else None)


@dataclass(frozen=True)
class BatchRanking:
    """Where a decided video goes after the barrier: by type when grouped (and, optimising the
    batches, by resolution within a type, so an encoder's warm state is reused), then by
    episode, then the longest first with the smart queue."""

    series: SeriesPlan | None = None
    grouped: bool = False
    by_resolution: bool = False
    longest_first: bool = False

    def rank(self, row: Row) -> tuple[float, ...]:
        episode = self.series.episode_of(row.video.key) if self.series else None
        media = row.media if isinstance(row, VideoRow) else None
        size = (media.video.height, media.video.width) if media and self.by_resolution else (0, 0)
        length = -media.duration_s if media and self.longest_first else 0.0
        return (type_rank(row) if self.grouped else 0, *size, episode.number if episode else 0, length)


def apply_series_look(context: RunContext, rows: list[Row]) -> None:
    """Pull every decided episode's enhancement toward the series look (in the driver, once all
    are decided), and rewrite its ``analysis.json`` to say so."""
    decided = [r for r in rows if isinstance(r, VideoRow) and r.error is None and r.decision is not None]
    brightness = {
        row.video.key: row.picture_analysis["statistics"]["brightness"]
        for row in decided
        if row.decision.enhancement
        and ((row.picture_analysis or {}).get("statistics") or {}).get("brightness")
    }
    look = harmonise(brightness, {row.video.key: row.decision.enhancement for row in decided})
    if look is None:
        return
    for row in decided:
        if row.video.key in look.enhancements:
            row.decision = replace(row.decision, enhancement=look.enhancements[row.video.key])
            write_documents(row, context.layout)
