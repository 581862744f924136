"""Where work runs and which encoder it uses (pure decisions, no Ray), and storage secrets."""

from __future__ import annotations

import pytest

from raybatch.api import cpu_node_cpus, warn_about_local_paths
from raybatch.config.presets import resolve_preset
from raybatch.executors.placement import choose_video_encoder
from raybatch.executors.resources import plan_nvenc_pool
from raybatch.io.storage import explain_storage_error, redact_options, without_redacted
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
    with pytest.raises(ValueError, match="no node advertises the 'nvenc' resource"):
        choose_video_encoder("hevc_nvenc", 0, _never_called)
    with pytest.raises(ValueError, match="test encode on an NVENC node failed"):
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


def test_nvenc_pool_is_one_actor_per_session():
    pool = plan_nvenc_pool(8, 32, encoder_memory_bytes=1 << 30)
    assert pool.size == 8 and pool.num_cpus == 1.0
    small = plan_nvenc_pool(3, 2, encoder_memory_bytes=1 << 30)
    assert small.size == 3 and small.num_cpus * 3 <= 2 - small.reserved_cpus


def _node(address: str, **resources: float) -> dict:
    return {"node": address, "address": address, "resources": resources}


def test_x264_pool_counts_only_cpu_nodes_and_local_paths_warn_on_several_machines():
    nodes = [_node("10.0.0.1", CPU=0), _node("10.0.0.2", CPU=16), _node("10.0.0.3", CPU=8, GPU=1, nvenc=4)]
    assert cpu_node_cpus(nodes) == 16
    assert cpu_node_cpus([_node("127.0.0.1", CPU=2, GPU=1)]) == 0
    warnings = warn_about_local_paths(nodes, "/data/in", "s3://bucket/out")
    assert len(warnings) == 1 and "/data/in" in warnings[0] and "3 machines" in warnings[0]
    assert warn_about_local_paths([_node("127.0.0.1", CPU=2), _node("127.0.0.1", CPU=1)], "/data") == []


def test_storage_secrets_are_redacted_and_dropped_on_resume():
    options = {"s3": {"endpoint_url": "http://minio:9000", "key": "AKIA123", "secret": "s3cr3t",
                      "client_kwargs": {"region_name": "eu-west-1", "aws_session_token": "tok"}}}  # fmt: skip
    redacted = redact_options(options)
    assert redacted["s3"]["endpoint_url"] == "http://minio:9000"
    assert redacted["s3"]["key"] == redacted["s3"]["secret"] == "***"
    assert redacted["s3"]["client_kwargs"] == {"region_name": "eu-west-1", "aws_session_token": "***"}
    assert "s3cr3t" not in str(redacted) and "AKIA123" not in str(redacted)
    assert without_redacted(redacted) == {
        "s3": {"endpoint_url": "http://minio:9000", "client_kwargs": {"region_name": "eu-west-1"}}
    }


def test_storage_errors_say_what_is_wrong_and_how_to_fix_it():
    missing = explain_storage_error("s3://nope/in", FileNotFoundError("The specified bucket does not exist"))
    assert "s3://nope does not exist" in str(missing) and "AWS_ENDPOINT_URL" in str(missing)
    denied = explain_storage_error("s3://b/out", PermissionError("Forbidden"), writing=True)
    assert "access denied" in str(denied) and "write to" in str(denied)
    local = explain_storage_error("/srv/out", PermissionError("denied"))
    assert "permissions" in str(local)
