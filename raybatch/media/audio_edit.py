"""The sound with the edit applied: decoded on the video's timeline (with voice clean-up),
spliced at the EDL's keep-ranges with crossfades, written as float WAV."""

from __future__ import annotations

import dataclasses
import os
from fractions import Fraction

import numpy as np

from raybatch.config.presets import Preset
from raybatch.media.commands import Filter, delivered_channels, edit_audio_decode_args
from raybatch.media.probe import MediaInfo
from raybatch.media.runner import CommandResult, run_command
from raybatch.media.splice import frames_to_samples, splice, wav_data_offset, write_float_wav

#: Length of the crossfade at every audio join (s): long enough that no join clicks, short
#: enough that nothing of the removed part is heard.
CROSSFADE_S = 0.02


def edited_media(media: MediaInfo, duration_s: float, channels: int, sample_rate: int) -> MediaInfo:
    """The description of an edited WAV: one audio stream from 0 s, as long as the edit."""
    assert media.audio is not None
    audio = dataclasses.replace(
        media.audio, index=0, start_s=0.0, duration_s=duration_s, channels=channels, sample_rate=sample_rate
    )
    return dataclasses.replace(media, duration_s=duration_s, audio=audio)


def edit_sound(
    local: str,
    media: MediaInfo,
    preset: Preset,
    keep: list[tuple[int, int]],
    cleanup: list[Filter],
    output_path: str,
    work_dir: str,
    timeout_s: float,
) -> tuple[MediaInfo, CommandResult]:
    """Write the sound of ``local`` with the EDL's ``keep`` frame ranges (crossfaded joins) and
    the voice ``cleanup`` filters to ``output_path`` (float WAV); returns its description."""
    assert media.audio is not None
    fitted = os.path.join(work_dir, "fitted.wav")
    run = run_command(
        edit_audio_decode_args(local, fitted, media, preset, cleanup),
        timeout_s=timeout_s,
        what="audio decode",
    )
    channels = delivered_channels(media)
    rate = preset.audio_sample_rate
    source = np.memmap(fitted, dtype="<f4", mode="r", offset=wav_data_offset(fitted))
    source = source[: len(source) - len(source) % channels].reshape(-1, channels)
    sample_ranges = frames_to_samples(keep, float(Fraction(media.video.fps)), rate)
    spliced = splice(source, sample_ranges, fade=round(CROSSFADE_S * rate))
    write_float_wav(output_path, spliced, rate)
    del source
    os.remove(fitted)
    return edited_media(media, len(spliced) / rate, channels, rate), run
