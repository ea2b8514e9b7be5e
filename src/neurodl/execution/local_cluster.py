"""A real multi-node Ray cluster on this machine: a head and worker nodes as separate processes.

Each node is one ``ray start --block`` process in its own session (process group leader), on
``127.0.0.1``: the same thing as ``ray start`` on several machines, which is what the tests and
the scale benchmark need (connect by address, kill a node, shut everything down). Nodes are
ended by signalling the processes of their own session only.

Examples
--------
>>> with LocalRayCluster(n_nodes=2) as cluster:  # doctest: +SKIP
...     run_units(fn, units, execution={"backend": "ray", "address": cluster.address})
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError

__all__ = ["LocalRayCluster"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session_members(sid: int) -> list[int]:
    """Process ids whose session id is ``sid`` (Linux ``/proc``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid:  # fields after "comm": state ppid pgrp session ...
            out.append(int(entry.name))
    return out


class LocalRayCluster:
    """Start a head node and ``n_nodes - 1`` worker nodes with ``ray start`` on this machine.

    Parameters
    ----------
    n_nodes : int, default=2
        Nodes in all, the head included.
    cpus_per_node : int, default=1
        CPUs each node offers (``--num-cpus``).
    object_store_memory : int, default=300_000_000
        Bytes of shared memory per node for the object store.
    start_timeout : float, default=60.0
        Seconds to wait for every node to join.

    Examples
    --------
    Built, not started (starting it runs ``ray start`` processes; use it as a context manager):

    >>> cluster = LocalRayCluster(n_nodes=3, cpus_per_node=2)
    >>> cluster.n_nodes, cluster.nodes  # no process yet
    (3, [])
    >>> try:
    ...     cluster.address
    ... except RuntimeError as err:
    ...     print(err)
    the cluster is not started
    >>> try:
    ...     LocalRayCluster(n_nodes=0)
    ... except ValueError as err:
    ...     print(err)
    Invalid value for 'n_nodes'. Allowed: an int >= 1; got 0.
    """

    def __init__(
        self,
        n_nodes: int = 2,
        cpus_per_node: int = 1,
        *,
        object_store_memory: int = 300_000_000,
        start_timeout: float = 60.0,
    ) -> None:
        if not isinstance(n_nodes, int) or n_nodes < 1:
            raise ConfigError(
                f"Invalid value for 'n_nodes'. Allowed: an int >= 1; got {n_nodes!r}."
            )
        self.n_nodes = n_nodes
        self.cpus_per_node = cpus_per_node
        self.object_store_memory = object_store_memory
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.nodes: list[subprocess.Popen[bytes]] = []
        self.log_dir: Path | None = None

    @property
    def address(self) -> str:
        """``"127.0.0.1:port"`` of the head node."""
        if self.port is None:
            raise RuntimeError("the cluster is not started")
        return f"127.0.0.1:{self.port}"

    def _ray_start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        env = dict(
            os.environ,
            RAY_USAGE_STATS_ENABLED="0",
            OMP_NUM_THREADS="1",
            RAY_health_check_period_ms="1000",
            RAY_health_check_failure_threshold="3",
            # Ray >= 2.5x turns token auth on for `ray start` whenever ~/.ray/auth_token exists
            # (any private ray.init() writes one), while a driver connecting by address does
            # not send it: a loopback test cluster runs without auth unless asked otherwise
            RAY_AUTH_MODE=os.environ.get("RAY_AUTH_MODE", "disabled"),
        )
        assert self.log_dir is not None
        log = (self.log_dir / f"{name}.log").open("wb")
        cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *args]
        common = [
            f"--num-cpus={self.cpus_per_node}",
            f"--object-store-memory={self.object_store_memory}",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
        ]
        proc = subprocess.Popen(
            cmd + common, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        return proc

    def start(self) -> LocalRayCluster:
        """Start the nodes and wait until all have joined the cluster."""
        self.log_dir = Path(tempfile.mkdtemp(prefix="ndl-ray-"))
        self.port = _free_port()
        head_args = ["--head", f"--port={self.port}", "--include-dashboard=false"]
        self.nodes.append(self._ray_start(head_args, "head"))
        self._wait_port()
        for k in range(1, self.n_nodes):
            self.nodes.append(self._ray_start([f"--address={self.address}"], f"worker{k}"))
        return self

    def _wait_port(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.nodes[0].poll() is not None:
                raise RuntimeError(f"ray head exited early; see {self.log_dir}/head.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"ray head did not open port {self.port} in {self.start_timeout} s")

    def wait_for_nodes(self, ray: Any, n_alive: int | None = None) -> None:
        """Block until ``n_alive`` nodes (default all) are alive in the connected ``ray``."""
        want = self.n_nodes if n_alive is None else n_alive
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if sum(1 for n in ray.nodes() if n["Alive"]) == want:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{want} Ray nodes not alive after {self.start_timeout} s")

    def kill_node(self, index: int) -> None:
        """SIGKILL every process of node ``index`` (its raylet and its workers)."""
        proc = self.nodes[index]
        for pid in _session_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)

    def stop(self) -> None:
        """Disconnect this process if connected, then kill the worker nodes and the head."""
        if "ray" in sys.modules:
            import ray

            if ray.is_initialized():
                ray.shutdown()
        for index in reversed(range(len(self.nodes))):
            if self.nodes[index].poll() is None or _session_members(self.nodes[index].pid):
                self.kill_node(index)
        self.nodes = []
        if self.log_dir is not None:  # the nodes' ray start logs (kept when start() failed)
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
