"""``audio``: normalise the video's sound (as ``edit_audio`` left it) to the loudness target
with a true-peak ceiling, checked on the encoded AAC."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator

from raybatch.io.storage import local_copy, local_output, stage_input
from raybatch.media.audio import normalise_audio
from raybatch.media.loudness import audio_stream_hash
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AudioRow, Row


class AudioPassStage(Stage[AudioRow]):
    """Once per video: gain, a limiter where needed, corrected until the AAC is on target."""

    name = "audio"
    handles = AudioRow

    def process(self, row: AudioRow, measure: StageMeasure) -> list[Row]:
        preset = dataclasses.replace(
            self.context.preset_for(row.video), loudness_target_lufs=row.edit.loudness_target_lufs
        )
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
        return [row]

    @contextlib.contextmanager
    def local_sound(self, row: AudioRow) -> Iterator[str]:
        """A local path of the sound: the node's copy of the source, or the work file fetched."""
        if row.sound.uri == row.video.source_uri:
            yield stage_input(row.sound.uri, self.context.scratch)
            return
        with local_copy(row.sound.uri, self.context.scratch) as path:
            yield path
