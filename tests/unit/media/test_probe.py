import pytest

from raybatch.media.probe import NoVideoStreamError, choose_output_fps, parse_probe, resolve_timeline_duration
from raybatch.media.runner import MediaError


def video_stream(**extra):
    stream = {
        "index": 0,
        "codec_type": "video",
        "codec_name": "h264",
        "width": 1280,
        "height": 544,
        "sample_aspect_ratio": "1:1",
        "avg_frame_rate": "24000/1001",
        "r_frame_rate": "24000/1001",
        "pix_fmt": "yuv420p",
        "start_time": "0.000000",
        "duration": "10.010000",
        "disposition": {"default": 1, "attached_pic": 0},
    }
    stream.update(extra)
    return stream


def audio_stream(**extra):
    stream = {"index": 1, "codec_type": "audio", "codec_name": "aac", "sample_rate": "44100", "channels": 2}
    stream.update(extra)
    return stream


FORMAT = {"format_name": "mov,mp4", "start_time": "0.000000", "duration": "10.010000", "size": "1000"}


def test_rotation_swaps_display_axes():
    info = parse_probe(
        {"streams": [video_stream(side_data_list=[{"rotation": -90}]), audio_stream()], "format": FORMAT}
    )
    assert info.video.rotation == -90
    assert info.video.display_size == (544, 1280)
    assert info.duration_s == pytest.approx(10.01)


def test_non_square_pixels_widen_display():
    info = parse_probe(
        {"streams": [video_stream(width=640, height=360, sample_aspect_ratio="2:3")], "format": FORMAT}
    )
    assert info.video.display_size == (427, 360)
    assert info.audio is None


def test_cover_art_is_not_a_video():
    streams = [
        audio_stream(index=0),
        video_stream(index=1, codec_name="mjpeg", disposition={"attached_pic": 1}),
    ]
    with pytest.raises(NoVideoStreamError, match="only cover art"):
        parse_probe({"streams": streams, "format": FORMAT})


def test_audio_only_is_a_clear_error():
    with pytest.raises(NoVideoStreamError, match="streams found: audio"):
        parse_probe({"streams": [audio_stream(index=0)], "format": FORMAT})


def test_missing_duration_without_scan_asks_for_scan():
    fmt = {"format_name": "matroska,webm", "start_time": "0.000000"}
    with pytest.raises(MediaError, match="states no duration"):
        parse_probe({"streams": [video_stream(duration="N/A")], "format": fmt})


def test_missing_duration_resolved_by_packet_scan():
    fmt = {"format_name": "matroska,webm", "start_time": "0.000000"}
    info = parse_probe({"streams": [video_stream(duration="N/A")], "format": fmt}, scanned_video_end_s=7.5)
    assert info.duration_s == 7.5


def test_late_video_start_extends_timeline_from_file_start():
    assert resolve_timeline_duration(0.0, 5.0, 0.5, 4.0) == pytest.approx(4.5)
    # ffmpeg's t=0 is the format's start, so a file that starts at 1.075 s loses nothing
    assert resolve_timeline_duration(1.075, 2.035, 1.075, 0.96) == pytest.approx(0.96)


def test_extra_streams_are_listed_as_dropped():
    streams = [video_stream(), audio_stream(), {"index": 2, "codec_type": "subtitle", "codec_name": "ass"}]
    info = parse_probe({"streams": streams, "format": FORMAT})
    assert info.dropped_streams == [{"index": 2, "type": "subtitle", "codec": "ass"}]


def test_frame_rate_choice():
    assert choose_output_fps("30000/1001", "30000/1001") == (pytest.approx(30000 / 1001), False)
    rate, variable = choose_output_fps("2997/125", "1000/1")
    assert variable and float(rate) == pytest.approx(23.976, abs=0.01)
    assert choose_output_fps("0/0", "90000/1")[0] == 30  # absurd timebase: fall back
