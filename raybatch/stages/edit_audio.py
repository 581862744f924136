"""``edit_audio``: the video's sound with the edit applied (crossfaded joins at the EDL's cuts)
and the voice clean-up the enhancement chose, as a float WAV in the work folder. The audio pass
then normalises that file instead of the source; a video whose sound needs neither keeps the
source, and with it the loudness analysis already measured."""

from __future__ import annotations

import tempfile

from raybatch.analysis.segments import total_frames
from raybatch.io.storage import local_output, stage_input
from raybatch.media.audio_edit import edit_sound
from raybatch.media.commands import voice_cleanup_filters
from raybatch.stages.audio import audio_preset, restore_cached_audio
from raybatch.stages.base import Stage, StageMeasure
from raybatch.stages.rows import AudioRow, Row, SoundRef


class EditAudioStage(Stage[AudioRow]):
    """Splice the EDL's keep-ranges and clean up the voice, once per video."""

    name = "edit_audio"
    handles = AudioRow

    def process(self, row: AudioRow, measure: StageMeasure) -> list[Row]:
        preset = audio_preset(row, self.context.preset_for(row.video))
        if restore_cached_audio(row, preset, self.context.cache("audio", measure), self.context.scratch):
            measure.status = "cached"  # the finished sound: the audio pass has nothing to do
            return [row]
        media = row.media
        enhancement = row.edit.enhancement or {}
        cleanup = voice_cleanup_filters(
            enhancement.get("voice_highpass_hz", 0), enhancement.get("voice_denoise", False)
        )
        everything = [(0, total_frames(media.duration_s, media.video.fps))]
        cut = bool(row.keep) and row.keep != everything
        if not (cut or cleanup):
            return [row]
        scratch, uri = self.context.scratch, self.context.layout.edited_sound(row.video.key)
        local = stage_input(row.video.source_uri, scratch)
        with local_output(uri, scratch) as out_path, tempfile.TemporaryDirectory(dir=scratch) as work:
            edited, run = edit_sound(
                local,
                media,
                preset,
                row.keep or everything,
                cleanup,
                out_path,
                work,
                self.context.command_timeout_s,
            )
        measure.add_run(run)
        # A changed sound: what analysis measured no longer describes it.
        row.sound = SoundRef(uri, edited, measured=None)
        row.edited, row.voice_cleanup = cut, [f.name for f in cleanup]
        return [row]
