"""Which encoder a run uses and its options (pure decisions, no Ray)."""

from __future__ import annotations

import pytest

from raybatch.config.presets import resolve_preset
from raybatch.errors import ClusterError
from raybatch.executors.placement import choose_video_encoder
from raybatch.media.commands import video_encoder_options


def _never_called(encoder: str) -> str | None:
    raise AssertionError("no test encode expected")


def test_auto_without_nvenc_nodes_is_x264_without_probing():
    choice = choose_video_encoder("auto", 0, _never_called)
    assert (choice.encoder, choice.hardware, choice.warning) == ("libx264", False, None)


def test_auto_with_working_nvenc_nodes_is_nvenc():
    choice = choose_video_encoder("auto", 4, lambda encoder: None)
    assert choice.encoder == "h264_nvenc" and choice.hardware


def test_auto_with_nvenc_nodes_whose_encoder_fails_falls_back_with_the_reason():
    choice = choose_video_encoder("auto", 1, lambda encoder: "Cannot load libnvidia-encode.so.1")
    assert choice.encoder == "libx264"
    assert "libnvidia-encode" in choice.warning and "libx264" in choice.warning


def test_explicit_nvenc_fails_clearly_when_impossible():
    with pytest.raises(ClusterError, match="no node advertises the 'nvenc' resource"):
        choose_video_encoder("hevc_nvenc", 0, _never_called)
    with pytest.raises(ClusterError, match="test encode on an NVENC node failed"):
        choose_video_encoder("h264_nvenc", 2, lambda encoder: "No NVENC capable devices found")
    assert choose_video_encoder("hevc_nvenc", 2, lambda encoder: None).encoder == "hevc_nvenc"
    assert choose_video_encoder("libx264", 8, _never_called).encoder == "libx264"


def test_nvenc_options_keep_fixed_closed_gops_like_x264():
    preset = resolve_preset("high", "balanced", "general")
    x264 = video_encoder_options(preset, "30/1", 2)
    for encoder in ("h264_nvenc", "hevc_nvenc"):
        nvenc = video_encoder_options(preset.__class__(**{**preset.to_dict(), "encoder": encoder}), "30/1", 2)
        assert nvenc["c:v"] == encoder and nvenc["g"] == nvenc["keyint_min"] == x264["g"] == 60
        assert nvenc["no-scenecut"] == 1 and nvenc["forced-idr"] == 1 and nvenc["pix_fmt"] == "yuv420p"
        assert nvenc["preset"] == "p5" and nvenc["cq"] > x264["crf"]
    assert (
        video_encoder_options(preset.__class__(**{**preset.to_dict(), "encoder": "hevc_nvenc"}), "30/1", 2)[
            "tag:v"
        ]
        == "hvc1"
    )
