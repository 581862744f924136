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

    def run(args: list[str], what: str) -> CommandResult:
        result = run_command(args, timeout_s=timeout_s, what=what)
        runs.append(result)
        return result

    runs: list[CommandResult] = []
    if measured is None:
        measured = parse_loudnorm_json(
            run(audio_measure_args(input_path, media, preset), "loudness measurement").stderr
        )
    target, ceiling = preset.loudness_target_lufs, preset.true_peak_dbtp
    if is_silent(measured):
        run(
            audio_encode_args(input_path, output_path, media, preset, gain_db=0.0, limiter_dbtp=None),
            "audio encode",
        )
        return AudioOutcome(
            input_loudness=measured,
            output_loudness=None,
            gain_db=0.0,
            limiter_dbtp=None,
            attempts=1,
            normalised=False,
            note=(
                f"near-silent audio ({measured['input_i']:.1f} LUFS, below {NEAR_SILENCE_LUFS:g} LUFS: "
                "silence or room tone): kept as is, no loudness target applied"
            ),
            runs=runs,
        )

    max_gain = ceiling - LIMITER_HEADROOM_DB + MAX_LIMITING_DB - measured["input_tp"]
    gain = min(target - measured["input_i"], max_gain)
    extra_ceiling_cut = 0.0
    previous: tuple[float, float] | None = None
    output: dict[str, float] = {}
    attempts = 0
    limiter = None
    while attempts < MAX_ATTEMPTS:
        attempts += 1
        limiter = limiter_ceiling(measured["input_tp"], gain, ceiling)
        if limiter is not None:
            limiter -= extra_ceiling_cut
        run(
            audio_encode_args(input_path, output_path, media, preset, gain_db=gain, limiter_dbtp=limiter),
            "audio encode",
        )
        output = parse_loudnorm_json(run(loudness_measure_args(output_path, preset), "loudness check").stderr)
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
    note = ""
    if not reachable:
        note = (
            f"loudness target {target:g} LUFS not reachable: the audio's peaks sit "
            f"{measured['input_tp'] - measured['input_i']:.1f} dB above its loudness, so reaching "
            f"the target would need more than {MAX_LIMITING_DB:g} dB of limiting; delivered at "
            f"{output['input_i']:.1f} LUFS instead of crushing it"
        )
    return AudioOutcome(
        input_loudness=measured,
        output_loudness=output,
        gain_db=round(gain, 3),
        limiter_dbtp=None if limiter is None else round(limiter, 3),
        attempts=attempts,
        normalised=True,
        target_reachable=reachable,
        note=note,
        runs=runs,
    )
