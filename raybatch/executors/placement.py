"""Where the work runs: which video encoder a run uses, and on which nodes.

Nodes with a hardware encoder advertise the custom Ray resource ``nvenc`` (its count is the
number of concurrent NVENC sessions the node allows; see ``cluster/*.yaml``). A run uses one
encoder for every segment of every video, because stream-copy concatenation needs identical
settings: NVENC when it was asked for or (``auto``) when nodes advertise it and a test encode
there succeeds; x264 on CPU nodes otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from raybatch.errors import ClusterError
from raybatch.media.commands import NVENC_ENCODERS
from raybatch.media.runner import MediaError, run_command
from raybatch.media.toolchain import FIX_HINT, check_here, failure_message

NVENC_RESOURCE = "nvenc"
#: NVENC sessions an embedded Ray advertises on a workstation whose GPU encodes (consumer
#: drivers allow a handful of concurrent sessions; data-centre GPUs more).
LOCAL_NVENC_SESSIONS = 3


@dataclass(frozen=True)
class EncoderChoice:
    """The run's video encoder and why it was chosen."""

    encoder: str
    reason: str
    warning: str | None = None

    @property
    def hardware(self) -> bool:
        return self.encoder in NVENC_ENCODERS


def choose_video_encoder(
    requested: str, nvenc_sessions: float, probe: Callable[[str], str | None]
) -> EncoderChoice:
    """Decide the encoder. ``requested``: ``auto``, ``libx264`` or an NVENC encoder;
    ``nvenc_sessions``: the cluster's total ``nvenc`` resource; ``probe(encoder)``: ``None`` when
    a test encode on an NVENC node works, else what went wrong. Raises :class:`ClusterError`
    when an explicitly requested NVENC encoder cannot run."""
    if requested == "libx264":
        return EncoderChoice("libx264", "requested")
    if requested == "auto":
        if nvenc_sessions < 1:
            return EncoderChoice("libx264", "no node advertises the nvenc resource")
        problem = probe("h264_nvenc")
        if problem is None:
            sessions = f"{nvenc_sessions:g} NVENC sessions advertised"
            return EncoderChoice("h264_nvenc", f"{sessions}; test encode ok")
        return EncoderChoice(
            "libx264",
            "NVENC test encode failed",
            warning=f"nodes advertise {NVENC_RESOURCE} but h264_nvenc failed there ({problem}); "
            "encoding with libx264 on CPU. Check the NVIDIA driver and that ffmpeg was built with NVENC.",
        )
    if requested not in NVENC_ENCODERS:
        raise ClusterError(f"unknown encoder {requested!r}: use auto, libx264, h264_nvenc or hevc_nvenc")
    if nvenc_sessions < 1:
        raise ClusterError(
            f"--encoder {requested}: no node advertises the {NVENC_RESOURCE!r} resource; start GPU "
            f"nodes with `ray start --resources '{{\"{NVENC_RESOURCE}\": 3}}'` (see cluster/README.md) "
            "or use --encoder auto"
        )
    problem = probe(requested)
    if problem is not None:
        raise ClusterError(
            f"--encoder {requested}: the test encode on an NVENC node failed ({problem}); check the NVIDIA "
            "driver and ffmpeg's NVENC support there, or use --encoder auto"
        )
    return EncoderChoice(requested, "requested; test encode ok")


def nvenc_test_args(encoder: str) -> list[str]:
    """A fraction of a second of generated video through ``encoder``, output discarded."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
            "testsrc2=size=320x240:rate=25:duration=0.4", "-c:v", encoder, "-f", "null", "-"]  # fmt: skip


def try_encoder(encoder: str, timeout_s: float = 60.0) -> str | None:
    """``None`` when ``encoder`` works on this machine, else ffmpeg's complaint."""
    try:
        run_command(nvenc_test_args(encoder), timeout_s=timeout_s, what=f"{encoder} test encode")
    except MediaError as exc:
        lines = [line for line in (exc.stderr_tail or str(exc)).splitlines() if line.strip()]
        return lines[-1] if lines else str(exc)
    return None


def nvenc_device_present() -> bool:
    """Whether this machine has an NVIDIA device node (cheap; the test encode decides)."""
    return os.path.exists("/dev/nvidiactl")


def probe_on_cluster(encoder: str, timeout_s: float = 120.0) -> str | None:
    """Run :func:`try_encoder` on a node that advertises ``nvenc``."""
    import ray

    remote = ray.remote(num_cpus=0, resources={NVENC_RESOURCE: 1}, max_retries=0)(try_encoder)
    ref = remote.remote(encoder)
    ready, _ = ray.wait([ref], timeout=timeout_s)
    if not ready:
        ray.cancel(ref, force=True)
        return f"no answer from an {NVENC_RESOURCE} node within {timeout_s:g} s"
    return ray.get(ref)


def node_video_encoder(node: dict[str, Any], encoder: EncoderChoice) -> str | None:
    """The video encoder ``node`` must have: NVENC runs encode on the nodes that advertise it;
    x264 runs encode anywhere."""
    if not encoder.hardware:
        return encoder.encoder
    return encoder.encoder if node["resources"].get(NVENC_RESOURCE) else None


def check_toolchains(nodes: list[dict[str, Any]], encoder: EncoderChoice, remote_nodes: bool) -> None:
    """Check the ffmpeg of this machine (the driver probes and stages inputs) and, when the run's
    nodes are other machines (``remote_nodes``: a cluster joined, not an embedded Ray, whose one
    node is this machine), of every node, once, before any work; raise :class:`ClusterError`
    naming each node that lacks something and how to fix it."""
    reports = [check_here(None if remote_nodes else encoder.encoder)]
    if remote_nodes:
        reports += _check_nodes(nodes, encoder)
    message = failure_message(reports)
    if message:
        raise ClusterError(message, hint=FIX_HINT)


def _check_nodes(
    nodes: list[dict[str, Any]], encoder: EncoderChoice, timeout_s: float = 180.0
) -> list[dict[str, Any]]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(num_cpus=0, max_retries=1)(check_here)
    refs = [
        remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["id"], soft=False)).remote(
            node_video_encoder(node, encoder)
        )
        for node in nodes
    ]
    try:
        reports = ray.get(refs, timeout=timeout_s)
    except (ray.exceptions.GetTimeoutError, ray.exceptions.RayError) as exc:
        raise ClusterError(
            f"the ffmpeg check got no answer from every node within {timeout_s:g} s ({type(exc).__name__})",
            hint="check that every node is alive (ray status) and can start workers, then run again",
        ) from None
    for node, report in zip(nodes, reports, strict=True):
        report["node"] = f"node {node['address']} ({report['node']})"
    return reports
