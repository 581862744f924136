"""A track's AAC encoded in parallel chunks and spliced: the chunk plan, the packets each chunk
keeps, and a spliced stream that decodes like one whole encode (length, timing, quality at
every seam) and muxes like one."""

import itertools
import subprocess

import numpy as np
import pytest

from raybatch.config.presets import resolve_preset
from raybatch.media import aac_chunks, audio_render
from raybatch.media.aac_chunks import (
    AAC_FRAME,
    adts_packets,
    encode_in_chunks,
    kept_packets,
    plan_encode_chunks,
    whole_stream_packets,
)
from raybatch.media.audio_render import SampleFile
from raybatch.media.commands import rendered_encode_args
from raybatch.media.runner import MediaError
from tests.conftest import ffmpeg, ffprobe

RATE = 48000


@pytest.mark.parametrize("frames", [3600 * RATE + 1234, 600 * RATE, 127 * AAC_FRAME * 1000])
def test_chunks_sit_on_aac_frames_and_keep_exactly_one_whole_encodes_packets(frames):
    chunks = plan_encode_chunks(frames, RATE, workers=2)
    assert len(chunks) > 1
    assert chunks[0].start == 0 and chunks[-1].end == frames
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert all(c.start % AAC_FRAME == 0 and c.preroll % AAC_FRAME == 0 for c in chunks)
    assert all(
        aac_chunks.PREROLL_S * RATE <= c.preroll < aac_chunks.PREROLL_S * RATE + AAC_FRAME for c in chunks[1:]
    )
    # An encode of n frames has ceil(n / 1024) + 1 packets: the priming, then one per frame begun.
    kept = [len(range(whole_stream_packets(c.rendered))[kept_packets(c, frames)]) for c in chunks]
    assert sum(kept) == whole_stream_packets(frames)
    assert kept[1:-1] == [(c.end - c.start) // AAC_FRAME for c in chunks[1:-1]]


def test_adts_packets_are_split_by_their_headers_and_a_broken_stream_is_an_error():
    def packet(payload: bytes) -> bytes:
        length = 7 + len(payload)
        return bytes(
            [0xFF, 0xF1, 0x4C, 0x80 | length >> 11, length >> 3 & 0xFF, (length & 7) << 5 | 0x1F, 0xFC]
        )

    stream = [packet(b"a" * 10) + b"a" * 10, packet(b""), packet(b"b" * 300) + b"b" * 300]
    assert adts_packets(b"".join(stream)) == stream
    with pytest.raises(MediaError, match="broken at byte 17"):
        adts_packets(stream[0] + b"junk" + stream[2])
    with pytest.raises(MediaError, match="broken at byte 24"):  # the last packet cut short
        adts_packets(b"".join(stream)[:-1])


@pytest.fixture
def sound(tmp_path, monkeypatch):
    """Forty seconds of speech-like noise bursts over a decaying tone (transients for the
    encoder's block switching), as raw float samples, in 10 s chunks."""
    monkeypatch.setattr(audio_render, "MIN_CHUNK_S", 10.0)
    path = tmp_path / "sound.f32"
    ffmpeg(
        "-f", "lavfi", "-i", "anoisesrc=d=40:c=pink:r=48000:a=0.3:seed=5",
        "-f", "lavfi", "-i", "aevalsrc='0.5*sin(2*PI*330*t)*exp(-25*mod(t,0.37))':s=48000:d=40",
        "-filter_complex", "[0]volume='0.2+0.8*abs(sin(t*2.1))':eval=frame[n];[n][1]amix=normalize=0,"
        "aformat=channel_layouts=stereo", "-f", "f32le", str(path),
    )  # fmt: skip
    return path


def _decoded(path) -> np.ndarray:
    args = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(RATE), "-"]
    return np.frombuffer(subprocess.run(args, capture_output=True, check=True).stdout, "<f4").reshape(-1, 2)


def _snr_db(decoded: np.ndarray, source: np.ndarray, window: slice = slice(None)) -> float:
    signal, error = source[window], decoded[: len(source)][window] - source[window]
    return float(10 * np.log10((signal**2).sum() / (error**2).sum()))


def test_a_spliced_encode_decodes_and_muxes_as_one_whole_encode(sound, tmp_path):
    preset = resolve_preset("low", "fast", "general")
    source = np.fromfile(sound, "<f4").reshape(-1, 2)
    whole, spliced = tmp_path / "whole.m4a", tmp_path / "spliced.m4a"
    subprocess.run(rendered_encode_args(str(sound), str(whole), 2, preset), check=True, capture_output=True)

    def encoder(output: str, container: str) -> list[str]:
        return rendered_encode_args("pipe:0", output, 2, preset, container=container)

    with SampleFile.opened(sound, 2) as samples:
        runs = encode_in_chunks(samples, len(source), RATE, encoder, str(spliced), timeout_s=60)
    chunks = plan_encode_chunks(len(source), RATE, audio_render.render_workers())
    assert len(runs) == len(chunks) + 1 == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sound.f32", "spliced.m4a", "whole.m4a"]

    one, other = ffprobe(whole)["streams"][0], ffprobe(spliced)["streams"][0]
    for key in ("codec_name", "profile", "sample_rate", "channels", "start_time", "duration_ts", "nb_frames"):
        assert one[key] == other[key], key
    assert int(other["duration_ts"]) == len(source)
    a, b = _decoded(whole), _decoded(spliced)
    assert len(a) == len(b)
    assert _snr_db(b, source) == pytest.approx(_snr_db(a, source), abs=0.2)
    for chunk in chunks[1:]:  # no seam is worse than the codec is anyway
        around = slice(chunk.start - RATE // 4, chunk.start + RATE // 4)
        assert _snr_db(b, source, around) > _snr_db(a, source, around) - 0.5
