"""What a run plans with on a cluster (from a node listing, no Ray started)."""

from __future__ import annotations

from raybatch.executors.cluster import Cluster


def _node(address: str, **resources: float) -> dict:
    return {"node": address, "address": address, "resources": resources}


def test_x264_pool_counts_only_cpu_nodes_and_local_paths_warn_on_several_machines():
    nodes = [_node("10.0.0.1", CPU=0), _node("10.0.0.2", CPU=16), _node("10.0.0.3", CPU=8, GPU=1, nvenc=4)]
    cluster = Cluster(on_ray=True, nodes=nodes)
    assert cluster.cpu_node_cpus == 16
    assert Cluster(on_ray=True, nodes=[_node("127.0.0.1", CPU=2, GPU=1)]).cpu_node_cpus == 0
    warnings = cluster.local_path_warnings("/data/in", "s3://bucket/out")
    assert len(warnings) == 1 and "/data/in" in warnings[0] and "3 machines" in warnings[0]
    one_machine = Cluster(on_ray=True, nodes=[_node("127.0.0.1", CPU=2), _node("127.0.0.1", CPU=1)])
    assert one_machine.local_path_warnings("/data") == []


def test_capacity_sums_the_nodes_and_the_local_executor_uses_this_machine():
    nodes = [_node("10.0.0.2", CPU=16, memory=64e9), _node("10.0.0.3", CPU=8, GPU=2, nvenc=4, memory=32e9)]
    cluster = Cluster(on_ray=True, nodes=nodes)
    assert (cluster.cpus, cluster.gpus, cluster.nvenc_sessions) == (24, 2, 4)
    assert cluster.memory_bytes == 96e9
    local = Cluster(on_ray=False)
    # The local executor schedules no GPUs; it has this machine's CPUs and free memory.
    assert local.gpus == 0 and local.cpus >= 1 and local.memory_bytes > 0
