"""Loudness normalisation to a target with a true-peak ceiling, checked on the encoded result.

ffmpeg's two-pass loudnorm falls back to dynamic compression whenever linear gain would clip, and
then misses its target by up to a decibel on short clips; AAC coding also adds inter-sample peaks.
So raybatch measures, applies gain (plus a 4x-oversampled limiter when peaks would pass the
ceiling), measures the encoded AAC, and corrects the gain until the delivered file is on target.

Programme whose loudness range forbids the target by gain and limiting alone (quiet dialogue, loud
action) is levelled first by a compressor (``raybatch.media.dynamics``), then limited. Audio whose
loudness lives in a few transients over near-silence still cannot reach a streaming target without
crushing it; raybatch caps the limiting depth and reports such audio as a warning with the
numbers instead of destroying it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from raybatch.config.presets import Preset
from raybatch.media.aac_chunks import encode_in_chunks
from raybatch.media.audio_render import CodecSample, FittedTrack, Ready, SampleFile, measure_encoded
from raybatch.media.commands import (
    Filter,
    delivered_channels,
    gain_filters,
    loudness_measure_args,
    rendered_encode_args,
)
from raybatch.media.dynamics import (
    LIMITER_HEADROOM_DB,
    MAX_LIMITING_DB,
    MAX_LIMITING_LEVELLED_DB,
    Compression,
    plan_compression,
)
from raybatch.media.loudness import NEAR_SILENCE_LUFS, is_silent, measure_loudness, require_clean_decode
from raybatch.media.probe import MediaInfo
from raybatch.media.runner import CommandResult, run_command, submit_in_context

#: How close to the target the delivered loudness should land before correcting stops (LU).
LOUDNESS_TOLERANCE_LU = 0.2
#: How close an encoded track must land to be delivered (LU): within the verification gate with
#: room to spare; encoding an hour again to move it by a tenth of a unit is not worth its minute.
ENCODED_TOLERANCE_LU = 0.3
#: The verification gate's tolerance (LU).
LOUDNESS_GATE_LU = 0.5
#: Whole renders of the track before it is encoded as it stands.
MAX_ATTEMPTS = 5
#: Renders of a long track's sample (a fraction of a whole render each) in one audio pass.
MAX_SAMPLE_TRIES = 8
#: Encodes after ``MAX_ATTEMPTS`` that only trim the output under the ceiling.
MAX_TRIMS = 3
#: How far under the ceiling an overshooting encode's peaks are aimed at next time (dB).
PEAK_MARGIN_DB = 0.2
#: How much higher the codec's highest true peak is expected per doubling of the chunks it
#: would be looked for in, beyond those encoded as samples (dB; on limited pink noise at 96 kb/s
#: the whole hour's peak was 0.3-0.5 dB above the two loudest chunks' encoded alone).
PEAK_SPREAD_DB_PER_DOUBLING = 0.15


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
    #: The levelling compressor that ran before gain and limiter, and what it left.
    compression: Compression | None = None
    levelled_loudness: dict[str, float] | None = None
    #: How far the limiter took the loudest peak down (0 without a limiter, dB).
    limiting_db: float = 0.0

    def dynamics_report(self) -> dict[str, float | dict | None]:
        """Loudness range before and after, and the compression and limiting applied."""
        after = self.output_loudness or {}
        return {
            "range_before_lu": self.input_loudness.get("input_lra"),
            "range_after_lu": after.get("input_lra"),
            "compression": self.compression.to_dict() if self.compression else None,
            "limiting_db": round(self.limiting_db, 2),
        }


def next_gain(gain_db: float, measured_lufs: float, target_lufs: float, slope: float = 1.0) -> float:
    """Correct the gain by the remaining error. Loudness rises 1:1 with gain until a limiter
    engages, then more slowly: ``slope`` is the observed rise per dB of gain."""
    return gain_db + (target_lufs - measured_lufs) / min(1.0, max(0.15, slope))


def limiter_ceiling(
    input_true_peak: float, gain_db: float, ceiling_dbtp: float, cut_db: float = 0.0
) -> float | None:
    """The limiter's ceiling when gain would push true peaks past the delivery ceiling (with
    headroom for AAC's overshoot, and ``cut_db`` more where encodes overshot anyway), else
    ``None``: linear gain alone is exact."""
    limit = ceiling_dbtp - LIMITER_HEADROOM_DB - cut_db
    return limit if input_true_peak + gain_db > limit else None


def _off_target(
    measured: dict[str, float],
    gain_db: float,
    plan: _PeakPlan,
    target_lufs: float,
    tolerance_lu: float = LOUDNESS_TOLERANCE_LU,
) -> bool:
    """Whether another gain would bring ``measured`` closer to the target: it is off by more than
    the tolerance, and not merely short of it at the most gain the limiting allows."""
    error = target_lufs - measured["input_i"]
    return abs(error) > tolerance_lu and not (gain_db >= plan.max_gain() and error > 0)


def normalise_audio(
    input_path: str,
    output_path: str,
    media: MediaInfo,
    preset: Preset,
    *,
    timeout_s: float,
    measured: dict[str, float] | None = None,
    music: bool = False,
) -> AudioOutcome:
    """Produce ``output_path`` (AAC in MP4) on the video's timeline at the preset's loudness.

    ``measured`` is the first-pass measurement when analysis already made it on the same
    fitted audio; otherwise the fitted track is measured here. ``music`` keeps more of
    the range when the programme must be levelled. Gain and limiter are tried on the decoded
    sound in parallel chunks (``raybatch.media.audio_render``); only the result is encoded."""
    job = _Normalisation(input_path, output_path, media, preset, timeout_s)
    with job.fitted():
        if measured is None:
            measured = job.measure_fitted()
        if is_silent(measured):
            return job.keep_as_is(measured)
        compression = plan_compression(
            measured, preset.loudness_target_lufs, preset.true_peak_dbtp, music=music
        )
        if compression is None:
            return job.converge(measured)
        job.compression = compression
        levelled = job.render(0.0, None, keep=False)
        return job.converge(measured, levelled)


class _Normalisation:
    """One audio track brought to its target: renders tried and measured, then the one that
    hit it encoded and checked."""

    def __init__(self, input_path: str, output_path: str, media: MediaInfo, preset: Preset, timeout_s: float):
        self.input_path, self.output_path, self.media, self.preset = input_path, output_path, media, preset
        self.timeout_s = timeout_s
        self.channels = delivered_channels(media)
        self.runs: list[CommandResult] = []
        self.renders = 0
        self.sample_tries = 0
        #: The gain and limiter of the last whole render: what :meth:`encode` delivers.
        self.kept: tuple[float, float | None] = (0.0, None)
        #: Whether the output holds the last kept render, encoded as it rendered.
        self.kept_encoded = False
        #: The gain and limiter of the last try, whole or on the sample.
        self.tried: tuple[float, float | None] = (0.0, None)
        #: What the last whole render measured (sample tries are read against it).
        self.last_whole: dict[str, float] = {}
        self.encodes = 0
        self.compression: Compression | None = None
        self.track: FittedTrack | None = None
        #: How far the whole encode's loudness fell from what its sample predicted (LU).
        self.sample_bias = 0.0
        #: The highest true peak the last sample encodes measured.
        self.sampled_peak: float | None = None

    def run(self, args: list[str], what: str) -> CommandResult:
        result = run_command(args, timeout_s=self.timeout_s, what=what)
        self.runs.append(result)
        return result

    @contextlib.contextmanager
    def fitted(self) -> Iterator[FittedTrack]:
        """The sound decoded once onto the video's timeline, for the renders (removed after)."""
        rate = self.preset.audio_sample_rate
        with FittedTrack.fitted(
            self.input_path, self.media, rate, self.channels, Path(self.output_path), self.timeout_s
        ) as (track, run):
            self.runs.append(run)
            self.track = track
            yield track

    @property
    def dynamics(self) -> list[Filter]:
        return self.compression.filters() if self.compression else []

    def measure_fitted(self) -> dict[str, float]:
        """The loudness of the fitted sound as it is (read from the track, not decoded again)."""
        assert self.track is not None
        loudness, runs = self.track.render([], keep=False)
        self.runs.extend(runs)
        self.last_whole = loudness
        return loudness

    def meter(self, args: list[str], what: str) -> dict[str, float]:
        """The loudness of the samples ``args`` decode (delivered channels, the preset's rate)."""
        loudness, run = measure_loudness(
            args, self.preset.audio_sample_rate, self.channels, timeout_s=self.timeout_s, what=what
        )
        self.runs.append(run)
        return loudness

    def render(
        self, gain_db: float, limiter_dbtp: float | None, *, keep: bool = True, encode: bool = False
    ) -> dict[str, float]:
        """The fitted sound levelled, with this gain and limiter: its loudness (and, with
        ``keep``, the samples the final encode takes; with ``encode``, encoded as it renders,
        for :meth:`check_encoded`)."""
        assert self.track is not None
        self.renders += 1
        self.tried = (gain_db, limiter_dbtp)
        if encode:
            self.encodes += 1
        chain = self.chain(gain_db, limiter_dbtp)
        loudness, runs = self.track.render(chain, keep=keep, encode=self.encode_samples if encode else None)
        self.runs.extend(runs)
        self.last_whole = loudness
        if keep:
            self.kept = (gain_db, limiter_dbtp)
            self.kept_encoded = encode
        return loudness

    def try_levels(self, gain_db: float, limiter_dbtp: float | None) -> tuple[dict[str, float], bool]:
        """What the track would measure with this gain and limiter, and whether that is exact.
        A long track that has had a whole render is rendered on its sample only: the whole
        track moves by what the sample moved since that render (limiting changes loudness
        alike across a programme; the whole render that must precede an encode checks it)."""
        assert self.track is not None
        if not self.track.sample or self.sample_tries >= MAX_SAMPLE_TRIES:
            return self.render(gain_db, limiter_dbtp), True
        self.sample_tries += 1
        self.tried = (gain_db, limiter_dbtp)
        now, before, runs = self.track.render_sample(self.chain(gain_db, limiter_dbtp))
        self.runs.extend(runs)
        whole = self.last_whole
        return {
            **whole,
            "input_i": whole["input_i"] + now["input_i"] - before["input_i"],
            "input_tp": whole["input_tp"] + now["input_tp"] - before["input_tp"],
        }, False

    def chain(self, gain_db: float, limiter_dbtp: float | None) -> list[Filter]:
        return [*self.dynamics, *gain_filters(gain_db, limiter_dbtp, self.preset.audio_sample_rate)]

    def encode(self, trim_db: float = 0.0) -> dict[str, float]:
        """Encode the last kept render (``trim_db`` lower); the encoded AAC's loudness."""
        assert self.track is not None
        self.encodes += 1
        with SampleFile.opened(self.track.rendered, self.channels) as samples:
            self.runs.extend(self.encode_samples(samples, trim_db=trim_db))
        return self.check_encoded()

    def encode_samples(
        self, samples: SampleFile, ready: Ready | None = None, trim_db: float = 0.0
    ) -> list[CommandResult]:
        """The track's samples (rendered, or as fitted) encoded to the output, in parallel chunks
        (``ready`` waits for those still rendering)."""
        assert self.track is not None

        def encoder(output: str, container: str) -> list[str]:
            return rendered_encode_args(
                "pipe:0", output, self.channels, self.preset, trim_db=trim_db, container=container
            )

        rate = self.preset.audio_sample_rate
        return encode_in_chunks(
            samples, self.track.frames, rate, encoder, self.output_path, self.timeout_s, ready
        )

    def check_encoded(self) -> dict[str, float]:
        """The encoded AAC's loudness, from a clean decode."""
        assert self.track is not None
        rate = self.preset.audio_sample_rate
        loudness, runs = measure_encoded(
            self.output_path, self.track.frames, rate, self.channels, self.timeout_s
        )
        self.runs.extend(runs)
        for run in runs:  # verification relies on this check
            require_clean_decode(run, "the encoded sound")
        return loudness

    def deliver(
        self, rendered: dict[str, float], exact: bool, gain_db: float, plan: _PeakPlan
    ) -> tuple[dict[str, float], dict[str, float], float, dict[str, float] | None]:
        """Encode a try that is on its aim, unless a sample shows the codec would take it off
        target or over the ceiling: AAC shifts the loudness too (at low bitrates it drops the
        K-weighted highs) and overshoots the limiter. A try read from the track's sample is
        rendered whole first (only a whole render is encoded) and must still be on its aim.
        (The render's measurement, the latest measurement, the aim for the next try, the encoded
        sound's measurement or ``None``.)"""
        target, ceiling = self.preset.loudness_target_lufs, self.preset.true_peak_dbtp
        aim = target
        sample = self.probe_codec(rendered, exact)
        if sample is not None:
            aim = target - (sample["input_i"] - rendered["input_i"])
            if sample["input_tp"] > ceiling or _off_target(rendered, gain_db, plan, aim):
                return rendered, sample, aim, None
        if not exact:
            # Rendered whole and encoded at once: the prediction is seldom off, and then only
            # the encode is wasted.
            whole = self.render(gain_db, plan.limiter(gain_db), encode=True)
            if sample is not None:  # the sample encode was read against the predicted loudness
                sample = {**sample, "input_i": sample["input_i"] + whole["input_i"] - rendered["input_i"]}
            rendered = whole
            if whole["input_tp"] > ceiling or _off_target(whole, gain_db, plan, aim):
                return whole, whole, aim, None
        output = self.check_encoded() if not exact else self.encode()
        if sample is not None:  # the sample's chunk is not the whole track: learn the difference
            self.sample_bias += output["input_i"] - sample["input_i"]
        return rendered, output, target - (output["input_i"] - rendered["input_i"]), output

    def probe_codec(self, rendered: dict[str, float], exact: bool) -> dict[str, float] | None:
        """What the encoded track would measure, judged from encoding only the chunks with the
        try's highest peaks, side by side: ``rendered`` shifted by the loudness the codec took
        off them (and by what such samples missed before), and their highest encoded true peak.
        ``None`` for a one-chunk track (its encode is whole)."""
        assert self.track is not None
        samples, runs = self.track.codec_samples(self.chain(*self.tried), whole=exact)
        self.runs.extend(runs)
        if not samples:
            return None
        with ThreadPoolExecutor(max_workers=len(samples)) as pool:
            futures = [submit_in_context(pool, self.encode_sample, sample) for sample in samples]
            encoded = [future.result() for future in futures]
        shift = sum(
            after["input_i"] - s.loudness["input_i"] for s, after in zip(samples, encoded, strict=True)
        )
        self.sampled_peak = max(after["input_tp"] for after in encoded)
        # The whole track's highest encoded peak is the most of many chunks' (extreme values grow
        # with the count), so the few encoded here are read with an allowance for the rest.
        unsampled = PEAK_SPREAD_DB_PER_DOUBLING * math.log2(len(self.track.chunks) / len(samples))
        return {
            "input_i": rendered["input_i"] + shift / len(samples) + self.sample_bias,
            "input_tp": self.sampled_peak + unsampled,
        }

    def peak_margin(self, encoded: dict[str, float] | None) -> float:
        """How far under the ceiling the next try aims its peaks: ``PEAK_MARGIN_DB``, or after
        a whole encode what its sample encodes had missed its peak by (on dense, deeply limited
        sound the codec's peaks vary by tenths of a decibel from one encode to the next; each
        encode of a long track missed by that costs a minute)."""
        if encoded is None or self.sampled_peak is None:
            return PEAK_MARGIN_DB
        return max(PEAK_MARGIN_DB, encoded["input_tp"] - self.sampled_peak)

    def encode_sample(self, sample: CodecSample) -> dict[str, float]:
        """One chunk encoded alone, and measured."""
        args = rendered_encode_args(
            str(sample.source), str(sample.probe), self.channels, self.preset, span=sample.span
        )
        self.run(args, "codec probe")
        check = loudness_measure_args(str(sample.probe), self.channels, self.preset.audio_sample_rate)
        return self.meter(check, "codec probe check")

    def keep_as_is(self, measured: dict[str, float]) -> AudioOutcome:
        """Silence or room tone: the fitted sound encoded untouched, with a note."""
        assert self.track is not None
        with SampleFile.opened(self.track.path, self.channels) as samples:
            self.runs.extend(self.encode_samples(samples))
        note = (
            f"near-silent audio ({measured['input_i']:.1f} LUFS, below {NEAR_SILENCE_LUFS:g} LUFS: "
            "silence or room tone): kept as is, no loudness target applied"
        )
        return AudioOutcome(measured, None, 0.0, None, 1, normalised=False, note=note, runs=self.runs)

    def converge(self, measured: dict[str, float], levelled: dict[str, float] | None = None) -> AudioOutcome:
        """Gain (and a limiter where peaks would pass the ceiling), corrected by what each render
        measures until it is within tolerance or the limiting would go too deep; then encoded.
        The ceiling is a hard bound, the loudness a target: where the codec overshoots, the
        limiter goes deeper and the sound is rendered again, and if it keeps overshooting the
        whole encode is trimmed until the peaks fit (the loudness reported if it then misses).
        ``levelled`` is the loudness after the compressor, when one runs."""
        target, ceiling = self.preset.loudness_target_lufs, self.preset.true_peak_dbtp
        start = levelled or measured
        depth = MAX_LIMITING_LEVELLED_DB if levelled else MAX_LIMITING_DB
        plan = _PeakPlan(start["input_tp"], ceiling, max_limiting_db=depth)
        gain = min(target - start["input_i"], plan.max_gain())
        previous, output, encoded = None, {}, False
        aim = target  # what a render should measure: the target, less what the codec adds
        while self.renders < MAX_ATTEMPTS:
            rendered, exact = self.try_levels(gain, plan.limiter(gain))
            latest, encoded = rendered, False
            if rendered["input_tp"] <= ceiling and not _off_target(rendered, gain, plan, aim):
                rendered, latest, aim, delivered = self.deliver(rendered, exact, gain, plan)
                if delivered is not None:
                    output, encoded = delivered, True
                    if output["input_tp"] <= ceiling and not _off_target(
                        output, gain, plan, target, ENCODED_TOLERANCE_LU
                    ):
                        break
            overshoot = latest["input_tp"] - ceiling
            if overshoot > 0:
                plan.deepen(overshoot + self.peak_margin(latest if encoded else None), rendered["input_tp"])
                gain, previous = min(gain, plan.max_gain()), None  # the slope so far was for other peaks
                continue
            slope = 1.0
            if previous is not None and abs(gain - previous[0]) > 1e-6:
                slope = (rendered["input_i"] - previous[1]) / (gain - previous[0])
            previous = (gain, rendered["input_i"])
            gain = min(next_gain(gain, rendered["input_i"], aim, slope), plan.max_gain())
        if not encoded:
            output = self.check_encoded() if self.kept_encoded else self.encode()
        gain = self.kept[0]  # what was encoded (the loop may have moved on to another try)
        trim, trims = 0.0, 0
        while output["input_tp"] > ceiling and trims < MAX_TRIMS:
            trims += 1
            # Trimming the whole output lowers every peak by exactly the trim, whatever the codec does.
            trim += output["input_tp"] - ceiling + PEAK_MARGIN_DB
            output = self.encode(trim)
        limiter = self.kept[1]
        if trim:
            gain -= trim
            plan.deepen(trim)
            limiter = None if limiter is None else limiter - trim
        outcome = self.outcome(measured, output, gain, plan, limiter)
        outcome.compression, outcome.levelled_loudness = self.compression, levelled
        return outcome

    def outcome(
        self,
        measured: dict[str, float],
        output: dict[str, float],
        gain: float,
        plan: _PeakPlan,
        limiter: float | None,
    ) -> AudioOutcome:
        """What converging delivered (``gain`` and ``limiter`` as encoded): on target, or off it
        with the reason."""
        target = self.preset.loudness_target_lufs
        reachable = abs(target - output["input_i"]) <= LOUDNESS_GATE_LU
        note = "" if reachable else unreachable_note(measured, output, target, plan.max_limiting_db)
        if not reachable and plan.cut_db > 0:
            note = overshoot_note(output, target, plan)
        return AudioOutcome(
            input_loudness=measured,
            output_loudness=output,
            gain_db=round(gain, 3),
            limiter_dbtp=None if limiter is None else round(limiter, 3),
            attempts=self.renders,
            normalised=True,
            target_reachable=reachable,
            note=note,
            runs=self.runs,
            limiting_db=plan.depth(gain),
        )


@dataclass
class _PeakPlan:
    """Where the limiter sits: the delivery ceiling less headroom for the codec's overshoot,
    lowered further by what each encode was seen to overshoot."""

    input_true_peak: float
    ceiling_dbtp: float
    cut_db: float = 0.0
    max_limiting_db: float = MAX_LIMITING_DB

    def limiter(self, gain_db: float) -> float | None:
        return limiter_ceiling(self.input_true_peak, gain_db, self.ceiling_dbtp, self.cut_db)

    def deepen(self, overshoot_db: float, rendered_peak_dbtp: float | None = None) -> None:
        """Lower the limiter by ``overshoot_db``, and at least that far under the peak of the
        render that overshot (``rendered_peak_dbtp``): where no limiter ran, or it sat above the
        peaks, lowering it by the overshoot alone could leave it above them, and the next render
        would be the same sound again."""
        self.cut_db += overshoot_db
        if rendered_peak_dbtp is not None:
            self.cut_db = max(
                self.cut_db, self.ceiling_dbtp - LIMITER_HEADROOM_DB - rendered_peak_dbtp + overshoot_db
            )

    def max_gain(self) -> float:
        """The most gain before the limiter would absorb more than ``max_limiting_db``."""
        return self.limit() + self.max_limiting_db - self.input_true_peak

    def limit(self) -> float:
        return self.ceiling_dbtp - LIMITER_HEADROOM_DB - self.cut_db

    def depth(self, gain_db: float) -> float:
        """How far the limiter takes the loudest peak down at this gain (dB)."""
        return max(0.0, self.input_true_peak + gain_db - self.limit())


def unreachable_note(
    measured: dict[str, float], output: dict[str, float], target: float, max_limiting_db: float
) -> str:
    """Why audio was delivered off target rather than crushed."""
    return (
        f"loudness target {target:g} LUFS not reachable: the audio's peaks sit "
        f"{measured['input_tp'] - measured['input_i']:.1f} dB above its loudness, so reaching "
        f"the target would need more than {max_limiting_db:g} dB of limiting; delivered at "
        f"{output['input_i']:.1f} LUFS instead of crushing it"
    )


def overshoot_note(output: dict[str, float], target: float, plan: _PeakPlan) -> str:
    """Why audio was delivered under its target to keep its peaks under the ceiling."""
    return (
        f"loudness target {target:g} LUFS not reachable: the AAC encode overshot the limiter by up "
        f"to {plan.cut_db + LIMITER_HEADROOM_DB:.1f} dB, so the sound was lowered to keep true peaks "
        f"under {plan.ceiling_dbtp:g} dBTP; delivered at {output['input_i']:.1f} LUFS"
    )
