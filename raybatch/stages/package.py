"""``package``: a verified video's transcript and captions, chapters, metadata (an LLM or the
offline writer) and thumbnails from its best real frames.

It runs once the output has verified, so chapters and captions sit on the real output's
timeline and the writer's title can go on a thumbnail. The files wait in the video's work folder
until ``publish`` commits them with the video.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import replace
from typing import Any

import numpy as np

from raybatch.io.cache import cache_key
from raybatch.io.storage import commit_file, exists, join, json_text, local_copy, read_json, stage_input
from raybatch.jobs.batched_metadata import PENDING
from raybatch.llm.batching import PendingRequest
from raybatch.llm.budget import Spending, find_ledger
from raybatch.llm.client import (
    BudgetExceeded,
    Caller,
    LlmUnavailable,
    chat_endpoint,
    similar_requests,
    transcription_endpoint,
)
from raybatch.media.commands import frame_grab_args, speech_audio_args
from raybatch.media.runner import run_command
from raybatch.package import captions, render
from raybatch.package import chapters as chapter_rules
from raybatch.package import thumbnails as picking
from raybatch.package.candidates import candidates_from_samples
from raybatch.package.evidence import Evidence
from raybatch.package.metadata import (
    chapter_boundaries,
    language_code,
    metadata_document,
    video_facts,
)
from raybatch.package.thumbnail_set import (
    Frame,
    Made,
    rank_frames,
    render_thumbnails,
    still_thumbnail,
    thumbnail_index,
)
from raybatch.package.writers import LlmWriter, MetadataDraft, OfflineWriter, VideoFacts, numbered_title
from raybatch.series.links import episode_text
from raybatch.stages.base import Stage, StageMeasure, fingerprint_of
from raybatch.stages.embed_text import EPISODE_TEXT, EmbedTextStage
from raybatch.stages.rows import AssemblyRow, Row

#: Length of one transcription upload (s).
TRANSCRIBE_PIECE_S = 1200.0


class PackageStage(Stage[AssemblyRow]):
    """Transcript, chapters, metadata and thumbnails for one verified video."""

    name = "package"
    handles = AssemblyRow

    def process(self, row: AssemblyRow, measure: StageMeasure) -> list[Row]:
        evidence = self.evidence(row)
        target = self.context.layout.package_dir(row.video.key)
        with (
            tempfile.TemporaryDirectory(prefix="raybatch-package-", dir=self.context.scratch) as staging,
            local_copy(row.assembled_uri, self.context.scratch) as output_local,
        ):
            made = self.package(row, evidence, output_local, staging, measure)
            for name in made["files"]:
                commit_file(join(staging, name), join(target, name))
        row.package = made
        return [row]

    def evidence(self, row: AssemblyRow) -> Evidence:
        """What the analysis left in the video's work folder, and the shot model's result."""
        layout, key = self.context.layout, row.video.key
        analysis_uri, samples_uri = layout.work_metadata(key, "analysis.json"), layout.frame_samples(key)
        return Evidence.from_documents(
            analysis=read_json(analysis_uri) if exists(analysis_uri) else None,
            edl=read_json(layout.work_metadata(key, "edl.json")),
            samples=read_json(samples_uri) if exists(samples_uri) else None,
            shots=row.shots,
            duration_s=row.media.duration_s,
            content_type=row.edit.content_type,
            loudness_lufs=row.edit.loudness_target_lufs,
        )

    def package(
        self, row: AssemblyRow, evidence: Evidence, output_local: str, staging: str, measure: StageMeasure
    ) -> dict[str, Any]:
        """Write ``metadata/`` and ``thumbnails/`` files under ``staging``; returns what was made
        (files relative to the video's folder, title, writer, usage, warnings)."""
        ledger = find_ledger(self.context.job_id)
        warnings: list[str] = []
        duration = (row.verified or {}).get("video_duration_s") or row.edit.kept_duration_s or 0.0
        transcript, transcript_usage = None, None
        if not (self.settings.metadata.llm.optimize_requests and evidence.speech_s == 0):
            # (Optimised requests: a video the speech model heard no speech in is not sent.)
            transcript, transcript_usage = self.transcribe(output_local, duration, ledger, warnings, measure)
        boundaries = chapter_boundaries(evidence, transcript)
        transitions = evidence.edl.to_output_spans(evidence.transitions_s)
        chapters = chapter_rules.plan_chapters(duration, boundaries, transitions=transitions)
        metadata, series = self.settings.metadata, self.context.series
        # One metadata strategy for the series: its name, numbers and keywords in every episode's.
        series = series if self.settings.coordination.unified_metadata_strategy else None
        episode = series.episode_of(row.video.key) if series else None
        facts = video_facts(
            evidence,
            relative_path=row.video.relative_path,
            duration_s=duration,
            resolution=row.media.video.display_size,
            chapters=chapters,
            transcript=transcript,
            language=metadata.language,
            keywords=[*metadata.keywords, *(metadata.series_keywords if series else [])],
        )
        if series and episode:  # the series' name and number win over what the file name says
            facts = replace(facts, series=series.name, episode=episode.number)
        draft, writer, chat_usage, pending = self.write_text(facts, ledger, warnings, row.video.key)
        if series and episode:  # every title of a series carries its number
            title = numbered_title(draft.title, series.name, episode.number)
            draft = draft.model_copy(update={"title": title})
        usage = Spending.total([chat_usage, transcript_usage])
        document = metadata_document(facts, draft, chapters, boundaries, writer=writer, usage=usage)
        files = [_write_text(staging, "metadata/metadata.json", json_text(document))]
        if transcript and transcript.get("segments"):
            segments = transcript["segments"]
            files.append(_write_text(staging, "metadata/captions.srt", captions.to_srt(segments, duration)))
            files.append(_write_text(staging, "metadata/captions.vtt", captions.to_vtt(segments, duration)))
        thumbnails = []
        if self.settings.thumbnails.enabled:
            thumbnails = self.thumbnails(row, evidence, draft.thumbnail_text, staging, measure, warnings)
            files += [f"thumbnails/{name}" for name in thumbnails] + (
                ["thumbnails/thumbnails.json"] if thumbnails else []
            )
        made = {
            "files": files,
            "title": draft.title,
            "chapters": len(chapters),
            "thumbnails": thumbnails,
            "writer": writer,
            "usage": usage,
            "warnings": warnings,
        }
        if pending is not None:
            made[PENDING] = pending
        if EmbedTextStage.enabled(self.settings) and self.context.series is not None:
            made[EPISODE_TEXT] = (episode_text(document, facts.transcript), bool(facts.transcript))
        return made

    # -- transcript and text ----------------------------------------------------------------------

    def transcribe(
        self, output_local: str, duration_s: float, ledger: Any, warnings: list[str], measure: StageMeasure
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The kept speech transcribed (on the edited timeline), and what that used."""
        endpoint = transcription_endpoint(self.settings.metadata.model_dump(), ledger)
        if endpoint is None or not duration_s:
            return None, None
        caller = Caller(endpoint, ledger)
        segments, texts, language = [], [], None
        with tempfile.TemporaryDirectory(prefix="raybatch-speech-") as folder:
            try:
                for index in range(max(1, math.ceil(duration_s / TRANSCRIBE_PIECE_S))):
                    start = index * TRANSCRIBE_PIECE_S
                    length = min(TRANSCRIBE_PIECE_S, duration_s - start)
                    path = os.path.join(folder, f"speech_{index:03d}.mp3")
                    args = speech_audio_args(output_local, path, start, length)
                    measure.add_run(run_command(args, what="speech extraction"))
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
            "language": language_code(language),
        }
        return transcript, caller.usage()

    def write_text(
        self, facts: VideoFacts, ledger: Any, warnings: list[str], video_key: str
    ) -> tuple[MetadataDraft, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
        """Title, description, tags and chapter titles: from the LLM when one is configured and
        answers within the budget, else from the offline writer (the warning says why). With
        ``--batch-api-calls`` a request no cache answers is kept (the last value) for the run's
        end, and the offline text goes out meanwhile."""
        settings = self.settings.metadata
        endpoint = chat_endpoint(settings.model_dump(), ledger) if settings.writer != "offline" else None
        info: dict[str, Any] = {"kind": "offline"}
        if settings.writer == "llm" and endpoint is None:
            warnings.append(
                f"metadata: writer is 'llm' but ${settings.llm.api_key_env} is not set; "
                "wrote offline metadata"
            )
            info["fallback_reason"] = "no API key"
        if endpoint is None:
            return OfflineWriter().write(facts), info, None, None
        caller = Caller(endpoint, ledger, similar=similar_requests(endpoint, settings.llm))
        writer = LlmWriter(caller, optimized=settings.llm.optimize_requests)
        try:
            if settings.llm.batch_api_calls:
                purpose, messages, schema, cap = writer.request(facts)
                known = caller.known_answer(purpose, messages, schema, cap, content=facts.transcript)
                if known is None:
                    pending = PendingRequest(video_key, messages, cap, facts.transcript).to_dict()
                    info = {"kind": "offline", "pending": "batch"}
                    return OfflineWriter().write(facts), info, None, pending
                draft = writer.finish(known, facts)
            else:
                draft = writer.write(facts)
            record = caller.records[-1]
            info = {"kind": "llm", "model": endpoint.model, "cached": record.cached}
            if record.similar:
                info["similar"] = record.similarity
            return draft, info, caller.usage(), None
        except BudgetExceeded as exc:
            warnings.append(f"metadata: --budget reached ({exc}); wrote offline metadata")
            info["fallback_reason"] = "budget"
        except LlmUnavailable as exc:
            warnings.append(f"metadata: the LLM gave no usable answer ({exc}); wrote offline metadata")
            info["fallback_reason"] = str(exc)
        return OfflineWriter().write(facts), info, caller.usage(), None

    # -- thumbnails -------------------------------------------------------------------------------

    def thumbnails(
        self,
        row: AssemblyRow,
        evidence: Evidence,
        text: str,
        staging: str,
        measure: StageMeasure,
        warnings: list[str],
    ) -> list[str]:
        """Render the configured strategies from the best real frames (a still picture's title
        on its one frame, or on a card); returns the file names."""
        settings = self.settings.thumbnails
        candidates, rejected = candidates_from_samples(evidence, settings.candidates)
        ranked: list[Frame] = []
        if candidates:
            from raybatch.models.faces import FaceDetector  # OpenCV loads only when needed

            frames = self.extract(row, candidates, measure)
            ranked = rank_frames(frames, FaceDetector().detect, rejected)
        defer = self.context.series is not None and self.settings.series_branding
        if ranked:
            made = render_thumbnails(
                ranked, settings.strategies, text, settings.theme, evidence.edl, defer_title=defer
            )
        else:
            made = [self.still_title(row, evidence, text, rejected, measure, warnings, defer)]
        os.makedirs(join(staging, "thumbnails"), exist_ok=True)
        names = []
        for name, data, _ in made:
            if name and data:
                with open(join(staging, "thumbnails", name), "wb") as out:
                    out.write(data)
                names.append(name)
        index = thumbnail_index([entry for _, _, entry in made], ranked, rejected)
        _write_text(staging, "thumbnails/thumbnails.json", json_text(index))
        return names

    def still_title(
        self,
        row: AssemblyRow,
        evidence: Evidence,
        text: str,
        rejected: dict[str, int],
        measure: StageMeasure,
        warnings: list[str],
        defer: bool,
    ) -> Made:
        """No frame passed the rules: the title on the video's still picture, or on a card."""
        found = ", ".join(f"{n} {reason}" for reason, n in sorted(rejected.items())) or "none sampled"
        time_s = picking.still_time(evidence.samples, evidence.keep_s)
        still = (
            picking.Candidate(time_s, 0, picking.FrameQuality(0, 0, 0, 0, 0), 0.0)
            if time_s is not None
            else None
        )
        frames = self.extract(row, [still], measure) if still else []
        frame = (
            frames[0]
            if frames and picking.frame_quality(frames[0][1]).brightness >= picking.BLACK_LUMA
            else None
        )
        if frame:
            reason = f"no frame passed the quality rules ({found}): the title is set on the still picture"
        else:
            reason = f"no usable picture ({found}): the title is set on a plain card"
        warnings.append(f"thumbnails: {reason}")
        return still_thumbnail(frame, text, self.settings.thumbnails.theme, reason, defer=defer)

    def extract(self, row: AssemblyRow, candidates: list, measure: StageMeasure) -> list[Frame]:
        """The candidates' frames from the source at full display resolution (one ffmpeg
        process, one accurate seek per frame), each kept in the thumbnail cache."""
        cache = self.context.cache("thumbnails", measure)
        fingerprint = fingerprint_of(row)
        keys = [cache_key(fingerprint, "frame", {"t": round(c.time_s, 3)}, ".png") for c in candidates]
        with tempfile.TemporaryDirectory(prefix="raybatch-frames-") as grab_dir:
            paths = [os.path.join(grab_dir, f"frame_{i:02d}.png") for i in range(len(candidates))]
            missing = [i for i, key in enumerate(keys) if not cache.fetch_file(key, paths[i], _is_image)]
            if missing:
                source = stage_input(row.video.source_uri, self.context.scratch)
                times, targets = [candidates[i].time_s for i in missing], [paths[i] for i in missing]
                run = run_command(
                    frame_grab_args(source, row.media.video, times, targets),
                    timeout_s=self.context.command_timeout_s,
                    what="thumbnail frame extraction",
                )
                measure.add_run(run)
                for i in missing:
                    if os.path.exists(paths[i]):
                        cache.store_file(keys[i], paths[i])
            return [
                (candidate, np.asarray(render.Image.open(path).convert("RGB")))
                for candidate, path in zip(candidates, paths, strict=True)
                if os.path.exists(path)
            ]


def _is_image(path: str) -> bool:
    """Whether ``path`` opens as a picture (a cached frame anyone may have edited)."""
    try:
        with render.Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def _write_text(staging: str, relative: str, text: str) -> str:
    """Write a text file under ``staging``; returns its relative name."""
    path = join(staging, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")
    return relative
