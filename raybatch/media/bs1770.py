"""Loudness as ITU-R BS.1770-4 and EBU R128 (Tech 3341/3342) define it, measured from streamed
samples and combinable across chunks.

Everything the standard gates is built from the K-weighted energy of 100 ms sub-blocks: a
400 ms gating block (75 % overlap) is the mean of four consecutive sub-blocks, a 3 s short-term
block the mean of thirty. Energies are additive, so a long sound can be measured in chunks (each
decoded with a little pre-roll so its filters start settled), the chunks' sub-block energies laid
end to end, and the gates applied once to the union: the result is the whole-file measurement,
exactly, whatever the chunking. True peak (4x oversampled) is a maximum, which combines the same
way.

ffmpeg's ``loudnorm`` measures the same quantities but resamples to 192 kHz and runs its dynamic
normaliser while doing so (20x realtime here); this meter runs at ~100x on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def _signal():
    """scipy.signal, imported when a meter first needs it: its import takes ~0.8 s, which every
    Ray worker that loads the stages (and every CLI start) would pay otherwise."""
    from scipy import signal

    return signal


#: Sub-blocks per second: every gating and short-term block is a whole number of these.
SUBBLOCKS_PER_S = 10
MOMENTARY_SUBBLOCKS = 4  # 400 ms gating blocks
SHORT_TERM_SUBBLOCKS = 30  # 3 s short-term blocks (loudness range)
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
RANGE_RELATIVE_GATE_LU = -20.0
RANGE_PERCENTILES = (10.0, 95.0)
#: Oversampling for true peak (BS.1770-4 Annex 2: 4x at 48 kHz) and its interpolation filter.
OVERSAMPLE = 4
_TRUE_PEAK_TAPS = 48
#: Samples per stretch the true-peak search decides to oversample or not.
_PEAK_WINDOW = 2_400


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter (a high shelf, then the RLB high-pass) as second-order sections
    for ``rate``; at 48 kHz these are the coefficients BS.1770 tabulates."""
    shelf_k = math.tan(math.pi * 1681.974450955533 / rate)
    shelf_q, high = 0.7071752369554196, 10 ** (3.999843853973347 / 20)
    band = high**0.4996667741545416
    a0 = 1 + shelf_k / shelf_q + shelf_k**2
    shelf = [
        (high + band * shelf_k / shelf_q + shelf_k**2) / a0,
        2 * (shelf_k**2 - high) / a0,
        (high - band * shelf_k / shelf_q + shelf_k**2) / a0,
        1.0,
        2 * (shelf_k**2 - 1) / a0,
        (1 - shelf_k / shelf_q + shelf_k**2) / a0,
    ]
    pass_k, pass_q = math.tan(math.pi * 38.13547087602444 / rate), 0.5003270373238773
    b0 = 1 + pass_k / pass_q + pass_k**2
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (pass_k**2 - 1) / b0, (1 - pass_k / pass_q + pass_k**2) / b0]
    return np.array([shelf, highpass])


def true_peak_filter() -> np.ndarray:
    """The interpolation filter of the 4x oversampler (gain 4: upsampling inserts zeros)."""
    return OVERSAMPLE * _signal().firwin(_TRUE_PEAK_TAPS, 1 / OVERSAMPLE, window=("kaiser", 6.0))


def energy_to_lufs(energy: float | np.ndarray) -> float | np.ndarray:
    """Loudness of a K-weighted, channel-summed mean square (``-inf`` for silence)."""
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(energy)


@dataclass
class Loudness:
    """One sound's measurement: integrated loudness, loudness range, true peak and the relative
    gate, keyed as ffmpeg's ``loudnorm`` prints them (``input_i``...) so either can be read."""

    integrated_lufs: float
    range_lu: float
    true_peak_dbtp: float
    threshold_lufs: float

    def to_dict(self) -> dict[str, float]:
        return {
            "input_i": self.integrated_lufs,
            "input_tp": self.true_peak_dbtp,
            "input_lra": self.range_lu,
            "input_thresh": self.threshold_lufs,
        }


@dataclass
class ChunkMeasure:
    """What one chunk contributes: its sub-blocks' energies (in order) and its sample peak
    after oversampling. Chunks laid end to end measure as the whole."""

    energies: np.ndarray
    peak: float

    @staticmethod
    def combine(chunks: list[ChunkMeasure]) -> ChunkMeasure:
        energies = [c.energies for c in chunks]
        return ChunkMeasure(
            np.concatenate(energies) if energies else np.zeros(0), max((c.peak for c in chunks), default=0.0)
        )

    def loudness(self) -> Loudness:
        """Gate the union of the blocks as BS.1770 and Tech 3342 define."""
        integrated, threshold = gated_loudness(
            block_energies(self.energies, MOMENTARY_SUBBLOCKS), RELATIVE_GATE_LU
        )
        return Loudness(
            integrated_lufs=integrated,
            range_lu=loudness_range(block_energies(self.energies, SHORT_TERM_SUBBLOCKS)),
            true_peak_dbtp=20 * math.log10(self.peak) if self.peak > 0 else -math.inf,
            threshold_lufs=threshold,
        )


def block_energies(subblocks: np.ndarray, length: int) -> np.ndarray:
    """The energy of every block of ``length`` consecutive sub-blocks, one per sub-block step."""
    if len(subblocks) < length:
        return np.zeros(0)
    sums = np.concatenate(([0.0], np.cumsum(subblocks, dtype=np.float64)))
    return (sums[length:] - sums[:-length]) / length


def gated_loudness(blocks: np.ndarray, relative_gate_lu: float) -> tuple[float, float]:
    """(loudness, relative threshold) of ``blocks`` after the absolute and relative gates;
    ``-inf`` when nothing passes."""
    loud = blocks[energy_to_lufs(blocks) > ABSOLUTE_GATE_LUFS] if len(blocks) else blocks
    if not len(loud):
        return -math.inf, -math.inf
    threshold = float(energy_to_lufs(loud.mean())) + relative_gate_lu
    kept = loud[energy_to_lufs(loud) > threshold]
    return (float(energy_to_lufs(kept.mean())) if len(kept) else -math.inf), threshold


def loudness_range(short_term: np.ndarray) -> float:
    """EBU Tech 3342's loudness range: the spread between the 10th and 95th percentiles of the
    gated short-term loudness (0 when too little passes the gates)."""
    _, threshold = gated_loudness(short_term, RANGE_RELATIVE_GATE_LU)
    if not math.isfinite(threshold):
        return 0.0
    levels = energy_to_lufs(short_term)
    kept = levels[(levels > ABSOLUTE_GATE_LUFS) & (levels > threshold)]
    if len(kept) < 2:
        return 0.0
    low, high = np.percentile(kept, RANGE_PERCENTILES)
    return float(high - low)


@dataclass
class LoudnessMeter:
    """A streaming meter: feed it interleaved float samples in any block sizes; ``measure()``
    gives this stream's :class:`ChunkMeasure`. ``preroll`` samples at the start only settle the
    filters (a chunk's overlap with the one before it) and are not counted."""

    rate: int
    channels: int
    preroll: int = 0
    _sos: np.ndarray = field(init=False, repr=False)
    _state: np.ndarray = field(init=False, repr=False)
    _taps: np.ndarray = field(init=False, repr=False)
    _history: np.ndarray = field(init=False, repr=False)
    _partial: list[np.ndarray] = field(init=False, repr=False, default_factory=list)
    _energies: list[np.ndarray] = field(init=False, repr=False, default_factory=list)
    _peak: float = field(init=False, default=0.0)
    _phase_gain: float = field(init=False, default=1.0)

    def __post_init__(self) -> None:
        if self.rate % SUBBLOCKS_PER_S:
            raise ValueError(
                f"loudness is measured at rates divisible by {SUBBLOCKS_PER_S} Hz, not {self.rate}"
            )
        self._sos = k_weighting(self.rate)
        self._state = np.zeros((len(self._sos), 2, self.channels))
        self._taps = true_peak_filter()
        self._phase_gain = max(np.abs(self._taps[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE))
        history = math.ceil(len(self._taps) / OVERSAMPLE)
        self._history = np.zeros((history, self.channels))

    @property
    def subblock(self) -> int:
        return self.rate // SUBBLOCKS_PER_S

    def feed(self, samples: np.ndarray) -> None:
        """Add ``samples`` (frames x channels, or interleaved 1-D)."""
        samples = np.asarray(samples, dtype=np.float64).reshape(-1, self.channels)
        weighted, self._state = _signal().sosfilt(self._sos, samples, axis=0, zi=self._state)
        skip = min(self.preroll, len(samples))
        self.preroll -= skip
        if skip:
            self._history = np.concatenate((self._history, samples[:skip]))[-len(self._history) :]
        if skip < len(samples):
            self._track_peak(samples[skip:])
            self._add_energy(weighted[skip:])

    def _track_peak(self, samples: np.ndarray) -> None:
        """Raise the peak to the oversampled maximum of ``samples``. An interpolated value is
        at most the filter's largest phase gain times the largest sample it reaches, so only
        stretches loud enough to beat the peak found so far are oversampled: the result is the
        same as oversampling everything, at a fraction of the cost for programme with dynamics."""
        history = len(self._history)
        extended = np.concatenate((self._history, samples))
        self._history = extended[-history:]
        self._peak = max(self._peak, float(np.abs(samples).max()))
        levels = np.abs(extended).max(axis=1)
        loudest = np.maximum.reduceat(levels, np.arange(0, len(samples), _PEAK_WINDOW))
        # Window w's outputs reach back ``history`` samples into window w - 1.
        reach = np.maximum(loudest, np.concatenate(([levels[:history].max()], loudest[:-1])))
        candidates = np.flatnonzero(reach * self._phase_gain > self._peak)
        for first, last in _runs(candidates):
            stretch = extended[first * _PEAK_WINDOW : history + min((last + 1) * _PEAK_WINDOW, len(samples))]
            upsampled = _signal().upfirdn(self._taps, stretch, up=OVERSAMPLE, axis=0)
            exact = upsampled[OVERSAMPLE * history : OVERSAMPLE * len(stretch)]
            self._peak = max(self._peak, float(np.abs(exact).max()))

    def _add_energy(self, weighted: np.ndarray) -> None:
        squares = np.concatenate([*self._partial, weighted * weighted]) if self._partial else weighted**2
        whole = len(squares) - len(squares) % self.subblock
        if whole:
            per_channel = squares[:whole].reshape(-1, self.subblock, self.channels).mean(axis=1)
            self._energies.append(per_channel.sum(axis=1))  # L, R (and mono) weigh 1.0
        self._partial = [squares[whole:]] if whole < len(squares) else []

    def measure(self) -> ChunkMeasure:
        """This stream's sub-block energies (a trailing part-sub-block is not a block) and peak."""
        energies = np.concatenate(self._energies) if self._energies else np.zeros(0)
        return ChunkMeasure(energies, self._peak)


def _runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Sorted ``indices`` as (first, last) runs of consecutive values."""
    if not len(indices):
        return []
    breaks = np.flatnonzero(np.diff(indices) > 1)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    ends = np.concatenate((indices[breaks], [indices[-1]]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
