"""``audio``: normalise the video's sound (as ``edit_audio`` left it) to the loudness target
with a true-peak ceiling, checked on the encoded AAC."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from typing import Any

from raybatch.config.presets import Preset
from raybatch.io.cache import ContentCache, cache_key
from raybatch.io.storage import commit_file, local_copy, local_output, stage_input
from raybatch.media.audio import normalise_audio
from raybatch.media.loudness import audio_stream_hash
from raybatch.stages.base import Stage, StageMeasure, fingerprint_of
from raybatch.stages.rows import AudioRow, Row


def audio_cache_keys(row: AudioRow, preset: Preset) -> tuple[str, str]:
    """The audio cache's entries for this video's finished sound: the track, and what the
    pass reported about it. They hash the input's content, the edit's keep-ranges and every
    setting the sound depends on."""
    settings: dict[str, Any] = {
        "keep": row.keep,
        "edit": dataclasses.asdict(row.edit),
        "preset": dataclasses.asdict(preset),
    }
    fingerprint = fingerprint_of(row)
    return cache_key(fingerprint, "audio", settings, ".m4a"), cache_key(fingerprint, "audio", settings)


def restore_cached_audio(row: AudioRow, preset: Preset, cache: ContentCache, scratch: str) -> bool:
    """Put the cached finished sound at the row's output and its report on the row; whether
    the cache had both."""
    track_key, report_key = audio_cache_keys(row, preset)
    entry = cache.get(
        report_key, lambda e: None if isinstance(e.get("result"), dict) else "no result", count=False
    )
    if entry is None:
        cache.missed()
        return False
    os.makedirs(scratch, exist_ok=True)
    fetched = os.path.join(scratch, f"cached-audio-{uuid.uuid4().hex}.m4a")
    if not cache.fetch_file(track_key, fetched, lambda path: os.path.getsize(path) > 0):
        return False
    commit_file(fetched, row.output_uri)
    row.result, row.edited, row.voice_cleanup = entry["result"], entry["edited"], entry["voice_cleanup"]
    return True


def audio_preset(row: AudioRow, run_preset: Preset) -> Preset:
    """The preset the video's sound is made with: the run's, at the edit's loudness target."""
    return dataclasses.replace(run_preset, loudness_target_lufs=row.edit.loudness_target_lufs)


class AudioPassStage(Stage[AudioRow]):
    """Once per video: gain, a limiter where needed, corrected until the AAC is on target."""

    name = "audio"
    handles = AudioRow

    def process(self, row: AudioRow, measure: StageMeasure) -> list[Row]:
        if row.result is not None:  # the audio cache had it (``edit_audio`` restored it)
            measure.status = "cached"
            return [row]
        preset = audio_preset(row, self.context.preset_for(row.video))
        cache = self.context.cache("audio", measure)
        track_key, report_key = audio_cache_keys(row, preset)
        sound = row.sound
        with (
            self.local_sound(row) as sound_path,
            local_output(row.output_uri, self.context.scratch) as out_path,
        ):
            outcome = normalise_audio(
                sound_path,
                out_path,
                sound.media,
                preset,
                timeout_s=self.context.command_timeout_s,
                # Analysis's measurement of this very sound, if it made one, saves a decode.
                measured=sound.measured,
                music=row.edit.content_type == "music",
            )
            measure.add_runs(outcome.runs)
            measure.bytes_out = os.path.getsize(out_path)
            # What the last check measured, by identity: verification finds the same packets in
            # the assembled file instead of decoding and measuring them again.
            stream_hash = None
            if outcome.output_loudness is not None:
                stream_hash, run = audio_stream_hash(out_path, self.context.command_timeout_s)
                measure.add_run(run)
            cache.store_file(track_key, out_path)
        row.result = {
            "input_loudness": outcome.input_loudness,
            "output_loudness": outcome.output_loudness,
            "gain_db": outcome.gain_db,
            "limiter_dbtp": outcome.limiter_dbtp,
            "attempts": outcome.attempts,
            "normalised": outcome.normalised,
            "target_reachable": outcome.target_reachable,
            "note": outcome.note,
            "dynamics": outcome.dynamics_report(),
            "target_lufs": preset.loudness_target_lufs,
            "edited": row.edited,
            "voice_cleanup": row.voice_cleanup,
            "stream_hash": stream_hash,
        }
        cache.put(
            report_key, {"result": row.result, "edited": row.edited, "voice_cleanup": row.voice_cleanup}
        )
        return [row]

    @contextlib.contextmanager
    def local_sound(self, row: AudioRow) -> Iterator[str]:
        """A local path of the sound: the node's copy of the source, or the work file fetched."""
        if row.sound.uri == row.video.source_uri:
            yield stage_input(row.sound.uri, self.context.scratch)
            return
        with local_copy(row.sound.uri, self.context.scratch) as path:
            yield path
