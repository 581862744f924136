"""The Ray cluster a run uses: joining one, or starting an embedded one on this machine, and
what it has to plan with.

An embedded Ray binds loopback only, runs no dashboard and keeps Ray's token auth; it is started
with ``address="local"``, so a ``ray start`` cluster on the same machine is joined only when
asked (``--ray-address auto``). raybatch never stops a cluster it did not start. Ray's own
console output (Ray Data's info lines and warnings, start-up and token notices) stays out of the
terminal unless the log level is DEBUG (``--verbose``); its files keep everything.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from raybatch.config.model import BatchSettings
from raybatch.errors import ClusterError
from raybatch.executors.placement import LOCAL_NVENC_SESSIONS, NVENC_RESOURCE, nvenc_device_present
from raybatch.io.storage import is_local

log = logging.getLogger(__name__)

#: Ray reads this when it is imported: "0" keeps every process of a local Ray on 127.0.0.1.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass(frozen=True)
class Cluster:
    """Where a run's work goes, and what it has."""

    on_ray: bool
    #: Whether this process started the Ray it uses (an embedded Ray on this machine).
    started_here: bool = False
    nodes: list[dict[str, Any]] = field(default_factory=list)
    #: Whether this run is the entrypoint of a ``ray job submit``.
    inside_ray_job: bool = False

    def total(self, resource: str) -> float:
        """How much of ``resource`` the nodes have together."""
        return float(sum(node["resources"].get(resource, 0) for node in self.nodes))

    @property
    def cpus(self) -> float:
        return (self.total("CPU") or 1.0) if self.on_ray else float(os.cpu_count() or 1)

    @property
    def memory_bytes(self) -> float | None:
        if self.on_ray:
            return self.total("memory") or None
        return float(psutil.virtual_memory().available)

    @property
    def gpus(self) -> float:
        """GPUs to plan model actors with (the local executor schedules none)."""
        return self.total("GPU") if self.on_ray else 0.0

    @property
    def nvenc_sessions(self) -> float:
        if self.on_ray:
            return self.total(NVENC_RESOURCE)
        return LOCAL_NVENC_SESSIONS if nvenc_device_present() else 0

    @property
    def cpu_node_cpus(self) -> float:
        """CPUs of the nodes without GPUs: the x264 pool is sized from these, so that encoders
        do not fill the GPU nodes' CPUs that their model actors need (Ray itself places CPU-only
        work on GPU nodes only when the CPU nodes are full). 0 when every node has a GPU."""
        return float(sum(n["resources"].get("CPU", 0) for n in self.nodes if not n["resources"].get("GPU")))

    def local_path_warnings(self, *uris: str) -> list[str]:
        """A warning for each local path when the cluster spans several machines: every node
        must see the same files there (a shared filesystem), or the path should be a bucket."""
        hosts = {node["address"] for node in self.nodes}
        if len(hosts) < 2:
            return []
        return [
            f"{uri} is a local path but the cluster spans {len(hosts)} machines: every node must mount it "
            "at the same place (NFS, EFS, Filestore), or use object storage (s3://, gs://)"
            for uri in uris
            if uri and is_local(uri)
        ]


@contextlib.contextmanager
def connect(batch: BatchSettings, verbose: bool = False) -> Iterator[Cluster]:
    """The run's cluster for as long as the run lasts; an embedded Ray is shut down after."""
    if batch.executor != "ray":
        yield Cluster(on_ray=False)
        return
    import ray

    with warnings.catch_warnings():
        if not verbose:
            # Ray's own advice about its internals (deprecations, pool sizes) is for Ray developers.
            warnings.filterwarnings("ignore", module=r"ray\.")
        started = connect_ray(batch.ray_address, verbose)
        try:
            yield Cluster(
                on_ray=True,
                started_here=started,
                nodes=cluster_nodes(),
                inside_ray_job="RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ,
            )
        finally:
            if started:
                ray.shutdown()


def connect_ray(address: str | None, verbose: bool = False) -> bool:
    """Connect to Ray and return whether this process started it.

    ``address`` (``--ray-address``: ``host:port``, ``ray://host:10001`` or ``auto`` for the
    cluster this machine belongs to) wins; else the cluster this process runs in: ``ray job
    submit`` sets ``RAY_ADDRESS`` for its entrypoint, so a submitted batch joins that cluster and
    never starts or stops one. Otherwise an embedded Ray on this machine only; ``local`` is
    explicit because Ray's own default would silently join any ``ray start`` cluster here."""
    import ray

    if ray.is_initialized():
        return False
    # Workers' output stays in their log files: a stage's log records reach the driver on its rows.
    level = logging.INFO if verbose else logging.ERROR
    target = address or os.environ.get("RAY_ADDRESS")
    embedded = not target or target == "local"
    if embedded:
        _start_embedded(level)
    else:
        # A cluster on this machine's loopback (a test cluster, a submitted job's own head) sees
        # this process at 127.0.0.1 too, as its nodes are.
        local = contextlib.nullcontext() if not on_loopback(target) else loopback_only()
        try:
            with local:
                ray.init(address=target, logging_level=level, log_to_driver=False)
        except ConnectionError as exc:
            raise ClusterError(
                f"cannot reach the Ray cluster at {target}: {exc}; check --ray-address / RAY_ADDRESS "
                "(and, with token auth, RAY_AUTH_TOKEN or ~/.ray/auth_token)"
            ) from None
    quiet_ray_data(verbose)
    return embedded


#: Ray ends an idle worker after one second once a node holds more workers than CPUs. The
#: branches' mailbox readers hold workers for the whole run, so with Ray's setting every stage's
#: task would start a fresh worker process (a second of CPU each, measured on 2 cores: 10% of a
#: 20 s video's run), the finishing tasks of a long video's end included. Idle workers live ten
#: minutes instead, and the next stage reuses them.
EMBEDDED_SYSTEM_CONFIG = {"idle_worker_killing_time_threshold_ms": 600_000}


def _start_embedded(level: int) -> None:
    import ray

    # A workstation's own GPU encoder counts like a cluster node's (the test encode decides).
    resources = {NVENC_RESOURCE: LOCAL_NVENC_SESSIONS} if nvenc_device_present() else None
    token = auth_token_path()
    had_token = token.exists() if token else True
    with loopback_only():
        ray.init(
            address="local",
            include_dashboard=False,
            resources=resources,
            logging_level=level,
            log_to_driver=False,
            _system_config=EMBEDDED_SYSTEM_CONFIG,
        )
    if token and not had_token and token.exists():
        log.warning(
            "Ray token authentication is on: a token was created at %s (ray job submit and ray start "
            "on this machine use it)",
            token,
        )


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Start a local Ray whose every process listens on 127.0.0.1 only, however raybatch was
    started. Ray decides from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``: the processes it starts read
    the variable, and this process reads the constant Ray derived from it when it was first
    imported (possibly before raybatch set anything), so both are set while Ray starts. Both go
    back afterwards: a later connection to a real cluster must announce this machine's address."""
    from ray._private import ray_constants

    saved_env, saved_constant = os.environ.get(LOOPBACK_ENV), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
        if saved_env is None:
            os.environ.pop(LOOPBACK_ENV, None)
        else:
            os.environ[LOOPBACK_ENV] = saved_env


def on_loopback(address: str) -> bool:
    """Whether a cluster address (``host:port``, ``ray://host:port``) names this machine's loopback."""
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_token_path() -> Path | None:
    """Where Ray keeps this machine's token (``None`` when it comes from the environment)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return None
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def quiet_ray_data(verbose: bool) -> None:
    """Ray Data's console lines (execution plans, progress notices) only with ``--verbose``;
    its log file under the Ray session keeps them all."""
    import ray.data  # noqa: F401  (configures its logger)

    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.INFO if verbose else logging.ERROR)


def cluster_nodes() -> list[dict[str, Any]]:
    """The live nodes of the connected cluster: id, address and resources (for the report, and
    to tell which node ran what in the metrics)."""
    import ray

    return [
        {
            "id": node["NodeID"],
            "node": node["NodeID"][:12],
            "address": node["NodeManagerAddress"],
            "resources": {k: v for k, v in node["Resources"].items() if not k.startswith("node:")},
        }
        for node in ray.nodes()
        if node.get("Alive")
    ]
