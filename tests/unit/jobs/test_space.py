"""The work space a video needs, estimated before any work."""

from raybatch.jobs.space import estimate_work_bytes
from raybatch.media.probe import parse_probe


def _media(duration: float, channels: int | None):
    streams = [
        {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 640, "height": 360,
         "avg_frame_rate": "25/1", "r_frame_rate": "25/1", "duration": str(duration)},
    ]  # fmt: skip
    if channels:
        streams.append(
            {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": channels,
             "sample_rate": "48000", "duration": str(duration)}
        )  # fmt: skip
    return parse_probe({"streams": streams, "format": {"duration": str(duration)}}, size_bytes=10_000_000)


def test_work_is_two_encoded_copies_plus_model_frames_and_three_float_copies_of_the_sound():
    assert estimate_work_bytes(10_000_000, None) == 20_000_000
    silent = estimate_work_bytes(10_000_000, _media(60.0, None))
    assert silent == 20_000_000 + 60 * 25 * 48 * 27 * 3
    stereo = estimate_work_bytes(10_000_000, _media(60.0, 2))
    assert stereo - silent == 3 * 60 * 48000 * 2 * 4  # edited, fitted, rendered
    assert estimate_work_bytes(10_000_000, _media(60.0, 6)) == stereo  # the edit mixes to stereo


def test_a_long_track_also_needs_its_codec_samples_one_chunk_per_render_worker(monkeypatch):
    from raybatch.jobs import space

    monkeypatch.setattr(space, "render_workers", lambda: 2)
    silent = estimate_work_bytes(10_000_000, _media(3600.0, None))
    stereo = estimate_work_bytes(10_000_000, _media(3600.0, 2))
    assert stereo - silent == (3 * 3600 + 2 * 120) * 48000 * 2 * 4
