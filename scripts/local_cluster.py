"""A multi-node Ray cluster on this one machine, bound to loopback: for the tests, the scaling
benchmark, and for trying cluster mode without machines.

Each node is a real raylet with its own resources, so the scheduler places work exactly as on
separate machines (CPU nodes, a "GPU" node advertising ``GPU`` and ``nvenc``); they only share
the CPU cores. The head claims no CPUs (as in cluster/*.yaml) and serves the dashboard and the
job API on 127.0.0.1 only. Ray's token auth applies as configured in the environment.

    python scripts/local_cluster.py --node '{"num_cpus": 1}' \\
        --node '{"num_cpus": 1, "num_gpus": 1, "resources": {"nvenc": 1}}'

prints one JSON line (``address``, ``dashboard``, ``nodes``) and runs until its standard input
closes or it is terminated. A line ``{"add": {...}}`` on standard input adds a node and prints
it; ``{"remove": "<node id>"}`` removes one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _describe(node, spec: dict[str, Any]) -> dict[str, Any]:
    resources = {"CPU": spec.get("num_cpus", 1), "GPU": spec.get("num_gpus", 0), **spec.get("resources", {})}
    return {"id": node.node_id, "resources": {k: v for k, v in resources.items() if v}}


def _add_node(cluster, spec: dict[str, Any]):
    """Add a node; ``cpu_affinity`` (a list of core numbers) pins the node's raylet, and so its
    workers and their ffmpeg, to those cores: one machine's cores stand in for separate machines."""
    spec = dict(spec)
    cores = spec.pop("cpu_affinity", None)
    everything = os.sched_getaffinity(0)
    if cores is not None:
        os.sched_setaffinity(0, set(cores))
    try:
        return cluster.add_node(node_ip_address="127.0.0.1", **spec)
    finally:
        os.sched_setaffinity(0, everything)


def _start_head(cluster_type: Any, head_cpus: float, system_config: dict[str, Any], tries: int = 5):
    """The cluster's head, on a free dashboard port. A port found free can be taken by another
    process (the other test worker's Ray) before the dashboard binds it: then another port."""
    for attempt in range(tries):
        dashboard_port = free_port()
        try:
            cluster = cluster_type(
                initialize_head=True,
                head_node_args={
                    "num_cpus": head_cpus,
                    "include_dashboard": True,
                    "dashboard_host": "127.0.0.1",
                    "dashboard_port": dashboard_port,
                    "node_ip_address": "127.0.0.1",
                    # As raybatch's own embedded Ray (the head's system config holds for every node).
                    "_system_config": system_config,
                },
            )
        except ValueError as exc:
            if "already occupied" not in str(exc) or attempt == tries - 1:
                raise
            continue
        return cluster, dashboard_port
    raise AssertionError("unreachable")


def serve(node_specs: list[dict[str, Any]], head_cpus: float) -> None:
    """Start the cluster, print its description, then obey standard input until it closes."""
    # Loopback only: every node and worker of this cluster binds 127.0.0.1.
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    from ray.cluster_utils import Cluster

    from raybatch.executors.cluster import EMBEDDED_SYSTEM_CONFIG

    cluster, dashboard_port = _start_head(Cluster, head_cpus, EMBEDDED_SYSTEM_CONFIG)
    nodes = {cluster.head_node.node_id: cluster.head_node}
    described = [_describe(cluster.head_node, {"num_cpus": head_cpus})]
    for spec in node_specs:
        node = _add_node(cluster, spec)
        nodes[node.node_id] = node
        described.append(_describe(node, spec))
    cluster.wait_for_nodes()
    print(
        json.dumps(
            {
                "address": cluster.address,
                "dashboard": f"http://127.0.0.1:{dashboard_port}",
                "nodes": described,
            }
        ),
        flush=True,
    )
    # Commands run on the main thread: starting a node installs signal handlers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            try:
                if "add" in command:
                    node = _add_node(cluster, command["add"])
                    nodes[node.node_id] = node
                    cluster.wait_for_nodes()
                    answer = _describe(node, command["add"])
                else:
                    cluster.remove_node(nodes.pop(command["remove"]))
                    answer = {"removed": command["remove"]}
            except Exception as exc:  # the caller reads one answer per command, even a failure
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    finally:
        cluster.shutdown()


class LocalCluster:
    """A running :func:`serve` process, driven from Python (tests, benchmarks)."""

    def __init__(self, process: subprocess.Popen, info: dict[str, Any]):
        self.process = process
        self.address: str = info["address"]
        self.dashboard: str = info["dashboard"]
        self.nodes: list[dict[str, Any]] = info["nodes"]

    def add_node(self, **spec: Any) -> dict[str, Any]:
        return self._command({"add": spec})

    def remove_node(self, node_id: str) -> None:
        self._command({"remove": node_id})

    def _command(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline() or '{"error": "the cluster process exited"}')
        if "error" in answer:
            raise RuntimeError(answer["error"])
        if "id" in answer:
            self.nodes.append(answer)
        return answer

    def node_with(self, resource: str) -> dict[str, Any]:
        """The (first) node advertising ``resource``."""
        return next(n for n in self.nodes if n["resources"].get(resource))


@contextmanager
def local_cluster(nodes: list[dict[str, Any]], *, head_cpus: float = 0, timeout_s: float = 120) -> Iterator:
    """Run a :class:`LocalCluster` for the duration of the ``with`` block."""
    command = [sys.executable, __file__, "--head-cpus", str(head_cpus)]
    for spec in nodes:
        command += ["--node", json.dumps(spec)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the local cluster did not start (exit {process.wait(timeout_s)})")
        yield LocalCluster(process, json.loads(line))
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--node", action="append", default=[], help="a worker node's resources, as JSON")
    parser.add_argument("--head-cpus", type=float, default=0, help="CPUs of the head node [0]")
    args = parser.parse_args()
    serve([json.loads(spec) for spec in args.node], args.head_cpus)


if __name__ == "__main__":
    main()
