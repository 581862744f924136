"""Analysis stages: look at each video (shots and picture, speech and sound), then decide the
edit (EDL), the enhancement and the content type.

The two model stages are stateful (their model loads once per actor); each keeps its model in
its own process. Results are cached by the input's content fingerprint and the settings.
"""

from __future__ import annotations

import abc
import json
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO, ClassVar

import numpy as np

from raybatch.analysis.edl import Edl, build_edl, policy_for
from raybatch.analysis.enhance import derive_enhancement
from raybatch.analysis.otio_export import edl_to_otio
from raybatch.analysis.picture import (
    BLACK_LUMA,
    FROZEN_DIFF,
    FrameStats,
    content_differences,
    frame_stats,
    luma,
    stretches,
    summarise_stats,
)
from raybatch.analysis.shots import (
    STATIC_WINDOW_CHANGE,
    FusionSettings,
    WindowStream,
    boundaries_from_probabilities,
    fuse_boundaries,
    is_static_window,
)
from raybatch.analysis.shots import stitch_predictions as stitch
from raybatch.analysis.sound import (
    detect_content_type,
    level_db,
    silence_threshold_db,
    silent_spans,
    sound_profile,
)
from raybatch.config.presets import resolve_preset
from raybatch.io.cache import AnalysisCache, cache_key, content_fingerprint
from raybatch.io.storage import join, scratch_root, stage_input, write_bytes_atomic, write_json_atomic
from raybatch.media.commands import analysis_audio_args, analysis_video_args, even
from raybatch.media.loudness import parse_loudnorm_json
from raybatch.media.probe import MediaInfo, VideoStream
from raybatch.media.runner import SIDE_PIPE, run_command
from raybatch.stages.base import Resources, Stage, StageMeasure, WorkItem
from raybatch.stages.media_stages import video_work_dir
from raybatch.stages.planning import total_frames

log = logging.getLogger(__name__)

SMALL_SIZE = (48, 27)  # TransNetV2's input
STATS_SHORT_SIDE = 270
STATS_PER_SECOND = 2
CHUNK_FRAMES = 250
VAD_RATE = 16_000


def analysis_cache(context) -> AnalysisCache:
    """The run's analysis cache (in the output unless configured elsewhere)."""
    root = context.cache_dir or join(context.output_root, ".raybatch", "cache", "analysis")
    return AnalysisCache(root, context.cache_max_bytes)


def _stats_size(display: tuple[int, int]) -> tuple[int, int]:
    width, height = display
    if width >= height:
        return even(STATS_SHORT_SIDE * width / height), STATS_SHORT_SIDE
    return STATS_SHORT_SIDE, even(STATS_SHORT_SIDE * height / width)


def _fingerprint(item: WorkItem, analysis: dict[str, Any]) -> str:
    if "fingerprint" not in analysis:
        analysis["fingerprint"] = content_fingerprint(item.source_uri)
    return analysis["fingerprint"]


@dataclass
class PictureScan:
    """What one low-resolution decode of a video yields: per-frame transition probabilities,
    content change and brightness on the constant-rate timeline, and sampled frame statistics."""

    frames: int
    probabilities: np.ndarray
    content: np.ndarray
    brightness: np.ndarray
    samples: list[FrameStats]
    run: Any
    windows_run: int
    windows_skipped: int
    model_s: float

    def model_shots(self) -> list[int]:
        """Shot starts from TransNetV2 alone."""
        return boundaries_from_probabilities(self.probabilities)

    def shots(self, settings: FusionSettings | None = None) -> list[int]:
        """Shot starts from TransNetV2 fused with the content signal."""
        return fuse_boundaries(self.probabilities, self.content, self.brightness, settings)


def scan_picture(local: str, video: VideoStream, model: Any, timeout_s: float | None) -> PictureScan:
    """Decode ``local`` once at low resolution and run the shot model over it as frames
    arrive (memory bounded by one chunk and one window), with picture statistics on the side."""
    fps = Fraction(video.fps)
    stats_every = max(1, round(fps / STATS_PER_SECOND))
    stats_size = _stats_size(video.display_size)
    windows = WindowStream()
    predictions: list[np.ndarray] = []
    diffs: list[np.ndarray] = []
    lumas: list[np.ndarray] = []
    samples: list[FrameStats] = []
    model_s = [0.0]
    skipped = [0]

    def run_model(batch: list[np.ndarray]) -> None:
        # A window whose picture never changes holds no transition: skip the model there.
        static = [is_static_window(w) for w in batch]
        moving = [w for w, still in zip(batch, static, strict=True) if not still]
        started = time.monotonic()
        outputs = iter(np.concatenate(model.predict_windows(moving)) if moving else [])
        for window, still in zip(batch, static, strict=True):
            if still:
                predictions.append(np.zeros((1, len(window)), np.float32))
                skipped[0] += 1
            else:
                predictions.append(next(outputs)[None])
        model_s[0] += time.monotonic() - started

    def read_small(stream: BinaryIO) -> None:
        frame_bytes = SMALL_SIZE[0] * SMALL_SIZE[1] * 3
        previous = None
        while True:
            data = stream.read(frame_bytes * CHUNK_FRAMES)
            usable = len(data) - len(data) % frame_bytes
            if usable == 0:
                break
            frames = np.frombuffer(data[:usable], np.uint8).reshape(-1, SMALL_SIZE[1], SMALL_SIZE[0], 3)
            diffs.append(content_differences(frames, previous))
            lumas.append(luma(frames).mean(axis=(1, 2)))
            previous = frames[-1]
            run_model(windows.push(frames))

    def read_stats(stream: BinaryIO) -> None:
        width, height = stats_size
        frame_bytes = width * height * 3
        index = 0
        while True:
            data = stream.read(frame_bytes)
            if len(data) < frame_bytes:
                break
            frame = np.frombuffer(data, np.uint8).reshape(height, width, 3)
            samples.append(frame_stats(frame, float(index * stats_every / fps)))
            index += 1

    run = run_command(
        analysis_video_args(
            local,
            video,
            small_size=SMALL_SIZE,
            stats_size=stats_size,
            stats_every=stats_every,
            stats_pipe=SIDE_PIPE.format(0),
        ),
        timeout_s=timeout_s,
        stdout_consumer=read_small,
        side_consumers=(read_stats,),
        what="analysis decode",
    )
    run_model(windows.finish())
    count = windows.frames_seen
    return PictureScan(
        frames=count,
        probabilities=stitch(predictions, count) if count else np.zeros(0, np.float32),
        content=np.concatenate(diffs) if diffs else np.zeros(0, np.float32),
        brightness=np.concatenate(lumas) if lumas else np.zeros(0, np.float32),
        samples=samples,
        run=run,
        windows_run=len(predictions) - skipped[0],
        windows_skipped=skipped[0],
        model_s=model_s[0],
    )


class _ModelStage(Stage, abc.ABC):
    """A stateful analysis stage whose model loads once per actor."""

    stateful = True
    part: ClassVar[str] = ""

    def __init__(self, context, resources: Resources | None = None, threads: int = 1):
        super().__init__(context)
        self._resources = resources or Resources(num_cpus=0.25)
        self.threads = threads
        self.model: Any = None

    def resources(self) -> Resources:
        return self._resources

    def settings(self) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def analyse(self, item: WorkItem, media: MediaInfo, local: str, measure: StageMeasure) -> dict[str, Any]:
        """This stage's part of the analysis of one video (a JSON-able dict)."""

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        if not self.context.analysis:
            return [item]
        media = MediaInfo.from_dict(json.loads(item.media_json))
        analysis = json.loads(item.analysis_json) if item.analysis_json else {}
        cache = analysis_cache(self.context)
        key = cache_key(_fingerprint(item, analysis), self.part, self.settings())
        result = cache.get(key)
        if result is None:
            local = stage_input(item.source_uri, scratch_root(self.context.scratch_dir))
            result = self.analyse(item, media, local, measure)
            cache.put(key, result)
        else:
            result = {**result, "cached": True}
        analysis[self.part] = result
        item.analysis_json = json.dumps(analysis)
        return [item]


class ShotAnalysisStage(_ModelStage):
    """One low-resolution decode: TransNetV2 plus content change (shots), picture statistics,
    black and frozen stretches."""

    name = "analyse_video"
    part = "picture"

    def setup(self) -> None:
        from raybatch.models.transnet import ShotModel

        self.model = ShotModel(threads=self.threads)

    def settings(self) -> dict[str, Any]:
        return {
            "small": SMALL_SIZE,
            "stats": STATS_PER_SECOND,
            "fusion": FusionSettings().__dict__,
            "static_gate": STATIC_WINDOW_CHANGE,
        }

    def analyse(self, item: WorkItem, media: MediaInfo, local: str, measure: StageMeasure) -> dict[str, Any]:
        video = media.video
        started = time.monotonic()
        scan = scan_picture(local, video, self.model, self.context.command_timeout_s)
        measure.add_run(scan.run)
        measure.frames = scan.frames
        rate = float(Fraction(video.fps))
        brightness = scan.brightness
        luma_change = np.abs(np.diff(brightness, prepend=brightness[:1])) if len(brightness) else brightness
        return {
            "frames": scan.frames,
            "fps": video.fps,
            "shots": [{"frame": f, "time_s": round(f / rate, 3)} for f in scan.shots()],
            "shots_model_only": scan.model_shots(),
            "black": [[a / rate, b / rate] for a, b in stretches(brightness < BLACK_LUMA, rate, 0.5)],
            "frozen": [[a / rate, b / rate] for a, b in stretches(luma_change < FROZEN_DIFF, rate, 2.0)],
            "statistics": summarise_stats(scan.samples),
            "device": self.model.device,
            "model_windows": {"run": scan.windows_run, "skipped_static": scan.windows_skipped},
            "timings_s": {
                "wall": round(time.monotonic() - started, 3),
                "model": round(scan.model_s, 3),
                "model_load": round(self.model.load_s, 3),
            },
        }


class SoundAnalysisStage(_ModelStage):
    """One decode of the sound: Silero VAD speech, level silences, loudness, sound profile."""

    name = "analyse_sound"
    part = "sound"

    def setup(self) -> None:
        from raybatch.models.vad import SpeechModel

        self.model = SpeechModel(threads=self.threads)

    def settings(self) -> dict[str, Any]:
        # The loudness measured is the input's own: the target does not change it.
        return {"vad_rate": VAD_RATE, "vad": "silero-6"}

    def analyse(self, item: WorkItem, media: MediaInfo, local: str, measure: StageMeasure) -> dict[str, Any]:
        if media.audio is None:
            return {"has_audio": False, "speech": [], "silences": [], "loudness": None, "profile": None}
        chunks: list[bytes] = []

        def read_samples(stream: BinaryIO) -> None:
            while data := stream.read(1 << 20):
                chunks.append(data)

        started = time.monotonic()
        run = run_command(
            analysis_audio_args(local, media, self.context.preset_obj(), VAD_RATE),
            timeout_s=self.context.command_timeout_s,
            stdout_consumer=read_samples,
            what="sound analysis decode",
        )
        measure.add_run(run)
        raw = b"".join(chunks)
        samples = np.frombuffer(raw[: len(raw) - len(raw) % 4], np.float32)
        loudness = parse_loudnorm_json(run.stderr)
        model_started = time.monotonic()
        speech = self.model.speech(samples)
        model_s = time.monotonic() - model_started
        levels = level_db(samples, VAD_RATE)
        threshold = silence_threshold_db(loudness.get("input_i"))
        silences = silent_spans(levels, threshold, min_s=0.5)
        duration = len(samples) / VAD_RATE
        return {
            "has_audio": True,
            "speech": [[round(a, 3), round(b, 3)] for a, b in speech],
            "silences": [list(s) for s in silences],
            "silence_threshold_db": threshold,
            "loudnorm": loudness,  # ffmpeg's own first-pass numbers, reused by the audio pass
            "loudness": {
                "integrated_lufs": loudness.get("input_i"),
                "true_peak_dbtp": loudness.get("input_tp"),
                "lra_lu": loudness.get("input_lra"),
            },
            "profile": sound_profile(levels, threshold, speech, duration),
            "device": self.model.device,
            "timings_s": {
                "wall": round(time.monotonic() - started, 3),
                "model": round(model_s, 3),
                "model_load": round(self.model.load_s, 3),
            },
        }


def decide(item: WorkItem, media: MediaInfo, context) -> dict[str, Any]:
    """Content type, EDL and enhancement for one analysed video: plain data for the rows."""
    analysis = json.loads(item.analysis_json) if item.analysis_json else {}
    picture = analysis.get("picture") or {}
    sound = analysis.get("sound") or {}
    configured = context.preset["content_type"]
    content_type, type_reason = configured, "set in the configuration"
    if context.auto_detect_type and context.analysis:
        if sound.get("profile"):
            content_type, type_reason = detect_content_type(sound["profile"])
        else:
            content_type, type_reason = "general", "no audio to tell speech from music"
    preset = resolve_preset(context.preset["quality"], context.preset["mode"], content_type)
    fps = media.video.fps
    frames = total_frames(media.duration_s, fps)
    speech = [tuple(s) for s in sound.get("speech", [])]
    silences = [tuple(s) for s in sound.get("silences", [])]
    if context.analysis:
        policy = policy_for(content_type, context.preset["mode"], margin_s=context.speech_margin_s)
        edl = build_edl(media.duration_s, fps, frames, speech, silences, policy)
        strength = {"fast": 0.6, "balanced": 1.0, "high_quality": 1.2}[context.preset["mode"]]
        enhancement = derive_enhancement(
            picture.get("statistics") or {}, content_type, preset_strength=strength
        )
    else:
        edl = Edl(
            fps=fps, source_frames=frames, keep=[(0, frames)], decision="analysis disabled: nothing is cut"
        )
        enhancement = None
    return {
        "fingerprint": analysis.get("fingerprint"),
        "shots": picture.get("shots", []),
        "source_loudnorm": sound.get("loudnorm"),
        "content_type": content_type,
        "content_type_reason": type_reason,
        # An explicit target in the configuration wins; otherwise the (detected) type's own.
        "loudness_target_lufs": context.preset["loudness_target_lufs"]
        if content_type == configured
        else preset.loudness_target_lufs,
        "edl": edl.to_dict(),
        "enhancement": enhancement.to_dict() if enhancement else None,
    }


class DecideEditStage(Stage):
    """Turn the analysis into decisions and write ``analysis.json``, ``edl.json`` and
    ``edl.otio`` into the video's work folder (committed with the video when it verifies)."""

    name = "decide"

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        media = MediaInfo.from_dict(json.loads(item.media_json))
        decision = decide(item, media, self.context)
        analysis = json.loads(item.analysis_json) if item.analysis_json else {}
        work = video_work_dir(self.context.work_root, item.video_key)
        document = {
            "source": item.source_uri,
            "fingerprint": analysis.get("fingerprint"),
            "duration_s": media.duration_s,
            "fps": media.video.fps,
            "content_type": {"value": decision["content_type"], "reason": decision["content_type_reason"]},
            "shots": (analysis.get("picture") or {}).get("shots", []),
            "speech": (analysis.get("sound") or {}).get("speech", []),
            "silences": (analysis.get("sound") or {}).get("silences", []),
            "loudness": (analysis.get("sound") or {}).get("loudness"),
            "sound_profile": (analysis.get("sound") or {}).get("profile"),
            "picture": {k: (analysis.get("picture") or {}).get(k) for k in ("statistics", "black", "frozen")},
            "enhancement": decision["enhancement"],
            "edit": {k: decision["edl"][k] for k in ("decision", "kept_duration_s", "removed_duration_s")},
            "models": {
                part: {
                    "device": (analysis.get(part) or {}).get("device"),
                    "timings_s": (analysis.get(part) or {}).get("timings_s"),
                    "cached": bool((analysis.get(part) or {}).get("cached")),
                }
                for part in ("picture", "sound")
            },
        }
        write_json_atomic(join(work, "metadata", "analysis.json"), document)
        write_json_atomic(join(work, "metadata", "edl.json"), {"source": item.source_uri, **decision["edl"]})
        edl = Edl.from_dict(decision["edl"])
        write_bytes_atomic(
            join(work, "metadata", "edl.otio"),
            edl_to_otio(
                edl, item.source_uri, name=item.video_key, has_audio=media.audio is not None
            ).encode(),
        )
        item.analysis_json = json.dumps(decision)
        return [item]
