"""Redis processes for tests and benchmarks: one ``redis-server``, or a local cluster.

Servers listen on free loopback ports (and optionally a Unix socket) in a given
directory, with persistence off. A cluster is six ``redis-server --cluster-enabled yes``
joined by ``redis-cli --cluster create``: three masters, three replicas. Without
``redis-server`` (or the ``redis`` package) a caller is skipped, except under
``CI=true`` where it fails (``support.unavailable``); a server or cluster that does not
come up fails, never skips.

Import it as ``from redis_procs import ...`` (pytest puts tests/ on sys.path;
``benchmarks/_common.py`` does too).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest
from support import importable, require_all, unavailable

__all__ = [
    "RedisClusterProcs",
    "RedisServer",
    "free_port",
    "require_redis",
    "start_redis_cluster",
    "start_redis_server",
]


def require_redis(*, server: bool = True) -> str:
    """The path of ``redis-server``; skip (or, under CI=true, fail) if it cannot run.

    With ``server=False`` only the ``redis`` package is required (returns "").
    """
    path = shutil.which("redis-server") if server else ""
    needs = {
        "redis-server on PATH (apt-get install redis-server)": path is not None,
        "the redis package (pip install -e '.[redis]')": importable("redis"),
    }
    require_all("the Redis store tests", needs)
    assert path is not None
    return path


def free_port() -> int:
    """A loopback TCP port nobody listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))  # -NOAUTH: up, with requirepass


@dataclass
class RedisServer:
    """A ``redis-server`` child process on 127.0.0.1:``port`` (and ``unix_socket``)."""

    port: int
    unix_socket: Path | None
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc.wait(timeout=10)


def start_redis_server(
    workdir: Path,
    *extra: str,
    port: int | None = None,
    unix_socket: bool = False,
    ready_within: float = 10.0,
) -> RedisServer:
    """Start ``redis-server`` in ``workdir`` and wait until it answers PING."""
    server = require_redis()
    workdir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(5):
        p = port or free_port()
        while port is None and "--cluster-enabled" in extra and p + 10000 > 65535:
            p = free_port()  # a cluster node also listens on its bus port, port + 10000
        log = workdir / f"redis-{p}.log"
        sock = workdir / f"redis-{p}.sock" if unix_socket else None
        options = {
            "--port": str(p),
            "--bind": "127.0.0.1",
            "--save": "",
            "--appendonly": "no",
            "--daemonize": "no",
            "--dir": str(workdir),
            "--logfile": str(log),
        }
        if sock is not None:
            options |= {"--unixsocket": str(sock), "--unixsocketperm": "700"}
        proc = subprocess.Popen(
            [server, *(arg for pair in options.items() for arg in pair), *extra],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
        )
        started = RedisServer(p, sock, proc, log)
        deadline = time.monotonic() + ready_within
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers_ping(p):
                return started
            time.sleep(0.02)
        started.stop()  # exited (port taken?) or never answered: try another port
        if port is not None:
            break
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(f"redis-server did not start in {workdir}:\n{tail}", pytrace=False)


@dataclass
class RedisClusterProcs:
    """Six ``redis-server`` processes forming one cluster on 127.0.0.1 (3 masters, 3 replicas)."""

    servers: list[RedisServer]
    options: str = ""

    @property
    def url(self) -> str:
        """``redis+cluster://`` naming every node (``options``: a query string, e.g. wait=1)."""
        nodes = ",".join(f"127.0.0.1:{s.port}" for s in self.servers)
        return f"redis+cluster://{nodes}" + (f"?{self.options}" if self.options else "")

    def client(self, port: int) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def masters(self) -> list[RedisServer]:
        """The servers that are masters right now (and alive)."""
        out = []
        for server in self.servers:
            if server.proc.poll() is not None:
                continue
            client = self.client(server.port)
            try:
                if client.info("replication").get("role") == "master":
                    out.append(server)
            finally:
                client.close()
        return out

    def server_of(self, key: str) -> RedisServer:
        """The live master that owns ``key``'s slot now."""
        for server in self.masters():
            client = self.client(server.port)
            try:
                slot = client.execute_command("CLUSTER", "KEYSLOT", key)
                owned = _owned_slots(client, client.execute_command("CLUSTER", "MYID"))
            finally:
                client.close()
            if slot in owned:
                return server
        raise AssertionError(f"no live master owns the slot of {key!r}")

    def flush(self) -> None:
        for server in self.masters():
            client = self.client(server.port)
            try:
                client.flushall()
            finally:
                client.close()

    def healthy(self) -> bool:
        """Every live node says cluster_state:ok, and three masters each have a replica online."""
        masters = 0
        for server in self.servers:
            if server.proc.poll() is not None:
                continue
            client = self.client(server.port)
            try:
                if client.cluster("info").get("cluster_state") != "ok":
                    return False
                info = client.info("replication")
                if info.get("role") == "master":
                    if info.get("connected_slaves", 0) < 1:
                        return False
                    if info.get("slave0", {}).get("state") != "online":
                        return False
                    masters += 1
            except Exception:  # not up yet
                return False
            finally:
                client.close()
        return masters == 3

    def wait_until(self, check: Callable[[], bool], within: float, what: str) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(s.log.read_text(errors="replace")[-600:] for s in self.servers)
                pytest.fail(f"Redis Cluster: {what} within {within}s:\n{logs}", pytrace=False)
            time.sleep(0.05)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()


def _owned_slots(client: Any, node_id: Any) -> set[int]:
    node = node_id.decode() if isinstance(node_id, bytes) else str(node_id)
    owned: set[int] = set()
    for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
        if (master[2].decode() if isinstance(master[2], bytes) else master[2]) == node:
            owned.update(range(start, end + 1))
    return owned


def start_redis_cluster(workdir: Path, *, ready_within: float = 30.0) -> RedisClusterProcs:
    """Start six cluster-mode servers, join them (3 masters, 3 replicas), wait until ok."""
    require_redis()
    cli = shutil.which("redis-cli")
    if cli is None:
        reason = "the Redis Cluster tests need redis-cli (apt-get install redis-server)"
        unavailable(reason)
    cluster = RedisClusterProcs([])
    try:
        for i in range(6):
            cluster.servers.append(
                start_redis_server(
                    workdir / f"node{i}",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-node-timeout",
                    "1000",
                    "--cluster-replica-validity-factor",
                    "0",
                )
            )
        create = subprocess.run(
            [cli, "--cluster", "create"]
            + [f"127.0.0.1:{s.port}" for s in cluster.servers]
            + ["--cluster-replicas", "1", "--cluster-yes"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=ready_within,
            check=False,
        )
        if create.returncode != 0:
            out = (create.stdout + create.stderr).decode(errors="replace")[-2000:]
            pytest.fail(f"redis-cli --cluster create failed:\n{out}", pytrace=False)
        cluster.wait_until(cluster.healthy, ready_within, "not ok (state, replicas)")
    except BaseException:
        cluster.stop()
        raise
    return cluster
