"""Analysis stages: look at each video (shots and picture, speech and sound), then decide the
edit (EDL), the enhancement and the content type.

The two model stages are stateful (their model loads once per actor); each keeps its model in
its own process. Results are cached by the input's content fingerprint and the settings.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO, ClassVar

import numpy as np

from raybatch.analysis.edl import Edl, build_edl, merge_spans, policy_for
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
    content_cuts,
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
from raybatch.io.storage import (
    exists,
    join,
    local_copy,
    local_output,
    scratch_root,
    stage_input,
    write_bytes_atomic,
    write_json_atomic,
)
from raybatch.media.commands import analysis_audio_args, analysis_video_args, even
from raybatch.media.loudness import parse_loudnorm_json
from raybatch.media.probe import MediaInfo, VideoStream
from raybatch.media.runner import SIDE_PIPE, run_command
from raybatch.package.thumbnails import fade_spans, probability_spans
from raybatch.stages.base import Resources, RunContext, Stage, StageFailure, StageMeasure, WorkItem
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
class PictureSignals:
    """What one low-resolution decode of a video yields: content change and brightness of
    every frame of the constant-rate timeline, and sampled frame statistics."""

    frames: int
    content: np.ndarray
    brightness: np.ndarray
    samples: list[FrameStats]
    run: Any


def scan_picture(
    local: str, video: VideoStream, timeout_s: float | None, frames_out: BinaryIO | None = None
) -> PictureSignals:
    """Decode ``local`` once at low resolution: content change and brightness per frame,
    statistics of sampled frames, and (into ``frames_out``) the 48x27 frames the shot model
    reads later, so the model never needs a decode of its own."""
    fps = Fraction(video.fps)
    stats_every = max(1, round(fps / STATS_PER_SECOND))
    stats_size = _stats_size(video.display_size)
    diffs: list[np.ndarray] = []
    lumas: list[np.ndarray] = []
    samples: list[FrameStats] = []

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
            if frames_out is not None:
                frames_out.write(data[:usable])

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
    content = np.concatenate(diffs) if diffs else np.zeros(0, np.float32)
    return PictureSignals(
        frames=len(content),
        content=content,
        brightness=np.concatenate(lumas) if lumas else np.zeros(0, np.float32),
        samples=samples,
        run=run,
    )


def iter_small_frames(path: str) -> Iterator[np.ndarray]:
    """The 48x27 frames :func:`scan_picture` wrote, in chunks."""
    frame_bytes = SMALL_SIZE[0] * SMALL_SIZE[1] * 3
    with open(path, "rb") as stream:
        while data := stream.read(frame_bytes * CHUNK_FRAMES):
            yield np.frombuffer(data, np.uint8).reshape(-1, SMALL_SIZE[1], SMALL_SIZE[0], 3)


@dataclass
class ShotDetection:
    """TransNetV2's per-frame transition probabilities over a whole video."""

    probabilities: np.ndarray
    windows_run: int
    windows_skipped: int
    model_s: float

    def model_shots(self) -> list[int]:
        """Shot starts from TransNetV2 alone."""
        return boundaries_from_probabilities(self.probabilities)

    def shots(self, content: np.ndarray, brightness: np.ndarray) -> list[int]:
        """Shot starts from TransNetV2 fused with the content signal of the same frames."""
        return fuse_boundaries(self.probabilities, content, brightness)


def detect_shots(model: Any, chunks: Iterable[np.ndarray]) -> ShotDetection:
    """Run the shot model over frames arriving in chunks, window by window (memory bounded by
    one chunk and one window); a window whose picture never changes skips the model."""
    windows = WindowStream()
    predictions: list[np.ndarray] = []
    skipped = 0
    model_s = 0.0

    def run_model(batch: list[np.ndarray]) -> None:
        nonlocal skipped, model_s
        static = [is_static_window(w) for w in batch]
        moving = [w for w, still in zip(batch, static, strict=True) if not still]
        started = time.monotonic()
        outputs = iter(np.concatenate(model.predict_windows(moving)) if moving else [])
        for window, still in zip(batch, static, strict=True):
            if still:
                predictions.append(np.zeros((1, len(window)), np.float32))
                skipped += 1
            else:
                predictions.append(next(outputs)[None])
        model_s += time.monotonic() - started

    for chunk in chunks:
        run_model(windows.push(chunk))
    run_model(windows.finish())
    count = windows.frames_seen
    return ShotDetection(
        probabilities=stitch(predictions, count) if count else np.zeros(0, np.float32),
        windows_run=len(predictions) - skipped,
        windows_skipped=skipped,
        model_s=model_s,
    )


def cached_part(
    context: RunContext, fingerprint: str, part: str, settings: dict[str, Any], compute: Callable[[], dict]
) -> dict[str, Any]:
    """One part of a video's analysis, from the cache when it has it (marked ``cached``)."""
    cache = analysis_cache(context)
    key = cache_key(fingerprint, part, settings)
    result = cache.get(key)
    if result is not None:
        return {**result, "cached": True}
    result = compute()
    cache.put(key, result)
    return result


def is_cached(context: RunContext, fingerprint: str, part: str, settings: dict[str, Any]) -> bool:
    return analysis_cache(context).get(cache_key(fingerprint, part, settings)) is not None


PICTURE_SETTINGS = {
    "small": SMALL_SIZE,
    "stats": STATS_PER_SECOND,
    "fusion": FusionSettings().__dict__,
    "samples": 2,  # per-sample table with colourfulness
}
SHOT_SETTINGS = {
    **PICTURE_SETTINGS,
    "model": "transnetv2",
    "static_gate": STATIC_WINDOW_CHANGE,
    "transitions": 1,
}


def sample_table(samples: list[FrameStats]) -> dict[str, list[float]]:
    """Sampled frame statistics as columns (compact in JSON)."""
    names = ("time_s", "brightness", "contrast", "saturation", "sharpness", "colourfulness")
    return {name: [round(getattr(s, name), 3) for s in samples] for name in names}


def small_frames_uri(context: RunContext, video_key: str) -> str:
    """Where a video's 48x27 frames wait for the shot model (with the work files)."""
    return join(video_work_dir(context.work_root, video_key), "small_frames.rgb24")


def frame_samples_uri(context: RunContext, video_key: str) -> str:
    """Where a video's sampled frame statistics wait for thumbnail selection."""
    return join(video_work_dir(context.work_root, video_key), "frame_samples.json")


def picture_signals_uri(context: RunContext, video_key: str) -> str:
    return join(video_work_dir(context.work_root, video_key), "picture_signals.npz")


class PictureAnalysisStage(Stage):
    """One low-resolution decode per video: content change (hard cuts, seams), picture
    statistics (enhancement), black and frozen stretches; it leaves the 48x27 frames in the
    work folder for the shot model, which runs beside the encoders (the edit never waits for it)."""

    name = "analyse_video"

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        if not self.context.analysis:
            return [item]
        media = MediaInfo.from_dict(json.loads(item.media_json))
        analysis = json.loads(item.analysis_json) if item.analysis_json else {}
        fingerprint = _fingerprint(item, analysis)
        frames_needed = not is_cached(self.context, fingerprint, "shots", SHOT_SETTINGS)
        if frames_needed:
            # The shot model needs the frames: decode even when the signals are cached.
            result = self._analyse(item, media, measure, keep_frames=True)
            analysis_cache(self.context).put(cache_key(fingerprint, "picture", PICTURE_SETTINGS), result)
        else:
            result = cached_part(
                self.context,
                fingerprint,
                "picture",
                PICTURE_SETTINGS,
                lambda: self._analyse(item, media, measure, keep_frames=False),
            )
        analysis["picture"] = result
        item.analysis_json = json.dumps(analysis)
        return [item]

    def _analyse(self, item: WorkItem, media: MediaInfo, measure: StageMeasure, keep_frames: bool) -> dict:
        video = media.video
        scratch = scratch_root(self.context.scratch_dir)
        local = stage_input(item.source_uri, scratch)
        started = time.monotonic()
        if keep_frames:
            frames_uri = small_frames_uri(self.context, item.video_key)
            with local_output(frames_uri, scratch) as frames_path, open(frames_path, "wb") as frames_out:
                signals = scan_picture(local, video, self.context.command_timeout_s, frames_out)
            signals_uri = picture_signals_uri(self.context, item.video_key)
            with local_output(signals_uri, scratch) as signals_path, open(signals_path, "wb") as out:
                np.savez(out, content=signals.content, brightness=signals.brightness)
        else:
            signals = scan_picture(local, video, self.context.command_timeout_s)
        measure.add_run(signals.run)
        measure.frames = signals.frames
        rate = float(Fraction(video.fps))
        brightness = signals.brightness
        luma_change = np.abs(np.diff(brightness, prepend=brightness[:1])) if len(brightness) else brightness
        result = {
            "frames": signals.frames,
            "fps": video.fps,
            "content_cuts": content_cuts(signals.content, brightness, FusionSettings()),
            "black": [[a / rate, b / rate] for a, b in stretches(brightness < BLACK_LUMA, rate, 0.5)],
            "frozen": [[a / rate, b / rate] for a, b in stretches(luma_change < FROZEN_DIFF, rate, 2.0)],
            "statistics": summarise_stats(signals.samples),
            # Every sampled frame's measures: thumbnail candidates are chosen from these.
            "samples": sample_table(signals.samples),
            "timings_s": {"wall": round(time.monotonic() - started, 3)},
        }
        return result


class _ModelStage(Stage):
    """A stateful analysis stage whose model loads once per actor."""

    stateful = True

    def __init__(self, context, resources: Resources | None = None, threads: int = 1):
        super().__init__(context)
        self._resources = resources or Resources(num_cpus=0.25)
        self.threads = threads
        self.model: Any = None

    def resources(self) -> Resources:
        return self._resources


class ShotDetectionStage(_ModelStage):
    """TransNetV2 over the frames the picture analysis left, fused with their content signal.
    Its rows travel beside the segments, so the model runs while the encoders work."""

    name = "detect_shots"
    handles: ClassVar[frozenset[str]] = frozenset({"shots"})

    def setup(self) -> None:
        from raybatch.models.transnet import ShotModel

        self.model = ShotModel(threads=self.threads)

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        facts = json.loads(item.analysis_json) if item.analysis_json else {}
        result = cached_part(
            self.context, facts["fingerprint"], "shots", SHOT_SETTINGS, lambda: self._detect(item, measure)
        )
        item.result_json = json.dumps(result)
        return [item]

    def _detect(self, item: WorkItem, measure: StageMeasure) -> dict[str, Any]:
        started = time.monotonic()
        scratch = scratch_root(self.context.scratch_dir)
        signals_uri = picture_signals_uri(self.context, item.video_key)
        if not exists(signals_uri):
            raise StageFailure(
                f"the frames for shot detection are missing from the work folder ({signals_uri})",
                hint="the analysis cache dropped these shots mid-run: raise --cache-size and run again",
            )
        with local_copy(signals_uri, scratch) as signals_path, np.load(signals_path) as signals:
            content, brightness = signals["content"], signals["brightness"]
        with local_copy(small_frames_uri(self.context, item.video_key), scratch) as frames_path:
            detection = detect_shots(self.model, iter_small_frames(frames_path))
        measure.frames = len(content)
        rate = float(Fraction(json.loads(item.media_json)["video"]["fps"]))
        return {
            "shots": [
                {"frame": f, "time_s": round(f / rate, 3)} for f in detection.shots(content, brightness)
            ],
            "shots_model_only": detection.model_shots(),
            # Where the picture is between shots (dissolves, fades, dips to black): thumbnails
            # never come from there.
            "transitions": [
                [round(a, 3), round(b, 3)]
                for a, b in merge_spans(
                    probability_spans(detection.probabilities, rate) + fade_spans(brightness, rate)
                )
            ],
            "device": self.model.device,
            "model_windows": {"run": detection.windows_run, "skipped_static": detection.windows_skipped},
            "timings_s": {
                "wall": round(time.monotonic() - started, 3),
                "model": round(detection.model_s, 3),
                "model_load": round(self.model.load_s, 3),
            },
        }


class SoundAnalysisStage(_ModelStage):
    """One decode of the sound: Silero VAD speech, level silences, loudness, sound profile."""

    name = "analyse_sound"

    def setup(self) -> None:
        from raybatch.models.vad import SpeechModel

        self.model = SpeechModel(threads=self.threads)

    def settings(self) -> dict[str, Any]:
        # The loudness measured is the input's own: the target does not change it.
        return {"vad_rate": VAD_RATE, "vad": "silero-6"}

    def process(self, item: WorkItem, measure: StageMeasure) -> list[WorkItem]:
        if not self.context.analysis:
            return [item]
        media = MediaInfo.from_dict(json.loads(item.media_json))
        analysis = json.loads(item.analysis_json) if item.analysis_json else {}

        def compute() -> dict[str, Any]:
            local = stage_input(item.source_uri, scratch_root(self.context.scratch_dir))
            return self.analyse(item, media, local, measure)

        analysis["sound"] = cached_part(
            self.context, _fingerprint(item, analysis), "sound", self.settings(), compute
        )
        item.analysis_json = json.dumps(analysis)
        return [item]

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
        # Seams may fall on hard cuts; the model's shots arrive later, beside the encode.
        "cuts": picture.get("content_cuts", []),
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
            "shots": None,  # filled in when the shot model has run (see finish_video)
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
        samples = (analysis.get("picture") or {}).get("samples")
        if samples:
            write_json_atomic(frame_samples_uri(self.context, item.video_key), samples)
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
