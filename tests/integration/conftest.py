"""Fixtures for the store integration tests: real SQLite files, ``redis-server``, a cluster.

One ``redis-server`` is started per test session on a free loopback port (and a Unix
socket) in a temporary directory, with persistence off; it is flushed before every test
that uses it and stopped at the end. ``redis_factory`` starts further private servers
for tests that kill or reconfigure theirs. One Redis Cluster (six ``redis-server
--cluster-enabled yes`` on free loopback ports: three masters, three replicas, made a
cluster by ``redis-cli --cluster create``) is started per session the same way, flushed
before every test that uses it; ``cluster_factory`` starts private ones for tests that
kill a master. Without ``redis-server`` (or the ``redis`` package) the Redis tests are
skipped, except under ``CI=true`` where they fail: the CI script must install it; a
cluster that does not come up fails, never skips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis_procs import (
    RedisClusterProcs,
    RedisServer,
    free_port,
    require_redis,
    start_redis_cluster,
    start_redis_server,
)

from delegation import open_store
from delegation.stores import KVStore

BACKENDS = ["memory", "sqlite", "redis", "cluster"]


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcs]:
    """The session's Redis Cluster, stopped when the session ends."""
    with start_redis_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def cluster_url(redis_cluster: RedisClusterProcs) -> str:
    """The URL of the session's cluster, emptied for this test."""
    redis_cluster.flush()
    return redis_cluster.url


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[[], RedisClusterProcs]]:
    """Starts private clusters (for tests that kill a master); stops them after."""
    started: list[RedisClusterProcs] = []

    def start() -> RedisClusterProcs:
        cluster = start_redis_cluster(tmp_path / f"cluster{len(started)}")
        started.append(cluster)
        return cluster

    try:
        yield start
    finally:
        for cluster in started:
            cluster.stop()


@pytest.fixture
def redis_package() -> None:
    """The ``redis`` package is importable (skip, or under CI=true fail, if not)."""
    require_redis(server=False)


@pytest.fixture
def unused_port() -> int:
    """A loopback port with no server behind it."""
    return free_port()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The session's ``redis-server``, stopped when the session ends."""
    require_redis()
    with start_redis_server(tmp_path_factory.mktemp("redis"), unix_socket=True) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's ``redis-server``, emptied for this test."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=redis_server.port, socket_timeout=5)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url


@pytest.fixture
def redis_factory(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Starts private ``redis-server`` processes (extra args, ``port=``); stops them after."""
    require_redis()
    started: list[RedisServer] = []

    def start(*extra: str, port: int | None = None) -> RedisServer:
        server = start_redis_server(tmp_path / f"redis{len(started)}", *extra, port=port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: memory, sqlite, redis or cluster."""
    name: str = request.param
    return name


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for ``backend``, empty at the start of the test."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: str = request.getfixturevalue("redis_url" if backend == "redis" else "cluster_url")
    return url


@pytest.fixture
def open_backing(store_url: str) -> Iterator[Callable[[], KVStore]]:
    """Opens stores on the test's backing (memory:// gives a new, private one each time)."""
    opened: list[KVStore] = []

    def open_one() -> KVStore:
        store = open_store(store_url)
        opened.append(store)
        return store

    yield open_one
    for store in reversed(opened):
        with contextlib.suppress(Exception):
            store.close()


@pytest.fixture
def store(open_backing: Callable[[], KVStore]) -> KVStore:
    """An empty store of each backend (memory, SQLite file, Redis), closed after the test."""
    return open_backing()
