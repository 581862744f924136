"""Finishing a video once all its work items are done: assemble, verify, commit, clean up."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

from raybatch.io.storage import (
    commit_file,
    exists,
    join,
    read_bytes,
    scratch_root,
    stage_input,
    staging_path,
    write_bytes_atomic,
)
from raybatch.media.probe import MediaInfo
from raybatch.stages.analysis_stages import picture_signals_uri, small_frames_uri
from raybatch.stages.base import RunContext, WorkItem
from raybatch.stages.media_stages import (
    AssembleStage,
    VerifyStage,
    enhanced_video_uri,
    remove_work_files,
    video_work_dir,
)
from raybatch.stages.package import Evidence, PackageStage, commit_tree


def failure_outcome(item: WorkItem, error: dict[str, Any], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """The result row of a video that failed at some stage."""
    media = json.loads(item.media_json) if item.media_json else None
    return {
        "video": item.video_key,
        "source_uri": item.source_uri,
        "relative_path": item.relative_path,
        "status": "timed_out" if error.get("kind") == "timeout" else "failed",
        "error": error,
        "media": media,
        "input_duration_s": media["duration_s"] if media else None,
        "input_size_bytes": item.size_bytes,
        "metrics": metrics,
    }


def finish_video(
    context: RunContext, rows: list[dict[str, Any]], keep_work_files: bool = False
) -> dict[str, Any]:
    """Assemble a video from its encoded segments and audio, verify it, and commit it to
    ``OUT/<video>/video/enhanced_<video>.mp4`` only if it verifies. Returns the video's result."""
    context.apply_storage()
    parts = [WorkItem.from_row(r) for r in rows]
    first = parts[0]
    media = MediaInfo.from_dict(json.loads(first.media_json))
    metrics = [m for p in parts for m in p.metrics]
    # Probe and plan metrics travel on every part; keep one copy of each.
    unique, seen = [], set()
    for m in metrics:
        key = (m["stage"], m.get("segment_id", ""), m["start"])
        if key not in seen:
            seen.add(key)
            unique.append(m)
    metrics = unique
    audio = next((p for p in parts if p.kind == "audio"), None)
    shots = next((p for p in parts if p.kind == "shots"), None)
    audio_result = audio.result if audio else None
    facts = json.loads(first.analysis_json) if first.analysis_json else {}
    folder = output_folder(context, first.video_key, facts.get("content_type"))
    final_uri = enhanced_video_uri(context.output_root, folder)
    scratch = scratch_root(context.scratch_dir)
    local_out = staging_path(final_uri, scratch)
    video = WorkItem(
        kind="video",
        video_key=first.video_key,
        source_uri=first.source_uri,
        relative_path=first.relative_path,
        size_bytes=first.size_bytes,
        media_json=first.media_json,
        deadline=first.deadline,
    )
    assemble, verify = AssembleStage(context), VerifyStage(context)
    verified: dict[str, Any] = {}
    staging = ""
    packaged: dict[str, Any] = {}
    try:
        (done,) = assemble.run_item(video, lambda m: (assemble.assemble(parts, local_out, m), [video])[1])
        metrics += done.metrics
        if done.error_json:
            return failure_outcome(first, done.error, metrics)
        video.metrics_json = "[]"

        def run_verify(measure):
            verified.update(
                verify.verify(
                    local_out, media, audio_result, measure, expected_s=facts.get("kept_duration_s")
                )
            )
            return [video]

        (checked,) = verify.run_item(video, run_verify)
        metrics += checked.metrics
        if checked.error_json:
            return failure_outcome(first, checked.error, metrics)
        staging = tempfile.mkdtemp(prefix="raybatch-package-", dir=scratch)
        if context.package:
            package = PackageStage(context)

            def run_package(measure):
                source_local = stage_input(first.source_uri, scratch)
                evidence = Evidence.load(context, first.video_key, media, shots.result if shots else None)
                packaged.update(
                    package.package(
                        relative_path=first.relative_path,
                        source_local=source_local,
                        output_local=local_out,
                        output_duration_s=verified.get("video_duration_s")
                        or facts.get("kept_duration_s")
                        or 0.0,
                        media=media,
                        evidence=evidence,
                        staging=staging,
                        measure=measure,
                    )
                )
                return [video]

            (done_package,) = package.run_item(video, run_package)
            metrics += done_package.metrics
            if done_package.error_json:
                return failure_outcome(first, done_package.error, metrics)
        output_size = os.path.getsize(local_out)
        commit_file(local_out, final_uri)
        metadata = commit_metadata(context, first.video_key, folder, shots.result if shots else None)
        commit_tree(staging, join(context.output_root, folder), packaged.get("files", []))
    finally:
        if os.path.exists(local_out):
            os.remove(local_out)
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
    if not keep_work_files:
        frames = [small_frames_uri(context, first.video_key), picture_signals_uri(context, first.video_key)]
        remove_work_files([p.output_uri for p in parts if p.output_uri] + (frames if shots else []))
    return {
        "video": first.video_key,
        "source_uri": first.source_uri,
        "relative_path": first.relative_path,
        "status": "done",
        "folder": folder,
        "output_uri": final_uri,
        "input_duration_s": media.duration_s,
        "output_duration_s": verified.get("video_duration_s"),
        "input_size_bytes": first.size_bytes,
        "output_size_bytes": output_size,
        "segments": first.segment_count,
        "frames": verified.get("frames"),
        "output_size": [verified.get("width"), verified.get("height")],
        "media": media.to_dict(),
        "audio": audio_result,
        "loudness_after": verified.get("loudness"),
        "warnings": verified.get("warnings", []) + packaged.get("warnings", []),
        "package": {k: v for k, v in packaged.items() if k not in ("files", "warnings")},
        "edit": facts,
        "metadata": metadata,
        "metrics": metrics,
    }


METADATA_FILES = ("analysis.json", "edl.json", "edl.otio")


def output_folder(context: RunContext, video_key: str, content_type: str | None) -> str:
    """The video's folder under the output root: its key, under its (decided) content type
    with ``output.organize_by_type``."""
    if context.organize_by_type:
        return f"{content_type or context.preset['content_type']}/{video_key}"
    return video_key


def with_shots(analysis: dict[str, Any], shots: dict[str, Any]) -> dict[str, Any]:
    """``analysis.json`` completed with the shot model's result (it runs beside the encode)."""
    models = analysis.setdefault("models", {})
    models["shots"] = {
        "device": shots.get("device"),
        "timings_s": shots.get("timings_s"),
        "cached": bool(shots.get("cached")),
        "windows": shots.get("model_windows"),
        "model_only_boundaries": shots.get("shots_model_only"),
    }
    return {**analysis, "shots": shots.get("shots", []), "transitions": shots.get("transitions", [])}


def commit_metadata(
    context: RunContext, video_key: str, folder: str, shots: dict[str, Any] | None = None
) -> list[str]:
    """Copy the video's analysis and EDL files from its work folder to
    ``OUT/<folder>/metadata`` (each committed atomically), the analysis completed with the
    shots; returns the committed URIs."""
    committed = []
    work = join(video_work_dir(context.work_root, video_key), "metadata")
    for name in METADATA_FILES:
        source = join(work, name)
        if not exists(source):
            continue
        data = read_bytes(source)
        if name == "analysis.json" and shots is not None:
            document = with_shots(json.loads(data), shots)
            data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
        target = join(context.output_root, folder, "metadata", name)
        write_bytes_atomic(target, data)
        committed.append(target)
    return committed
