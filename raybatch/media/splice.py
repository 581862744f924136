"""Applying an EDL to sound: kept ranges joined with short equal-power crossfades.

Each join overlaps ``fade`` samples: the end of one kept range runs on into the removed part
while fading out, and the next kept range is preceded by a little of the removed part while
fading in. The overlap is taken half from each side, so the result is exactly as long as the
kept ranges together (the picture's cut and the sound's stay in sync) and no join clicks.
"""

from __future__ import annotations

import struct

import numpy as np


def frames_to_samples(ranges: list[tuple[int, int]], fps: float, sample_rate: int) -> list[tuple[int, int]]:
    """Frame ranges as sample ranges, each boundary rounded on its own so lengths add up."""
    return [(round(a * sample_rate / fps), round(b * sample_rate / fps)) for a, b in ranges]


def splice(source: np.ndarray, keep: list[tuple[int, int]], fade: int) -> np.ndarray:
    """``source`` (``[n, channels]``) reduced to the ``keep`` sample ranges with crossfades."""
    n = len(source)
    pieces: list[np.ndarray] = []
    half = fade // 2
    for index, (start, end) in enumerate(keep):
        lead = half if index > 0 else 0
        tail = fade - half if index < len(keep) - 1 else 0
        lo, hi = max(0, start - lead), min(n, end + tail)
        piece = source[lo:hi].astype(np.float32, copy=True)
        # Near the file's edges there may be less material than the fade wants: pad with silence.
        if start - lead < 0:
            piece = np.concatenate([np.zeros((lead - start, *source.shape[1:]), np.float32), piece])
        if end + tail > n:
            piece = np.concatenate([piece, np.zeros((end + tail - n, *source.shape[1:]), np.float32)])
        pieces.append(piece)
    if not pieces:
        return np.zeros((0, *source.shape[1:]), np.float32)
    t = (np.arange(fade, dtype=np.float32) + 0.5) / max(1, fade)
    fade_in = np.sin(t * np.pi / 2)[:, None]
    fade_out = np.cos(t * np.pi / 2)[:, None]
    out = [pieces[0]]
    for piece in pieces[1:]:
        previous = out[-1]
        overlap = previous[-fade:] * fade_out + piece[:fade] * fade_in
        out[-1] = previous[:-fade]
        out += [overlap, piece[fade:]]
    return np.concatenate(out)


#: Sample data past this size overflows a WAV header's 32-bit sizes.
WAV_MAX_DATA_BYTES = 0xFFFFFFFF - 1024


def write_float_wav(path: str, samples: np.ndarray, sample_rate: int) -> None:
    """A 32-bit float WAV (libsndfile through soundfile); RF64 when the samples would overflow
    a WAV's sizes (about 3.1 hours of 48 kHz stereo)."""
    import soundfile

    container = "RF64" if samples.size * 4 > WAV_MAX_DATA_BYTES else "WAV"
    soundfile.write(path, samples, sample_rate, subtype="FLOAT", format=container)


def wav_data_offset(path: str) -> int:
    """Byte offset of a WAV file's sample data (after the ``data`` chunk header)."""
    with open(path, "rb") as handle:
        header = handle.read(12)
        if header[:4] not in (b"RIFF", b"RF64") or header[8:12] != b"WAVE":
            raise ValueError(f"{path} is not a WAV file")
        while chunk := handle.read(8):
            name, size = chunk[:4], struct.unpack("<I", chunk[4:8])[0]
            if name == b"data":
                return handle.tell()
            handle.seek(size + (size & 1), 1)
    raise ValueError(f"{path} has no data chunk")
