"""Speech with a known truth, made here: synthetic voices (ffmpeg's flite) placed at known times,
a second quieter speaker with overlaps, room reverberation and noise, at levels from a close
microphone to a far-field table microphone. For the edit's tests and ``scripts/bench``.

The truth of a phrase is where its clean waveform is active (20 ms frames within 35 dB of the
phrase's loudest frame), with gaps under 0.3 s between words counted as speech: the speech time
a human annotator would mark. Everything random is seeded: a clip is the same on every machine.
"""

from __future__ import annotations

import functools
import io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

RATE = 48_000
FRAME_S = 0.02
Span = tuple[float, float]

PHRASES = (
    "Welcome back. Today we look at how the scheduler decides where each task runs.",
    "First, a quick recap of the last lesson.",
    "Every node reports its free memory and its free processors.",
    "So, what happens when a task asks for more than any node has?",
    "It waits. And it waits quietly, which is the part people miss.",
    "Let me show you on the dashboard.",
    "Here, on the left, you can see the pending tasks.",
    "Right. Now watch what happens when I add a node.",
    "They start at once.",
    "That is the whole trick, really.",
    "Questions so far?",
    "Good. Let's move on to placement groups.",
)
INTERJECTIONS = ("Yes.", "Sorry, can you repeat that?", "I see.", "Mm, okay.", "What about memory?")


@dataclass(frozen=True)
class Room:
    """Where the microphone is: the voice's level (dBFS RMS while speaking), the reverberation
    time and the direct-to-reverberant ratio, and the noise floor (dBFS RMS)."""

    name: str
    speech_db: float
    rt60_s: float
    direct_to_reverb_db: float
    noise_db: float
    #: The second speaker's level against the first's (dB): further from the microphone.
    second_speaker_db: float = -8.0


ROOMS = {
    "close": Room("close", -20.0, 0.0, 40.0, -65.0),
    "desk": Room("desk", -28.0, 0.35, 10.0, -58.0),
    "far": Room("far", -38.0, 0.6, 0.0, -55.0),
    "very_far": Room("very_far", -46.0, 0.8, -4.0, -56.0),
    # One table microphone in a meeting room: a ventilated room, voices 10 dB over its noise,
    # the other speaker 12 dB further down (under the noise).
    "meeting": Room("meeting", -38.0, 0.7, -3.0, -48.0, second_speaker_db=-12.0),
}


@dataclass
class SpeechClip:
    """A generated clip and where its speech is."""

    path: Path
    duration_s: float
    truth: list[Span]
    phrases: list[Span] = field(default_factory=list)  # each placed phrase, for "every phrase kept"

    def speech_s(self) -> float:
        return sum(b - a for a, b in self.truth)


@functools.lru_cache(maxsize=64)
def synthesize(text: str, voice: str) -> np.ndarray:
    """One phrase in a flite voice, mono float at ``RATE`` (kept: clips share phrases)."""
    escaped = text.replace("'", "").replace(":", " ").replace(",", "\\,")
    wav = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"flite=text='{escaped}':voice={voice}",
         "-ar", str(RATE), "-ac", "1", "-c:a", "pcm_f32le", "-f", "wav", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    samples, _ = soundfile.read(io.BytesIO(wav), dtype="float32")
    return samples


def active_spans(samples: np.ndarray, join_s: float = 0.3, floor_db: float = 35.0) -> list[Span]:
    """Where a clean waveform is active (see the module's note on the truth)."""
    size = int(RATE * FRAME_S)
    count = len(samples) // size
    rms = np.sqrt(np.mean(samples[: count * size].reshape(count, size) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-9))
    active = level > level.max() - floor_db
    spans: list[list[float]] = []
    for index in np.flatnonzero(active):
        start, end = index * FRAME_S, (index + 1) * FRAME_S
        if spans and start - spans[-1][1] <= join_s:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in spans]


def _pink_noise(count: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(count))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, count)
    return noise / np.sqrt(np.mean(noise**2))


def _impulse_response(room: Room, rng: np.random.Generator) -> np.ndarray:
    """A direct path and an exponentially decaying diffuse tail (RT60: -60 dB)."""
    if room.rt60_s <= 0:
        return np.array([1.0])
    length = int(room.rt60_s * RATE)
    t = np.arange(length) / RATE
    tail = rng.standard_normal(length) * 10 ** (-3 * t / room.rt60_s)
    tail[: int(0.005 * RATE)] = 0  # the first reflections arrive after a few milliseconds
    tail *= 10 ** (-room.direct_to_reverb_db / 20) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return tail


def _convolve(signal: np.ndarray, response: np.ndarray) -> np.ndarray:
    size = len(signal) + len(response) - 1
    n = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(signal, n) * np.fft.rfft(response, n), n)[: len(signal)]
    return out.astype(np.float32)


def _speaking_rms(samples: np.ndarray) -> float:
    spans = active_spans(samples)
    parts = [samples[int(a * RATE) : int(b * RATE)] for a, b in spans]
    joined = np.concatenate(parts) if parts else samples
    return float(np.sqrt(np.mean(joined**2)))


def place(track: np.ndarray, phrase: np.ndarray, at_s: float, level_db: float) -> list[Span]:
    """Add ``phrase`` at ``at_s`` with its speaking level at ``level_db`` dBFS; its truth."""
    gain = 10 ** (level_db / 20) / max(_speaking_rms(phrase), 1e-9)
    start = int(at_s * RATE)
    end = min(len(track), start + len(phrase))
    track[start:end] += phrase[: end - start] * gain
    return [(round(at_s + a, 3), round(at_s + b, 3)) for a, b in active_spans(phrase)]


def merge(spans: list[Span], join_s: float = 0.0) -> list[Span]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a - merged[-1][1] <= join_s:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def make_speech_clip(
    path: Path, room: Room, *, second_speaker: bool, seed: int = 0, phrases: int = 8
) -> SpeechClip:
    """A lesson-like recording: speaker one's phrases with pauses of 0.4 to 3 s; with
    ``second_speaker``, a quieter voice (8 dB down) answering in some pauses and talking over
    the end of one phrase. Written as an MP4 (a small test picture, AAC sound)."""
    rng = np.random.default_rng(seed)
    voices = [synthesize(text, "slt") for text in PHRASES[:phrases]]
    pauses = rng.uniform(0.4, 3.0, size=len(voices))
    # Room for every phrase, the answers and the pauses; trimmed once all are placed.
    room_s = 1.0 + sum(len(v) / RATE for v in voices) + float(pauses.sum()) + 20.0
    dry = np.zeros(int(room_s * RATE), dtype=np.float32)
    truth, placed, position = [], [], 1.0
    for index, (voice, pause) in enumerate(zip(voices, pauses, strict=True)):
        spans = place(dry, voice, position, room.speech_db)
        truth += spans
        placed.append((spans[0][0], spans[-1][1]))
        end = position + len(voice) / RATE
        if second_speaker and index % 3 == 1:
            answer = synthesize(INTERJECTIONS[index // 3 % len(INTERJECTIONS)], "rms")
            # Every other answer starts before the phrase ends: overlapped speech.
            at = end - 0.5 if index % 2 else end + 0.2
            spans = place(dry, answer, at, room.speech_db + room.second_speaker_db)
            truth += spans
            placed.append((spans[0][0], spans[-1][1]))
            end = max(end, at + len(answer) / RATE)
        position = end + pause
    duration = position + 0.5
    dry = dry[: int(duration * RATE)]
    wet = _convolve(dry, _impulse_response(room, rng))
    noise = _pink_noise(len(wet), rng) * 10 ** (room.noise_db / 20)
    mix = np.clip(wet + noise.astype(np.float32), -1.0, 1.0)
    wav = path.with_suffix(".wav")
    soundfile.write(wav, mix, RATE, subtype="FLOAT")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=160x90:r=25:d={duration:.3f}",
         "-i", str(wav), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    wav.unlink()
    return SpeechClip(path, duration, merge(truth), placed)


def make_far_field(source: Path, path: Path, room: Room, *, seed: int = 0) -> Path:
    """A real recording as a microphone in ``room`` would hear it: its sound (mono) brought to
    the room's speaking level, reverberated, over the room's noise; its picture kept."""
    rng = np.random.default_rng(seed)
    wav = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-vn", "-ac", "1", "-ar", str(RATE),
         "-c:a", "pcm_f32le", "-f", "wav", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    dry, _ = soundfile.read(io.BytesIO(wav), dtype="float32")
    dry = dry * (10 ** (room.speech_db / 20) / max(_speaking_rms(dry), 1e-9))
    wet = _convolve(dry.astype(np.float32), _impulse_response(room, rng))
    mix = np.clip(wet + (_pink_noise(len(wet), rng) * 10 ** (room.noise_db / 20)).astype(np.float32), -1, 1)
    mixed = path.with_suffix(".wav")
    soundfile.write(mixed, mix, RATE, subtype="FLOAT")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-i", str(mixed), "-map", "0:v:0", "-map", "1:a",
         "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", str(path)],
        check=True,
    )  # fmt: skip
    mixed.unlink()
    return path


def with_picture(source: Path, path: Path) -> Path:
    """An MP4 of ``source``'s sound under a small test picture: raybatch edits videos, and some
    real recordings are sound only."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-i", str(source),
         "-map", "0:v", "-map", "1:a", "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(path)],
        check=True,
    )  # fmt: skip
    return path
