"""Packaging a verified video for publishing: transcript and captions, chapters, metadata
(LLM or offline writer) and thumbnails from the best real frames.

It runs in the video's finish step, once the output has verified: chapters and captions are on
the edited timeline of the real output, and the title the writer chose is set on a thumbnail.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from raybatch.analysis.edl import Edl
from raybatch.io.storage import exists, join, read_json
from raybatch.llm.budget import Spending, find_ledger
from raybatch.llm.client import BudgetExceeded, Caller, LlmUnavailable, chat_endpoint, transcription_endpoint
from raybatch.media.commands import frame_grab_args, speech_audio_args
from raybatch.media.probe import MediaInfo
from raybatch.media.runner import run_command
from raybatch.package import captions, render
from raybatch.package import chapters as chapter_rules
from raybatch.package import thumbnails as picking
from raybatch.package.writers import LlmWriter, MetadataDraft, OfflineWriter, VideoFacts, series_and_episode
from raybatch.stages.analysis_stages import frame_samples_uri
from raybatch.stages.base import RunContext, Stage, StageMeasure
from raybatch.stages.media_stages import video_work_dir

log = logging.getLogger(__name__)

#: Silences at least this long (kept in the edit) are chapter boundary evidence.
PAUSE_S = 1.5
#: Length of one transcription upload.
TRANSCRIBE_PIECE_S = 1200.0


@dataclass
class Evidence:
    """Everything the analysis left about one video, on the source timeline."""

    duration_s: float  # source
    content_type: str
    edl: Edl
    shots_s: list[float] = field(default_factory=list)
    transitions_s: list[tuple[float, float]] = field(default_factory=list)
    silences_s: list[tuple[float, float]] = field(default_factory=list)
    speech_s: float | None = None
    samples: dict[str, list[float]] | None = None
    loudness_lufs: float | None = None

    @property
    def keep_s(self) -> list[tuple[float, float]]:
        """The EDL's keep-ranges in source seconds."""
        rate = Fraction(self.edl.fps)
        return [(float(a / rate), float(b / rate)) for a, b in self.edl.keep]

    @classmethod
    def load(cls, context: RunContext, video_key: str, media: MediaInfo, shots: dict | None) -> Evidence:
        """Read the video's analysis and EDL from its work folder."""
        metadata = join(video_work_dir(context.work_root, video_key), "metadata")
        analysis = (
            read_json(join(metadata, "analysis.json")) if exists(join(metadata, "analysis.json")) else {}
        )
        edl = Edl.from_dict(read_json(join(metadata, "edl.json")))
        fps = float(Fraction(edl.fps))
        samples_uri = frame_samples_uri(context, video_key)
        speech = analysis.get("speech") or []
        return cls(
            duration_s=media.duration_s or edl.source_frames / fps,
            content_type=(analysis.get("content_type") or {}).get("value") or context.preset["content_type"],
            edl=edl,
            shots_s=[s["time_s"] for s in (shots or {}).get("shots", [])],
            transitions_s=[tuple(t) for t in (shots or {}).get("transitions", [])],
            silences_s=[tuple(s) for s in analysis.get("silences") or []],
            speech_s=sum(b - a for a, b in speech) if analysis else None,
            samples=read_json(samples_uri) if exists(samples_uri) else None,
            loudness_lufs=context.preset.get("loudness_target_lufs"),
        )


class PackageStage(Stage):
    """Transcript, chapters, metadata and thumbnails for one verified video."""

    name = "package"

    def __init__(self, context: RunContext):
        super().__init__(context)
        self.settings = context.package

    def package(
        self,
        *,
        relative_path: str,
        source_local: str,
        output_local: str,
        output_duration_s: float,
        media: MediaInfo,
        evidence: Evidence,
        staging: str,
        measure: StageMeasure,
    ) -> dict[str, Any]:
        """Write ``thumbnails/`` and ``metadata/`` files under ``staging``; returns what was made
        (files relative to the video's folder, writer, usage, warnings)."""
        metadata_settings = self.settings["metadata"]
        ledger = find_ledger(self.context.job_id)
        warnings: list[str] = []
        files: list[str] = []
        os.makedirs(join(staging, "metadata"), exist_ok=True)

        transcript, transcript_usage = self._transcript(
            output_local, output_duration_s, ledger, warnings, measure
        )
        boundaries = self._boundaries(evidence, transcript)
        planned = chapter_rules.plan_chapters(output_duration_s, boundaries)
        chapter_texts = [
            " ".join(t for a, b, t in (transcript or {}).get("segments", []) if a < c.end_s and b > c.start_s)
            for c in planned
        ]
        series, episode = series_and_episode(os.path.basename(relative_path))
        facts = VideoFacts(
            file_name=os.path.basename(relative_path),
            duration_s=round(output_duration_s, 3),
            source_duration_s=round(evidence.duration_s, 3),
            content_type=evidence.content_type,
            language=(transcript or {}).get("language") or metadata_settings["language"],
            chapter_count=len(planned),
            chapter_evidence=[c.evidence for c in planned],
            shots=len(evidence.shots_s) + 1 if evidence.shots_s or evidence.samples else None,
            speech_ratio=round(evidence.speech_s / evidence.duration_s, 3)
            if evidence.speech_s is not None and evidence.duration_s
            else None,
            removed_s=round(
                (evidence.edl.source_frames - evidence.edl.kept_frames) / float(Fraction(evidence.edl.fps)), 3
            ),
            cuts=max(0, len(evidence.keep_s) - 1),
            loudness_lufs=evidence.loudness_lufs,
            resolution="x".join(str(v) for v in media.video.display_size),
            keywords=list(metadata_settings["keywords"]),
            transcript=(transcript or {}).get("text", ""),
            chapter_texts=chapter_texts,
            series=series,
            episode=episode,
        )
        draft, writer_info, chat_usage = self._write(facts, ledger, warnings)
        usage = Spending.total([chat_usage, transcript_usage])
        for chapter, title in zip(planned, draft.chapter_titles, strict=False):
            chapter.title = title
        chapter_list = chapter_rules.chapter_text(planned, output_duration_s)
        description = draft.description + (f"\n\nChapters:\n{chapter_list}" if planned else "")
        document = {
            "title": draft.title,
            "description": description,
            "tags": draft.tags,
            "keywords": draft.keywords,
            "language": facts.language,
            "chapters": [c.to_dict() for c in planned],
            "chapters_text": chapter_list,
            "thumbnail_text": draft.thumbnail_text,
            "duration_s": round(output_duration_s, 3),
            "series": {"name": series, "episode": episode} if episode is not None else None,
            "writer": writer_info,
            "usage": usage,
            "evidence": {
                **facts.to_dict(),
                "transcript": bool(facts.transcript),
                "chapter_boundaries": {
                    k: sum(1 for b in boundaries if b.kind == k) for k in chapter_rules.STRENGTH
                },
            },
        }
        _write_text(
            join(staging, "metadata", "metadata.json"), json.dumps(document, indent=2, ensure_ascii=False)
        )
        files.append("metadata/metadata.json")
        if transcript and transcript.get("segments"):
            _write_text(
                join(staging, "metadata", "captions.srt"),
                captions.to_srt(transcript["segments"], output_duration_s),
            )
            _write_text(
                join(staging, "metadata", "captions.vtt"),
                captions.to_vtt(transcript["segments"], output_duration_s),
            )
            files += ["metadata/captions.srt", "metadata/captions.vtt"]
        thumbnails_made = []
        if self.settings["thumbnails"]["enabled"]:
            thumbnails_made = self._thumbnails(
                source_local, media, evidence, draft.thumbnail_text, staging, measure, warnings
            )
            files += [f"thumbnails/{t['file']}" for t in thumbnails_made] + (
                ["thumbnails/thumbnails.json"] if thumbnails_made else []
            )
        return {
            "files": files,
            "title": draft.title,
            "chapters": len(planned),
            "thumbnails": [t["file"] for t in thumbnails_made],
            "writer": writer_info,
            "usage": usage,
            "warnings": warnings,
        }

    # --- transcript, chapters, text -------------------------------------------------------

    def _transcript(
        self, output_local, duration_s, ledger, warnings, measure
    ) -> tuple[dict | None, dict | None]:
        """The kept speech transcribed (on the edited timeline), and what that used."""
        endpoint = transcription_endpoint(self.settings["metadata"], ledger)
        if endpoint is None or not duration_s:
            return None, None
        caller = Caller(endpoint, ledger)
        segments, texts, language = [], [], None
        with tempfile.TemporaryDirectory(prefix="raybatch-speech-") as folder:
            pieces = max(1, math.ceil(duration_s / TRANSCRIBE_PIECE_S))
            try:
                for index in range(pieces):
                    start = index * TRANSCRIBE_PIECE_S
                    length = min(TRANSCRIBE_PIECE_S, duration_s - start)
                    path = os.path.join(folder, f"speech_{index:03d}.mp3")
                    measure.add_run(run_command(speech_audio_args(output_local, path, start, length),
                                                what="speech extraction"))  # fmt: skip
                    part = caller.transcribe(path, length / 60.0, offset_s=start)
                    segments += part["segments"]
                    texts.append(part["text"])
                    language = language or part["language"]
            except (LlmUnavailable, BudgetExceeded) as exc:
                warnings.append(f"no transcript: {exc}")
                return None, caller.usage()
        transcript = {
            "segments": segments,
            "text": " ".join(texts).strip(),
            "language": _language_code(language),
        }
        return transcript, caller.usage()

    def _boundaries(self, evidence: Evidence, transcript: dict | None) -> list[chapter_rules.Boundary]:
        edl = evidence.edl
        boundaries = [chapter_rules.Boundary(t, "shot") for t in edl.to_output_times(evidence.shots_s)]
        boundaries += [chapter_rules.Boundary(t, "cut") for t in edl.cut_times()]
        pauses = [(a + b) / 2 for a, b in evidence.silences_s if b - a >= PAUSE_S]
        boundaries += [chapter_rules.Boundary(t, "pause") for t in edl.to_output_times(pauses)]
        if transcript:
            boundaries += [
                chapter_rules.Boundary(t, "topic")
                for t in chapter_rules.topic_changes(transcript["segments"])
            ]
        return boundaries

    def _write(self, facts: VideoFacts, ledger, warnings) -> tuple[MetadataDraft, dict, dict]:
        settings = self.settings["metadata"]
        endpoint = chat_endpoint(settings, ledger) if settings["writer"] != "offline" else None
        info: dict[str, Any] = {"kind": "offline"}
        caller = None
        draft = None
        if settings["writer"] == "llm" and endpoint is None:
            warnings.append(
                f"metadata: writer is 'llm' but ${settings['llm']['api_key_env']} is not set; "
                "wrote offline metadata"
            )
            info["fallback_reason"] = "no API key"
        if endpoint is not None:
            caller = Caller(endpoint, ledger)
            try:
                draft = LlmWriter(caller).write(facts)
                info = {
                    "kind": "llm",
                    "model": endpoint.model,
                    "cached": all(r.cached for r in caller.records),
                }
            except BudgetExceeded as exc:
                warnings.append(f"metadata: --budget reached ({exc}); wrote offline metadata")
                info["fallback_reason"] = "budget"
            except LlmUnavailable as exc:
                warnings.append(f"metadata: the LLM gave no usable answer ({exc}); wrote offline metadata")
                info["fallback_reason"] = str(exc)
        if draft is None:
            draft = OfflineWriter().write(facts)
        return draft, info, caller.usage() if caller else None

    # --- thumbnails ------------------------------------------------------------------------

    def _candidate_times(self, evidence: Evidence) -> tuple[list[picking.Candidate], dict[str, int]]:
        """Scored candidates from the analysis's sampled frames; where those are too few (no
        analysis, or a short clip whose samples all sit near a transition), the middles of the
        longest stretches that are clear of every transition, judged once extracted."""
        avoid = picking.avoid_zones(evidence.duration_s, evidence.shots_s, evidence.transitions_s)
        count = self.settings["thumbnails"]["candidates"]
        rejected: dict[str, int] = {}
        candidates: list[picking.Candidate] = []
        table = evidence.samples or {}
        if table.get("time_s"):
            qualities = [
                picking.FrameQuality(b, c, s, sh, cf)
                for b, c, s, sh, cf in zip(table["brightness"], table["contrast"], table["saturation"],
                                           table["sharpness"], table["colourfulness"], strict=True)
            ]  # fmt: skip
            typical = picking.typical_sharpness(qualities)
            verdicts = picking.eligible(
                table["time_s"], qualities, kept=evidence.keep_s, avoid=avoid, typical=typical
            )
            for index, reason in verdicts:
                if reason:
                    rejected[reason] = rejected.get(reason, 0) + 1
                    continue
                time_s = table["time_s"][index]
                distance = picking.distance_to(time_s, [0.0, evidence.duration_s, *evidence.shots_s])
                shot = picking.shot_index(time_s, evidence.shots_s)
                candidate = picking.Candidate(time_s, shot, qualities[index], distance)
                candidate.scores = picking.score(candidate.quality, typical or 0.0, distance, 0.0)
                candidates.append(candidate)
            candidates = picking.choose(candidates, count)
        if len(candidates) < count:
            unknown = picking.FrameQuality(0, 0, 0, 0, 0)
            for middle in picking.spread(picking.free_spans(evidence.keep_s, avoid), count - len(candidates)):
                if all(abs(middle - c.time_s) >= 0.25 for c in candidates):
                    boundaries = [0.0, evidence.duration_s, *evidence.shots_s]
                    distance = picking.distance_to(middle, boundaries)
                    shot = picking.shot_index(middle, evidence.shots_s)
                    candidates.append(picking.Candidate(middle, shot, unknown, distance))
        return candidates, rejected

    def _thumbnails(self, source_local, media, evidence, text, staging, measure, warnings) -> list[dict]:
        settings = self.settings["thumbnails"]
        candidates, rejected = self._candidate_times(evidence)
        if not candidates:
            found = ", ".join(f"{n} {reason}" for reason, n in sorted(rejected.items())) or "none clear"
            warnings.append(f"thumbnails: no usable frame (sampled frames: {found})")
            return []
        from raybatch.models.faces import FaceDetector

        faces = FaceDetector()
        folder = join(staging, "thumbnails")
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="raybatch-frames-") as grab_dir:
            paths = [os.path.join(grab_dir, f"frame_{i:02d}.png") for i in range(len(candidates))]
            run = run_command(
                frame_grab_args(source_local, media.video, [c.time_s for c in candidates], paths),
                timeout_s=self.context.command_timeout_s,
                what="thumbnail frame extraction",
            )
            measure.add_run(run)
            frames = {}
            for candidate, path in zip(candidates, paths, strict=True):
                if not os.path.exists(path):
                    continue
                rgb = np.asarray(render.Image.open(path).convert("RGB"))
                # The full-resolution frame is judged again: a sample may hide a flaw.
                candidate.quality = picking.frame_quality(rgb)
                reason = picking.rejection(candidate.quality)
                if reason:
                    rejected[reason] = rejected.get(reason, 0) + 1
                    continue
                boxes = faces.detect(rgb)
                candidate.faces = [list(b) for b in boxes]
                if boxes:
                    left, top, right, bottom = boxes[0]
                    candidate.face_fraction = (right - left) * (bottom - top) / (rgb.shape[0] * rgb.shape[1])
                frames[id(candidate)] = rgb
        extracted = [c for c in candidates if id(c) in frames]
        typical = picking.typical_sharpness([c.quality for c in extracted]) or 0.0
        for candidate in extracted:
            candidate.scores = picking.score(
                candidate.quality, typical, candidate.distance_s, candidate.face_fraction
            )
        usable = sorted(extracted, key=lambda c: -c.score)
        if not usable:
            warnings.append("thumbnails: every extracted frame failed the quality rules")
            return []
        best = usable[0]
        with_face = next((c for c in usable if c.faces), None)
        made = []
        theme = self._theme()
        for strategy in settings["strategies"]:
            chosen = with_face if strategy == "closeup" and with_face else best
            image = render.to_image(frames[id(chosen)])
            centre = _box_centre(chosen.faces[0]) if chosen.faces else None
            used_text = None
            if strategy == "clean":
                picture = render.clean(image, centre)
            elif strategy == "title":
                used_text = text
                picture = render.titled(render.clean(image, centre), text, theme)
            else:
                aspect = render.SIZE[0] / render.SIZE[1]
                if chosen.faces:
                    box = picking.closeup_box(image.width, image.height, tuple(chosen.faces[0]), aspect)
                    focus = "face"
                else:
                    box = picking.salient_box(frames[id(chosen)], aspect)
                    focus = "salient region"
                picture = render.crop_to(image, box)
            picture = render.with_logo(picture, theme)
            data, quality = render.jpeg_bytes(picture)
            name = f"{strategy}.jpg"
            with open(join(folder, name), "wb") as out:
                out.write(data)
            made.append({
                "file": name,
                "strategy": strategy,
                "source_time_s": round(chosen.time_s, 3),
                "edited_time_s": _round(evidence.edl.to_output_times([chosen.time_s])),
                "text": used_text,
                "focus": focus if strategy == "closeup" else None,
                "scores": chosen.scores,
                "quality": chosen.quality.to_dict(),
                "faces": len(chosen.faces),
                "size": list(render.SIZE),
                "bytes": len(data),
                "jpeg_quality": quality,
            })  # fmt: skip
        index = {
            "thumbnails": made,
            "candidates": [
                {"source_time_s": round(c.time_s, 3), "shot": c.shot, "scores": c.scores} for c in usable
            ],
            "rejected_samples": rejected,
            "rules": {"margin_s": picking.TRANSITION_MARGIN_S, "blur_floor": picking.BLUR_FLOOR},
        }
        _write_text(join(folder, "thumbnails.json"), json.dumps(index, indent=2))
        return made

    def _theme(self):
        from raybatch.config.model import ThumbnailTheme

        return ThumbnailTheme(**self.settings["thumbnails"]["theme"])


def _round(values: list[float]) -> float | None:
    return round(values[0], 3) if values else None


def _box_centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _language_code(language: str | None) -> str | None:
    """Whisper answers with a name ("english"); metadata wants a code."""
    if not language:
        return None
    names = {
        "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
        "portuguese": "pt", "dutch": "nl", "japanese": "ja", "chinese": "zh", "korean": "ko",
    }  # fmt: skip
    return names.get(language.lower(), language.lower())


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")


def commit_tree(local_folder: str, target_uri: str, relative: list[str]) -> list[str]:
    """Commit each staged file atomically to ``target_uri``; returns the committed URIs."""
    from raybatch.io.storage import commit_file

    committed = []
    for name in relative:
        target = join(target_uri, name)
        commit_file(join(local_folder, name), target)
        committed.append(target)
    shutil.rmtree(local_folder, ignore_errors=True)
    return committed
