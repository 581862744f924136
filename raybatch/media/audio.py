"""Loudness normalisation to a target with a true-peak ceiling, checked on the encoded result.

ffmpeg's two-pass loudnorm falls back to dynamic compression whenever linear gain would clip, and
then misses its target by up to a decibel on short clips; AAC coding also adds inter-sample peaks.
So raybatch measures, applies gain (plus a 4x-oversampled limiter when peaks would pass the
ceiling), measures the encoded AAC, and corrects the gain until the delivered file is on target.

Audio whose loudness lives in a few transients over near-silence cannot reach a streaming target
without crushing it; raybatch caps the limiting depth and reports such audio as a warning with the
numbers instead of destroying it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raybatch.config.presets import Preset
from raybatch.media.commands import audio_encode_args, audio_measure_args, loudness_measure_args
from raybatch.media.loudness import NEAR_SILENCE_LUFS, is_silent, parse_loudnorm_json
from raybatch.media.probe import MediaInfo
from raybatch.media.runner import CommandResult, run_command

#: How close to the target the delivered loudness should land before correcting stops (LU).
LOUDNESS_TOLERANCE_LU = 0.2
#: The verification gate's tolerance (LU).
LOUDNESS_GATE_LU = 0.5
#: Headroom under the true-peak ceiling that the limiter keeps for AAC's overshoot (dB).
LIMITER_HEADROOM_DB = 1.0
#: The most gain-over-ceiling the limiter may absorb before audio is judged not normalisable.
MAX_LIMITING_DB = 12.0
MAX_ATTEMPTS = 5


@dataclass
class AudioOutcome:
    """What the audio pass measured and did."""

    input_loudness: dict[str, float]
    output_loudness: dict[str, float] | None
    gain_db: float
    limiter_dbtp: float | None
    attempts: int
    normalised: bool
    target_reachable: bool = True
    note: str = ""
    runs: list[CommandResult] = field(default_factory=list)


def next_gain(gain_db: float, measured_lufs: float, target_lufs: float, slope: float = 1.0) -> float:
    """Correct the gain by the remaining error. Loudness rises 1:1 with gain until a limiter
    engages, then more slowly: ``slope`` is the observed rise per dB of gain."""
    return gain_db + (target_lufs - measured_lufs) / min(1.0, max(0.15, slope))


def limiter_ceiling(input_true_peak: float, gain_db: float, ceiling_dbtp: float) -> float | None:
    """The limiter's ceiling when gain would push true peaks past the delivery ceiling (with
    headroom for AAC's overshoot), else ``None``: linear gain alone is exact."""
    limit = ceiling_dbtp - LIMITER_HEADROOM_DB
    return limit if input_true_peak + gain_db > limit else None


def normalise_audio(
    input_path: str,
    output_path: str,
    media: MediaInfo,
    preset: Preset,
    *,
    timeout_s: float,
    measured: dict[str, float] | None = None,
) -> AudioOutcome:
    """Produce ``output_path`` (AAC in MP4) on the video's timeline at the preset's loudness.

    ``measured`` is the first-pass measurement when analysis already made it on the same
    fitted audio (saving a full decode); otherwise it is measured here."""
    job = _Normalisation(input_path, output_path, media, preset, timeout_s)
    if measured is None:
        measured = parse_loudnorm_json(
            job.run(audio_measure_args(input_path, media, preset), "loudness measurement").stderr
        )
    if is_silent(measured):
        return job.keep_as_is(measured)
    return job.converge(measured)


class _Normalisation:
    """One audio track brought to its target: encodes and measurements, corrected in turn."""

    def __init__(self, input_path: str, output_path: str, media: MediaInfo, preset: Preset, timeout_s: float):
        self.input_path, self.output_path, self.media, self.preset = input_path, output_path, media, preset
        self.timeout_s = timeout_s
        self.runs: list[CommandResult] = []

    def run(self, args: list[str], what: str) -> CommandResult:
        result = run_command(args, timeout_s=self.timeout_s, what=what)
        self.runs.append(result)
        return result

    def encode(self, gain_db: float, limiter_dbtp: float | None) -> dict[str, float]:
        """Encode with this gain and limiter; the encoded AAC's loudness."""
        args = audio_encode_args(
            self.input_path,
            self.output_path,
            self.media,
            self.preset,
            gain_db=gain_db,
            limiter_dbtp=limiter_dbtp,
        )
        self.run(args, "audio encode")
        return parse_loudnorm_json(
            self.run(loudness_measure_args(self.output_path, self.preset), "loudness check").stderr
        )

    def keep_as_is(self, measured: dict[str, float]) -> AudioOutcome:
        """Silence or room tone: encoded untouched, with a note."""
        args = audio_encode_args(
            self.input_path, self.output_path, self.media, self.preset, gain_db=0.0, limiter_dbtp=None
        )
        self.run(args, "audio encode")
        note = (
            f"near-silent audio ({measured['input_i']:.1f} LUFS, below {NEAR_SILENCE_LUFS:g} LUFS: "
            "silence or room tone): kept as is, no loudness target applied"
        )
        return AudioOutcome(measured, None, 0.0, None, 1, normalised=False, note=note, runs=self.runs)

    def converge(self, measured: dict[str, float]) -> AudioOutcome:
        """Gain (and a limiter where peaks would pass the ceiling), corrected by what the encoded
        AAC measures until it is within tolerance or the limiting would go too deep."""
        target, ceiling = self.preset.loudness_target_lufs, self.preset.true_peak_dbtp
        max_gain = ceiling - LIMITER_HEADROOM_DB + MAX_LIMITING_DB - measured["input_tp"]
        gain = min(target - measured["input_i"], max_gain)
        extra_ceiling_cut, previous, output, limiter = 0.0, None, {}, None
        attempts = 0
        while attempts < MAX_ATTEMPTS:
            attempts += 1
            limiter = limiter_ceiling(measured["input_tp"], gain, ceiling)
            if limiter is not None:
                limiter -= extra_ceiling_cut
            output = self.encode(gain, limiter)
            error = target - output["input_i"]
            if output["input_tp"] > ceiling:
                # The codec overshot the limiter's headroom: clamp harder and try again.
                extra_ceiling_cut += output["input_tp"] - ceiling + 0.3
                continue
            if abs(error) <= LOUDNESS_TOLERANCE_LU or (gain >= max_gain and error > 0):
                break
            slope = 1.0
            if previous is not None and abs(gain - previous[0]) > 1e-6:
                slope = (output["input_i"] - previous[1]) / (gain - previous[0])
            previous = (gain, output["input_i"])
            gain = min(next_gain(gain, output["input_i"], target, slope), max_gain)
        reachable = abs(target - output["input_i"]) <= LOUDNESS_GATE_LU
        return AudioOutcome(
            input_loudness=measured,
            output_loudness=output,
            gain_db=round(gain, 3),
            limiter_dbtp=None if limiter is None else round(limiter, 3),
            attempts=attempts,
            normalised=True,
            target_reachable=reachable,
            note="" if reachable else unreachable_note(measured, output, target),
            runs=self.runs,
        )


def unreachable_note(measured: dict[str, float], output: dict[str, float], target: float) -> str:
    """Why audio was delivered off target rather than crushed."""
    return (
        f"loudness target {target:g} LUFS not reachable: the audio's peaks sit "
        f"{measured['input_tp'] - measured['input_i']:.1f} dB above its loudness, so reaching "
        f"the target would need more than {MAX_LIMITING_DB:g} dB of limiting; delivered at "
        f"{output['input_i']:.1f} LUFS instead of crushing it"
    )
