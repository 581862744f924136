from raybatch.config.presets import resolve_preset
from raybatch.media.commands import (
    assemble_args,
    concat_list,
    enhancement_filters,
    output_dimensions,
    render_chain,
    segment_encode_args,
)
from raybatch.media.probe import VideoStream

PRESET = resolve_preset("high", "balanced", "general")


def stream(**extra):
    values = dict(
        index=0, codec="h264", width=1920, height=1080, sar="1:1", rotation=0, pix_fmt="yuv420p",
        fps="30000/1001", variable_frame_rate=False, start_s=0.0, duration_s=60.0,
    )  # fmt: skip
    values.update(extra)
    return VideoStream(**values)


def test_output_dimensions_cap_short_side_and_stay_even():
    assert output_dimensions(3840, 2160, 1080) == (1920, 1080)
    assert output_dimensions(1080, 1920, 720) == (720, 1280)  # portrait: the short side is width
    assert output_dimensions(427, 360, 1080) == (428, 360)  # never upscale, always even


def test_enhancement_chain_order_and_values():
    chain = render_chain(enhancement_filters(stream(width=3840, height=2160), PRESET))
    names = [part.split("=")[0] for part in chain.split(",")]
    assert names == ["fps", "tpad", "scale", "setsar", "hqdn3d", "eq", "unsharp", "format"]
    assert "w=1920" in chain and "h=1080" in chain
    assert "fps=30000/1001" in chain


def test_rotated_stream_scales_on_display_axes():
    chain = render_chain(enhancement_filters(stream(rotation=90), resolve_preset("low", "fast", "music")))
    assert "w=720:h=1280" in chain


def test_segment_command_seeks_accurately_and_counts_frames():
    args = segment_encode_args(
        "/in/a.mp4", "/w/seg.mp4", video=stream(), start_s=12.5, keep=[(0, 300)], preset=PRESET, threads=1
    )
    joined = " ".join(args)
    assert args[:3] == ["ffmpeg", "-ss", "12.500000"]  # input seek, before -i
    assert joined.index("-ss") < joined.index("-i /in/a.mp4")
    assert "-frames:v 300" in joined
    assert "-an" in args and "-c:v libx264" in joined and "-crf 20" in joined
    assert "-g 60" in joined and "-threads 1" in joined
    assert args[-1] == "-y" or "/w/seg.mp4" in args


def test_concat_list_escapes_quotes():
    text = concat_list(["/w/it's.mp4", "/w/b.mp4"])
    assert text.splitlines() == ["ffconcat version 1.0", "file '/w/it'\\''s.mp4'", "file '/w/b.mp4'"]


def test_assemble_copies_streams_with_faststart():
    joined = " ".join(assemble_args("/w/list.ffconcat", "/w/audio.m4a", "/o/out.mp4"))
    assert "-f concat" in joined and "-safe 0" in joined
    assert "-c copy" in joined and "-movflags +faststart" in joined
    no_audio = " ".join(assemble_args("/w/list.ffconcat", None, "/o/out.mp4"))
    assert "audio.m4a" not in no_audio
