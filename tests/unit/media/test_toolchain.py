"""The ffmpeg gate's parsing and verdicts, on ffmpeg's real output formats."""

from __future__ import annotations

import subprocess

from raybatch.executors.placement import EncoderChoice, node_video_encoder
from raybatch.media.toolchain import (
    BASE_ENCODERS,
    FILTERS,
    Toolchain,
    failure_message,
    inspect_toolchain,
    parse_encoders,
    parse_filters,
    parse_version,
    problems,
)

UBUNTU_2204 = (
    "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers\nbuilt with gcc"
)


def test_versions_of_distribution_static_and_snapshot_builds():
    assert parse_version(UBUNTU_2204) == (4, 4)
    assert parse_version("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026") == (5, 1)
    assert parse_version("ffmpeg version n7.1-23-g3cd1a6d4c9-20250131 Copyright") == (7, 1)
    assert parse_version("ffprobe version 6.1.1-3ubuntu5 Copyright") == (6, 1)
    assert parse_version("ffmpeg version N-118386-g7a8eb3c9d7-20250131 Copyright") is None
    assert parse_version("") is None


def test_this_machines_ffmpeg_lists_are_read_in_full():
    tools = inspect_toolchain()
    assert tools.version is not None and tools.version >= (5, 1)
    assert {"libx264", *BASE_ENCODERS} <= tools.encoders
    assert set(FILTERS) <= tools.filters
    # Only names: no legend entries ("=") or column headers.
    assert "=" not in tools.encoders and "=" not in tools.filters
    listed = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True).stdout
    assert len(tools.filters) == len(parse_filters(listed)) > 100


def test_encoder_and_filter_lines():
    encoders = parse_encoders(
        "Encoders:\n V..... = Video\n A..... = Audio\n ------\n"
        " V....D libx264              libx264 H.264 / AVC\n A....D aac                  AAC\n"
    )
    assert encoders == {"libx264", "aac"}
    filters = parse_filters(
        "Filters:\n  T.. = Timeline support\n ... loudnorm           A->A       EBU R128\n"
        " TSC scale             V->V       Scale\n ... concat            N->N       Concatenate\n"
    )
    assert filters == {"loudnorm", "scale", "concat"}


def _complete(**changes) -> Toolchain:
    tools = Toolchain(
        "/usr/bin/ffmpeg", "/usr/bin/ffprobe", "ffmpeg version 7.1", (7, 1), (7, 1),
        {"libx264", "h264_nvenc", *BASE_ENCODERS}, set(FILTERS),
    )  # fmt: skip
    for key, value in changes.items():
        setattr(tools, key, value)
    return tools


def test_problems_name_what_is_missing():
    assert problems(_complete(), "libx264") == []
    assert problems(_complete(version=(4, 4), probe_version=(4, 4)), "libx264") == [
        "ffmpeg 4.4 is older than 5.1",
        "ffprobe 4.4 is older than 5.1",
    ]
    assert problems(_complete(encoders={"aac"}), "h264_nvenc") == [
        "encoders missing: h264_nvenc, pcm_f32le, png"
    ]
    # A node that encodes no video needs no video encoder.
    assert problems(_complete(encoders=set(BASE_ENCODERS)), None) == []
    assert problems(_complete(filters=set(FILTERS) - {"alimiter"}), "libx264") == [
        "filters missing: alimiter"
    ]
    assert problems(Toolchain(None, "/usr/bin/ffprobe"), "libx264") == ["ffmpeg not found on PATH"]


def test_failure_message_names_each_bad_machine():
    good = {"node": "cpu-1", "ffmpeg": "/usr/bin/ffmpeg", "version": "ffmpeg version 7.1", "problems": []}
    bad = {
        **good,
        "node": "gpu-1",
        "version": UBUNTU_2204.splitlines()[0],
        "problems": ["ffmpeg 4.4 is older than 5.1"],
    }
    assert failure_message([good]) is None
    message = failure_message([good, bad])
    assert (
        "on 1 machine:\n  gpu-1: ffmpeg 4.4 is older than 5.1 (/usr/bin/ffmpeg: ffmpeg version 4.4.2"
        in message
    )
    assert "cpu-1" not in message


def test_nvenc_runs_need_nvenc_only_where_nodes_advertise_it():
    nvenc, x264 = EncoderChoice("h264_nvenc", "requested"), EncoderChoice("libx264", "requested")
    gpu_node, cpu_node = {"resources": {"CPU": 8, "nvenc": 3}}, {"resources": {"CPU": 16}}
    assert node_video_encoder(gpu_node, nvenc) == "h264_nvenc"
    assert node_video_encoder(cpu_node, nvenc) is None
    assert node_video_encoder(cpu_node, x264) == node_video_encoder(gpu_node, x264) == "libx264"


def test_the_filter_list_names_every_filter_the_commands_use():
    import re
    from pathlib import Path

    source = "\n".join(p.read_text() for p in (Path(__file__).parents[3] / "raybatch").rglob("*.py"))
    named = set(re.findall(r'(?:Filter|filter|filter_multi_output)\(\s*"([a-z0-9_]+)"', source))
    # The quality check's filtergraph is a string (media/quality.py).
    in_graphs = {"psnr", "ssim"}
    assert named | in_graphs == set(FILTERS)
