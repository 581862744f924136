"""The media stages: probe, plan, audio pass, segment encode, assemble, verify."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from raybatch.analysis.edl import Edl
from raybatch.config.presets import Preset
from raybatch.io.storage import (
    exists,
    get_fs,
    join,
    local_copy,
    local_output,
    scratch_root,
    size,
    stage_input,
)
from raybatch.media.audio import LOUDNESS_GATE_LU, normalise_audio
from raybatch.media.commands import (
    assemble_args,
    concat_list,
    edit_audio_decode_args,
    output_dimensions,
    segment_decode_args,
    segment_encode_args,
    verify_audio_args,
    video_encoder_options,
    voice_cleanup_filters,
)
from raybatch.media.loudness import decode_errors, parse_loudnorm_json
from raybatch.media.probe import MediaInfo, count_video_packets, probe_media
from raybatch.media.runner import CommandResult, MediaError, run_command
from raybatch.media.splice import frames_to_samples, splice, wav_data_offset, write_float_wav
from raybatch.stages.base import Resources, Stage, StageFailure, StageMeasure, WorkItem
from raybatch.stages.planning import plan_edited_segments, total_frames

#: Length of the crossfade at every audio join (s): long enough that no join clicks, short
#: enough that nothing of the removed part is heard.
CROSSFADE_S = 0.02


def video_work_dir(work_root: str, video_key: str) -> str:
    """Where a video's intermediate files (segments, audio) live until it is assembled."""
    return join(work_root, video_key.replace("/", "__"))


def enhanced_video_uri(output_root: str, video_key: str) -> str:
    """``OUT/<video>/video/enhanced_<video>.mp4``."""
    name = video_key.rsplit("/", 1)[-1]
    return join(output_root, video_key, "video", f"enhanced_{name}.mp4")


class ProbeStage(Stage):
    """Read the streams of one input; anything that is not a decodable video becomes an error."""

    name = "probe"

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        if item.size_bytes == 0 and exists(item.source_uri) and size(item.source_uri) == 0:
            raise StageFailure(
                "the file is empty (0 bytes)",
                hint="re-copy or re-export the video; an interrupted transfer leaves empty files",
            )
        local = stage_input(item.source_uri, scratch_root(self.context.scratch_dir))
        if not os.access(local, os.R_OK):
            raise PermissionError(f"cannot read {item.source_uri}")
        media = probe_media(local, size_bytes=item.size_bytes, timeout_s=self.context.command_timeout_s)
        measure.bytes_in = media.size_bytes
        item.media_json = json.dumps(media.to_dict())
        return [item]


def video_decision(item: WorkItem, media: MediaInfo) -> dict[str, Any]:
    """The decisions made for a video (type, EDL, enhancement); without analysis, keep all."""
    decision = json.loads(item.analysis_json) if item.analysis_json else {}
    if "edl" not in decision:
        frames = total_frames(media.duration_s, media.video.fps)
        decision["edl"] = Edl(fps=media.video.fps, source_frames=frames, keep=[(0, frames)]).to_dict()
    return decision


class PlanSegmentsStage(Stage):
    """Split a video's edited timeline into work segments (seams at cuts and shot boundaries
    where possible) plus one audio work item."""

    name = "plan"

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        media = MediaInfo.from_dict(json.loads(item.media_json))
        ctx = self.context
        decision = video_decision(item, media)
        edl = Edl.from_dict(decision["edl"])
        settings = {k: ctx.preset[k] for k in ("encoder", "x264_preset", "crf", "max_short_side")}
        settings["threads"] = ctx.encoder_threads
        settings["enhancement"] = decision.get("enhancement")
        cuts = decision.get("cuts", [])
        plans = plan_edited_segments(
            edl,
            target_s=ctx.segment_seconds,
            min_s=ctx.min_segment_seconds,
            parallel_slots=ctx.parallel_slots,
            shot_frames=cuts,
            source_fingerprint=decision.get("fingerprint") or f"{item.source_uri}|{item.size_bytes}",
            settings=settings,
        )
        work_dir = video_work_dir(ctx.work_root, item.video_key)
        # Every row carries the small per-video facts; only the audio row carries the EDL.
        compact = {
            "enhancement": decision.get("enhancement"),
            "kept_duration_s": edl.kept_seconds(),
            "loudness_target_lufs": decision.get("loudness_target_lufs", ctx.preset["loudness_target_lufs"]),
            "content_type": decision.get("content_type", ctx.preset["content_type"]),
            "source_loudnorm": decision.get("source_loudnorm"),
            "fingerprint": decision.get("fingerprint"),
        }
        common = {
            "video_key": item.video_key,
            "source_uri": item.source_uri,
            "relative_path": item.relative_path,
            "size_bytes": item.size_bytes,
            "media_json": item.media_json,
            "segment_count": len(plans),
            "has_audio": media.audio is not None,
            "has_shots": bool(ctx.analysis),
            "deadline": item.deadline,
            "analysis_json": json.dumps(compact),
        }
        items = []
        for plan in plans:
            first = plan.source_ranges[0][0]
            relative = [(a - first, b - first) for a, b in plan.source_ranges]
            items.append(
                WorkItem(
                    kind="segment",
                    item_id=plan.segment_id,
                    index=plan.index,
                    start_frame=first,
                    frame_count=plan.frame_count,
                    ranges_json=json.dumps(relative),
                    output_uri=join(work_dir, f"seg_{plan.index:05d}_{plan.segment_id}.mp4"),
                    metrics_json=item.metrics_json,
                    **common,
                )
            )
        if ctx.analysis:
            # The shot model's work: it reads the frames the picture analysis left.
            items.append(WorkItem(kind="shots", item_id="shots", metrics_json=item.metrics_json, **common))
        if media.audio is not None:
            # Last, so a fused task hands the segments to the encoders before it starts on audio.
            items.append(
                WorkItem(
                    kind="audio",
                    item_id="audio",
                    ranges_json=json.dumps(edl.keep),
                    output_uri=join(work_dir, "audio.m4a"),
                    metrics_json=item.metrics_json,
                    **common,
                )
            )
        return items


def edited_audio(
    local: str,
    media: MediaInfo,
    preset: Preset,
    keep: list[tuple[int, int]],
    cleanup: list,
    work: str,
    timeout_s: float,
) -> tuple[str, MediaInfo, list[CommandResult]]:
    """The sound with the EDL applied (crossfaded joins) and voice clean-up, as float WAV in
    ``work``, plus the media description of that file."""
    assert media.audio is not None
    fitted = os.path.join(work, "fitted.wav")
    run = run_command(
        edit_audio_decode_args(local, fitted, media, preset, cleanup),
        timeout_s=timeout_s,
        what="audio decode",
    )
    channels = min(2, max(1, media.audio.channels))
    rate = preset.audio_sample_rate
    source = np.memmap(fitted, dtype="<f4", mode="r", offset=wav_data_offset(fitted))
    source = source[: len(source) - len(source) % channels].reshape(-1, channels)
    sample_ranges = frames_to_samples(keep, float(Fraction(media.video.fps)), rate)
    spliced = splice(source, sample_ranges, fade=round(CROSSFADE_S * rate))
    edited = os.path.join(work, "edited.wav")
    write_float_wav(edited, spliced, rate)
    del source
    os.remove(fitted)
    duration = len(spliced) / rate
    edited_media = dataclasses.replace(
        media,
        duration_s=duration,
        audio=dataclasses.replace(
            media.audio, index=0, start_s=0.0, duration_s=duration, channels=channels, sample_rate=rate
        ),
    )
    return edited, edited_media, [run]


class AudioPassStage(Stage):
    """Once per video: fit the audio to the video's timeline, apply the EDL with crossfades and
    the voice clean-up, and normalise its loudness."""

    name = "audio"
    handles: ClassVar[frozenset[str]] = frozenset({"audio"})

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        media = MediaInfo.from_dict(json.loads(item.media_json))
        scratch = scratch_root(self.context.scratch_dir)
        local = stage_input(item.source_uri, scratch)
        facts = json.loads(item.analysis_json) if item.analysis_json else {}
        preset = self.context.preset_obj()
        if facts.get("loudness_target_lufs") is not None:
            preset = dataclasses.replace(preset, loudness_target_lufs=facts["loudness_target_lufs"])
        keep = [tuple(r) for r in json.loads(item.ranges_json)] if item.ranges_json else []
        enhancement = facts.get("enhancement") or {}
        cleanup = voice_cleanup_filters(
            enhancement.get("voice_highpass_hz", 0), enhancement.get("voice_denoise", False)
        )
        frames = total_frames(media.duration_s, media.video.fps)
        cut = bool(keep) and keep != [(0, frames)]
        with contextlib.ExitStack() as stack:
            out_path = stack.enter_context(local_output(item.output_uri, scratch))
            source, source_media = local, media
            if cut or cleanup:
                work = stack.enter_context(tempfile.TemporaryDirectory(dir=scratch))
                source, source_media, runs = edited_audio(
                    local, media, preset, keep or [(0, frames)], cleanup, work, self.context.command_timeout_s
                )
                for run in runs:
                    measure.add_run(run)
            # Untouched sound was already measured by analysis, on the same fitted audio.
            measured = None if (cut or cleanup) else facts.get("source_loudnorm")
            outcome = normalise_audio(
                source,
                out_path,
                source_media,
                preset,
                timeout_s=self.context.command_timeout_s,
                measured=measured,
            )
            for run in outcome.runs:
                measure.add_run(run)
            measure.bytes_out = os.path.getsize(out_path)
        item.result_json = json.dumps(
            {
                "input_loudness": outcome.input_loudness,
                "output_loudness": outcome.output_loudness,
                "gain_db": outcome.gain_db,
                "limiter_dbtp": outcome.limiter_dbtp,
                "attempts": outcome.attempts,
                "normalised": outcome.normalised,
                "target_reachable": outcome.target_reachable,
                "note": outcome.note,
                "target_lufs": preset.loudness_target_lufs,
                "edited": cut,
                "voice_cleanup": [f.name for f in cleanup],
            }
        )
        return [item]


class EncodeSegmentStage(Stage):
    """Enhance and encode one segment (video only) with the run's identical encoder settings."""

    name = "encode"
    handles: ClassVar[frozenset[str]] = frozenset({"segment"})
    stateful = True

    def __init__(self, context, resources: Resources | None = None):
        super().__init__(context)
        self._resources = resources or Resources(num_cpus=1.0)

    def resources(self) -> Resources:
        return self._resources

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        media = MediaInfo.from_dict(json.loads(item.media_json))
        scratch = scratch_root(self.context.scratch_dir)
        if segment_is_complete(item.output_uri, item.frame_count, scratch):
            # Resumed job: segment ids hash source, range and settings, so an output under this
            # name that holds every frame is this very segment, finished before.
            measure.status = "reused"
            measure.frames = item.frame_count
            item.result_json = json.dumps({"frames": item.frame_count, "reused": True})
            return [item]
        local = stage_input(item.source_uri, scratch)
        fps = Fraction(media.video.fps)
        facts = json.loads(item.analysis_json) if item.analysis_json else {}
        keep = [tuple(r) for r in json.loads(item.ranges_json)] if item.ranges_json else None
        with local_output(item.output_uri, scratch) as out_path:
            args = segment_encode_args(
                local,
                out_path,
                video=media.video,
                start_s=float(item.start_frame / fps),
                frame_count=item.frame_count,
                preset=self.context.preset_obj(),
                threads=self.context.encoder_threads,
                enhancement=facts.get("enhancement"),
                keep=keep,
            )
            run = run_command(args, timeout_s=self.context.command_timeout_s, what="segment encode")
            measure.add_run(run)
            # Decoded here, in parallel with the other segments, rather than once more in the
            # serial verification of the assembled file (which concatenates without re-encoding).
            check = run_command(
                segment_decode_args(out_path),
                timeout_s=self.context.command_timeout_s,
                check=False,
                what="segment decode check",
            )
            measure.add_run(check)
            _raise_on_decode_errors(check, "the encoded segment")
            measure.bytes_out = os.path.getsize(out_path)
        measure.frames = item.frame_count
        measure.bytes_in = round(
            item.size_bytes * item.frame_count / max(1, item.frame_count * item.segment_count)
        )
        item.result_json = json.dumps({"frames": item.frame_count})
        return [item]


def _raise_on_decode_errors(run: CommandResult, what: str) -> None:
    errors = decode_errors(run.stderr)
    if run.returncode != 0 or errors:
        raise StageFailure(
            f"{what} does not decode cleanly: " + "; ".join(errors[:3] or [f"exit {run.returncode}"]),
            hint="re-run the video; if it fails again the source has damaged frames (try --quality low)",
        )


def segment_is_complete(uri: str, frame_count: int, scratch: str) -> bool:
    """Whether an encoded segment already exists under ``uri`` with all its frames (written
    atomically, so a crash mid-encode leaves nothing under the final name)."""
    if not exists(uri):
        return False
    with local_copy(uri, scratch) as path:
        return count_video_packets(path) == frame_count


class AssembleStage(Stage):
    """Concatenate a video's segments without re-encoding, mux its audio, faststart."""

    name = "assemble"

    def assemble(self, parts: list[WorkItem], local_out: str, measure: StageMeasure) -> None:
        segments = sorted((p for p in parts if p.kind == "segment"), key=lambda p: p.index)
        audio = next((p for p in parts if p.kind == "audio"), None)
        scratch = scratch_root(self.context.scratch_dir)
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=scratch))
            paths = [stack.enter_context(local_copy(s.output_uri, scratch)) for s in segments]
            audio_path = stack.enter_context(local_copy(audio.output_uri, scratch)) if audio else None
            list_path = os.path.join(tmp, "segments.ffconcat")
            with open(list_path, "w", encoding="utf-8") as handle:
                handle.write(concat_list(paths))
            measure.bytes_in = sum(os.path.getsize(p) for p in paths) + (
                os.path.getsize(audio_path) if audio_path else 0
            )
            run = run_command(
                assemble_args(list_path, audio_path, local_out),
                timeout_s=self.context.command_timeout_s,
                what="assemble",
            )
            measure.add_run(run)
            measure.bytes_out = os.path.getsize(local_out)


def check_durations(
    expected_s: float, video_s: float | None, audio_s: float | None, frame_s: float
) -> list[str]:
    """Problems with an output's durations: the video must match the plan within one frame,
    and the audio (when present) must match the video within one frame."""
    problems = []
    if video_s is None:
        problems.append("the output states no video duration")
    elif abs(video_s - expected_s) > frame_s + 1e-6:
        problems.append(f"video lasts {video_s:.3f} s, expected {expected_s:.3f} s (±1 frame)")
    if audio_s is not None and video_s is not None and abs(audio_s - video_s) > frame_s + 1e-6:
        problems.append(f"audio lasts {audio_s:.3f} s but video {video_s:.3f} s: out of sync")
    return problems


def check_loudness(
    measured: dict[str, float],
    target: float,
    ceiling: float,
    *,
    tolerance: float = LOUDNESS_GATE_LU,
) -> list[str]:
    """Problems with delivered loudness: integrated within ±tolerance, true peak at the ceiling."""
    problems = []
    if abs(measured["input_i"] - target) > tolerance:
        problems.append(
            f"integrated loudness {measured['input_i']:.2f} LUFS is outside {target:g} ±{tolerance:g} LU"
        )
    if measured["input_tp"] > ceiling + 1e-9:
        problems.append(f"true peak {measured['input_tp']:.2f} dBTP is above the {ceiling:g} dBTP ceiling")
    return problems


class VerifyStage(Stage):
    """Decode the whole output and check durations, sync and loudness before it counts as done."""

    name = "verify"

    def verify(
        self,
        local_out: str,
        media: MediaInfo,
        audio_result: dict[str, Any] | None,
        measure: StageMeasure,
        *,
        expected_s: float | None = None,
    ) -> dict[str, Any]:
        """Check one assembled output; ``expected_s`` is the EDL's kept duration (default:
        the source's). Returns what was measured; raises :class:`StageFailure` on a problem."""
        preset = self.context.preset_obj()
        if audio_result and audio_result.get("target_lufs") is not None:
            preset = dataclasses.replace(preset, loudness_target_lufs=audio_result["target_lufs"])
        has_audio = media.audio is not None
        # Every segment's frames were decoded where it was encoded (in parallel); here the
        # assembled file's sound is decoded and measured, and its video checked structurally
        # (frames in the index = packets in the file), since concatenation re-encodes nothing.
        run = None
        if has_audio:
            run = run_command(
                verify_audio_args(local_out, preset),
                timeout_s=self.context.command_timeout_s,
                check=False,
                what="verification decode",
            )
            measure.add_run(run)
            _raise_on_decode_errors(run, "the output")
        streams = json.loads(
            run_command(
                ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", local_out],
                capture_stdout=True,
                timeout_s=120,
                what="ffprobe",
            ).stdout
        )["streams"]
        video = next(s for s in streams if s["codec_type"] == "video")
        audio = next((s for s in streams if s["codec_type"] == "audio"), None)
        fps = Fraction(media.video.fps)
        frame_s = float(1 / fps)
        frames = int(video.get("nb_frames") or 0)
        measure.frames = frames
        packets = count_video_packets(local_out)
        video_s = float(video["duration"]) if video.get("duration") else None
        audio_s = float(audio["duration"]) if audio and audio.get("duration") else None
        expected = media.duration_s if expected_s is None else expected_s
        problems = check_durations(expected, video_s, audio_s, frame_s)
        if packets != frames:
            problems.append(f"the video holds {packets} frames but its index states {frames}")
        if has_audio and audio is None:
            problems.append("the output lost its audio track")
        warnings = []
        loudness = None
        if has_audio:
            assert run is not None
            loudness = parse_loudnorm_json(run.stderr)
            reachable = bool(audio_result and audio_result.get("target_reachable", True))
            normalised = bool(audio_result and audio_result.get("normalised"))
            loud_problems = check_loudness(loudness, preset.loudness_target_lufs, preset.true_peak_dbtp)
            if normalised and reachable:
                problems += loud_problems
            elif loud_problems:
                # Silence, or audio we chose not to crush: reported, with the reason, not hidden.
                warnings += [*loud_problems, audio_result.get("note", "") if audio_result else ""]
                peak_problems = [p for p in loud_problems if "true peak" in p]
                problems += peak_problems if normalised else []
        if self.context.strict_mode and warnings:
            problems += [f"strict mode: {w}" for w in warnings if w]
        if problems:
            raise StageFailure(
                "verification failed: " + "; ".join(problems),
                hint="this is a raybatch bug or a damaged source; report it with the error_log entry",
            )
        width, height = int(video["width"]), int(video["height"])
        return {
            "frames": frames,
            "video_duration_s": video_s,
            "audio_duration_s": audio_s,
            "width": width,
            "height": height,
            "expected_size": list(output_dimensions(*media.video.display_size, preset.max_short_side)),
            "loudness": loudness,
            "warnings": [w for w in warnings if w],
        }


def encoder_settings(context) -> dict[str, Any]:
    """The encoder settings every segment of the run used (for the report)."""
    preset = context.preset_obj()
    options = video_encoder_options(preset, "30", context.encoder_threads)
    options.pop("g")
    options.pop("keyint_min")
    options["keyframe_interval_s"] = 2
    return options


def remove_work_files(paths: list[str]) -> None:
    """Best-effort removal of intermediate files."""
    for path in paths:
        try:
            fs, p = get_fs(path)
            if fs.exists(p):
                fs.rm(p)
        except (OSError, MediaError):
            pass
