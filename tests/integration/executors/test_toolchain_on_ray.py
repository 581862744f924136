"""The ffmpeg gate on the shared Ray session: every node answers from its own machine."""

from __future__ import annotations

import pytest

from raybatch.errors import ClusterError
from raybatch.executors.cluster import cluster_nodes
from raybatch.executors.placement import EncoderChoice, check_toolchains


def test_every_node_is_checked_and_passes(ray_session):
    nodes = cluster_nodes()
    # No exception: this machine's ffmpeg and the node's (the same) pass.
    check_toolchains(nodes, EncoderChoice("libx264", "requested"), remote_nodes=True)


def test_a_failing_node_is_named_with_its_address(ray_session):
    nodes = cluster_nodes()
    # The run's encoder is one no ffmpeg has: the nodes (which encode) lack it, the driver
    # (which does not, on Ray) is fine.
    with pytest.raises(ClusterError) as raised:
        check_toolchains(nodes, EncoderChoice("libno_such_encoder", "requested"), remote_nodes=True)
    message = raised.value.message
    assert message.startswith(f"ffmpeg cannot run this job on {len(nodes)} machine")
    assert f"node {nodes[0]['address']} (" in message and "encoders missing: libno_such_encoder" in message
    assert "cluster/install_ffmpeg.sh" in raised.value.hint
