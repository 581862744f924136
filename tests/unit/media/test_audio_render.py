"""The audio pass's chunked renders: chunk plans, chunks that lay end to end into exactly
what one pass over the whole track gives (samples and loudness), and the sample of chunks that
predicts a whole render."""

import itertools
import subprocess

import numpy as np
import pytest

from raybatch.config.presets import resolve_preset
from raybatch.media import audio_render
from raybatch.media.aac_chunks import encode_in_chunks, plan_encode_chunks
from raybatch.media.audio_render import FittedTrack, SampleFile, choose_sample, measure_encoded, plan_chunks
from raybatch.media.bs1770 import ChunkMeasure
from raybatch.media.commands import gain_filters, loudness_measure_args, render_chain, rendered_encode_args
from raybatch.media.dynamics import Compression
from raybatch.media.loudness import LoudnessReader, audio_stream_hash, measure_loudness
from tests.conftest import ffmpeg

RATE = 48000


def test_chunks_cover_the_track_on_whole_subblocks_with_overlap_inside_it():
    frames = 3600 * RATE + 1234
    chunks = plan_chunks(frames, RATE, workers=2)
    assert len(chunks) == 31  # none over two minutes
    assert len(plan_chunks(600 * RATE, RATE, workers=2)) == 6  # about three per worker
    assert chunks[0].start == 0 and chunks[-1].end == frames
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    assert all(c.start % (RATE // 10) == 0 for c in chunks)
    assert chunks[0].preroll == 0 and chunks[-1].postroll == 0
    assert all(c.first >= 0 and c.first + c.rendered <= frames for c in chunks)


def test_short_tracks_are_one_chunk_and_empty_ones_none():
    assert len(plan_chunks(30 * RATE, RATE, workers=8)) == 1
    assert len(plan_chunks(150 * RATE, RATE, workers=8)) == 2  # no chunk under a minute
    assert plan_chunks(0, RATE, workers=2) == []


@pytest.fixture
def track(tmp_path, monkeypatch):
    """Forty seconds of swelling pink noise with bursts, as raw float samples, in 10 s chunks."""
    monkeypatch.setattr(audio_render, "MIN_CHUNK_S", 10.0)
    path = tmp_path / ".talk.fitted.f32"
    ffmpeg(
        "-f", "lavfi", "-i", "anoisesrc=d=40:c=pink:r=48000:a=0.3:seed=3",
        "-af", "volume='0.3+0.7*abs(sin(t*1.3))':eval=frame", "-ac", "2", "-f", "f32le", str(path),
    )  # fmt: skip
    return FittedTrack(path, RATE, 2, timeout_s=60)


def _whole(track: FittedTrack, chain) -> tuple[np.ndarray, dict]:
    args = ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "2", "-i", str(track.path),
            "-af", render_chain(chain), "-f", "f32le", "-"]  # fmt: skip
    samples = subprocess.run(args, capture_output=True, check=True).stdout
    reader = LoudnessReader(RATE, 2)
    reader.meter.feed(np.frombuffer(samples, "<f4"))
    return np.frombuffer(samples, "<f4").reshape(-1, 2), reader.loudness()


def test_chunked_render_is_the_whole_render_sample_for_sample(track):
    compressor = Compression(threshold_db=-30, ratio=3.0, attack_ms=20, release_ms=400, reason="test")
    chain = [*compressor.filters(), *gain_filters(24.0, -3.0, RATE)]
    assert len(track.chunks) == 4
    loudness, runs = track.render(chain)
    whole, whole_loudness = _whole(track, chain)
    rendered = np.fromfile(track.rendered, "<f4").reshape(-1, 2)
    assert len(runs) == 4 and rendered.shape == whole.shape
    assert np.abs(rendered - whole).max() < 1e-6  # seams included
    assert 0.6 < np.abs(whole).max() < 0.8  # the limiter held it near -3 dBFS
    for key in ("input_i", "input_tp", "input_lra"):
        assert loudness[key] == pytest.approx(whole_loudness[key], abs=1e-6)


def test_the_sample_is_every_fourth_chunk_and_the_loudest_and_short_tracks_have_none():
    measures = [
        ChunkMeasure(np.ones(10), peak) for peak in (0.1, 0.2, 0.3, 0.9, 0.2, 0.1, 0.4, 0.5, 0.3, 0.2)
    ]
    assert choose_sample(measures) == [2, 3, 6]
    assert choose_sample(measures[:7]) == []  # a short track is tried whole


def test_a_sample_render_predicts_the_whole_render_and_gives_its_loudest_chunks_exactly(track, monkeypatch):
    monkeypatch.setattr(audio_render, "MIN_SAMPLED_CHUNKS", 4)
    monkeypatch.setattr(audio_render, "SAMPLE_EVERY", 2)
    monkeypatch.setattr(audio_render, "render_workers", lambda: 2)
    before_chain, after_chain = gain_filters(20.0, -3.0, RATE), gain_filters(23.0, -4.0, RATE)
    before, _ = track.render(before_chain)
    assert track.sample and len(track.sample) < len(track.chunks)
    now, sample_before, _ = track.render_sample(after_chain)
    predicted = before["input_i"] + now["input_i"] - sample_before["input_i"]
    samples, runs = track.codec_samples(after_chain, whole=False)
    after, _ = track.render(after_chain)
    assert predicted == pytest.approx(after["input_i"], abs=0.1)
    assert now["input_i"] - sample_before["input_i"] < 3.0 - 0.3  # the deeper limiter took some
    peaks = {track.chunks[i]: m.peak for i, m in track.sample_measures.items()}
    assert [s.chunk for s in samples] == sorted(peaks, key=peaks.get, reverse=True)[:2]
    assert len(runs) == 2 and len({s.source for s in samples}) == 2
    whole = np.fromfile(track.rendered, "<f4").reshape(-1, 2)
    for sample in samples:
        assert sample.span == (0, sample.chunk.end - sample.chunk.start)
        alone = np.fromfile(sample.source, "<f4").reshape(-1, 2)
        assert np.array_equal(alone, whole[sample.chunk.start : sample.chunk.end])


def test_an_encoded_track_measured_in_parallel_chunks_measures_as_one_decode(track, tmp_path):
    preset = resolve_preset("low", "fast", "general")
    encoded = tmp_path / "sound.m4a"
    subprocess.run(
        rendered_encode_args(str(track.path), str(encoded), 2, preset), check=True, capture_output=True
    )
    whole, _ = measure_loudness(
        loudness_measure_args(str(encoded), 2, RATE), RATE, 2, timeout_s=60, what="whole"
    )
    chunked, runs = measure_encoded(str(encoded), track.frames, RATE, 2, timeout_s=60)
    assert len(runs) == 4 and all(run.returncode == 0 for run in runs)
    assert chunked["input_i"] == pytest.approx(whole["input_i"], abs=1e-3)
    assert chunked["input_tp"] == pytest.approx(whole["input_tp"], abs=1e-3)
    assert chunked["input_lra"] == pytest.approx(whole["input_lra"], abs=1e-2)


def test_a_render_encoded_as_it_renders_is_the_encode_of_the_rendered_track(track, tmp_path):
    preset = resolve_preset("low", "fast", "general")
    chain = gain_filters(22.0, -3.0, RATE)
    streamed, afterwards = tmp_path / "streamed.m4a", tmp_path / "afterwards.m4a"

    def encode(output):
        def encoder(path: str, container: str) -> list[str]:
            return rendered_encode_args("pipe:0", path, 2, preset, container=container)

        return lambda samples, ready=None: encode_in_chunks(
            samples, track.frames, RATE, encoder, str(output), 60, ready
        )

    _, runs = track.render(chain, encode=encode(streamed))
    encodes = len(plan_encode_chunks(track.frames, RATE, audio_render.render_workers()))
    assert encodes > 1 and len(runs) == len(track.chunks) + encodes + 1  # renders, encodes, splice
    with SampleFile.opened(track.rendered, 2) as samples:
        encode(afterwards)(samples)
    assert audio_stream_hash(str(streamed), 60)[0] == audio_stream_hash(str(afterwards), 60)[0]
