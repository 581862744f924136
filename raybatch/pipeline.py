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

from raybatch.config.model import RaybatchConfig
from raybatch.config.presets import content_type_rank
from raybatch.executors.base import Pipeline
from raybatch.executors.plan import RunPlan
from raybatch.stages.analyse_picture import PictureAnalysisStage
from raybatch.stages.analyse_sound import SoundAnalysisStage
from raybatch.stages.assemble import AssembleStage
from raybatch.stages.audio import AudioPassStage
from raybatch.stages.base import RunContext, Stage
from raybatch.stages.decide import DecideEditStage
from raybatch.stages.detect_shots import ShotDetectionStage
from raybatch.stages.edit_audio import EditAudioStage
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
    PublishStage,
)

#: With ``--group-by-type`` and detected types, every video runs up to here before any goes on
#: (its type is known only then).
REGROUP_AFTER = DecideEditStage


def stage_types(config: RaybatchConfig) -> list[type[Stage]]:
    """The stages this configuration runs, in order."""
    return [stage for stage in STAGES if stage.enabled(config)]


def build_pipeline(types: list[type[Stage]], context: RunContext, plan: RunPlan) -> Pipeline:
    """The run's stages, each with the resources the plan gives its demand."""
    config = context.config
    regroup = config.batch.group_by_type and config.processing.auto_detect_type
    return Pipeline(
        stages=[stage(context, plan.resources_for(stage.demand)) for stage in types],
        regroup_after=REGROUP_AFTER.name if regroup else None,
        order=type_rank,
        task_reserve=plan.task_reserve(),
    )


def type_rank(row: Row) -> int:
    """Where a decided video goes in a batch grouped by type (failed videos last)."""
    decision = row.decision if isinstance(row, VideoRow) and row.error is None else None
    return content_type_rank(decision.content_type if decision else None)
