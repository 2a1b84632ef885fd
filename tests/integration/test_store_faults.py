"""A store that fails makes verification deny, quickly, with ``store_unavailable``.

Redis is a private ``redis-server`` per test, killed or misconfigured on purpose; SQLite
is a damaged file, which must be reported by name and left exactly as it was.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support import REQ, World

from delegation import ConfigurationError, ProofReplayed, StoreUnavailable, open_store
from delegation.stores import KVStore

T0 = 1_800_000_000.0
FAST = 5.0  # seconds: a dead store must deny at least this quickly


@contextmanager
def denies_quickly(match: str | None = None) -> Iterator[None]:
    """Assert the block raises StoreUnavailable (code store_unavailable) within FAST seconds."""
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match=match) as exc:
        yield
    assert exc.value.code == "store_unavailable"
    assert time.monotonic() - start < FAST, f"took {time.monotonic() - start:.1f}s"


def every_operation_fails(store: KVStore, where: str) -> None:
    """Each primitive and each operation built on them raises store_unavailable naming ``where``."""
    operations: list[Callable[[], object]] = [
        lambda: store.first_use("P", expires_at=T0 + 60, now=T0),
        lambda: store.get_many("rev", ["jti:J"], now=T0),
        lambda: store.first_revoked([("jti", "J"), ("task", "T")], now=T0),
        lambda: store.put("ns", "k", "v", until=T0 + 60, now=T0),
        lambda: store.revoke("jti", "J"),
        lambda: store.get_record("task", "T", now=T0),
    ]
    for operation in operations:
        with denies_quickly(match=where):
            operation()


def verify_denies(world: World, store: KVStore) -> None:
    """A valid chain and proof, verified against ``store``, is denied with store_unavailable."""
    chain = world.chain(3)
    proof = world.prove(chain)
    verifier = world.verifier(revocations=store, replay=store)
    with denies_quickly():
        verifier.verify(chain, proof, REQ)
    assert world.audit.records[-1]["event"] == "verify"
    assert "store_unavailable" in str(world.audit.records[-1])


# --- Redis --- #


def test_redis_killed_mid_run_denies(redis_factory: Callable[..., Any]) -> None:
    """Once Redis dies, every store operation and a full verify deny within seconds."""
    server = redis_factory()
    world = World()
    store = open_store(server.url)
    try:
        chain = world.chain(3)
        proof = world.prove(chain)
        verifier = world.verifier(revocations=store, replay=store)
        assert verifier.verify(chain, proof, REQ) is not None  # Redis up: allowed once
        with pytest.raises(ProofReplayed):
            verifier.verify(chain, proof, REQ)  # the replay cache really is Redis
        server.kill()
        every_operation_fails(store, f"127.0.0.1:{server.port}")
        verify_denies(world, store)
    finally:
        store.close()


def test_redis_restarted_is_used_again(redis_factory: Callable[..., Any]) -> None:
    """After Redis restarts on the same port, the same store works again (stale sockets)."""
    server = redis_factory()
    store = open_store(server.url)
    try:
        store.revoke("jti", "before")
        server.kill()
        with denies_quickly():
            store.first_revoked([("jti", "before")], now=T0)
        redis_factory(port=server.port)
        assert store.first_revoked([("jti", "before")], now=T0) is None  # an empty new server
        assert store.first_use("P", expires_at=T0 + 60, now=T0)
    finally:
        store.close()


def test_redis_wrong_port_denies(redis_package: None, unused_port: int) -> None:
    """A URL with a port nobody listens on gives store_unavailable, and verify denies."""
    port = unused_port
    store = open_store(f"redis://127.0.0.1:{port}/0")
    try:
        every_operation_fails(store, f"redis://127.0.0.1:{port}/0")
        verify_denies(World(), store)
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    ["unix://{tmp}/no-such.sock", "redis://192.0.2.1:6379/0"],
    ids=["missing-socket", "unroutable-ip"],
)
def test_redis_unreachable_denies(url: str, redis_package: None, tmp_path: Path) -> None:
    """A server that cannot be reached (no socket, no route) gives store_unavailable fast."""
    store = open_store(url.format(tmp=tmp_path))
    try:
        with denies_quickly(match="Redis store"):
            store.first_use("P", expires_at=T0 + 60, now=T0)
        verify_denies(World(), store)
    finally:
        store.close()


def test_redis_auth_failure_denies_without_leaking_the_password(
    redis_factory: Callable[..., Any],
) -> None:
    """A wrong or missing password gives store_unavailable; no message shows a password."""
    server = redis_factory("--requirepass", "right-secret")
    wrong = open_store(f"redis://:wrong-secret@127.0.0.1:{server.port}/0")
    none = open_store(server.url)
    right = open_store(f"redis://:right-secret@127.0.0.1:{server.port}/0")
    try:
        for store in (wrong, none):
            with denies_quickly():
                store.first_revoked([("jti", "J")], now=T0)
        with pytest.raises(StoreUnavailable) as exc:
            wrong.first_use("P", expires_at=T0 + 60, now=T0)
        text = f"{exc.value} {exc.value.to_dict()} {wrong!r}"
        assert "wrong-secret" not in text and "right-secret" not in text
        assert "127.0.0.1" in text
        assert right.first_use("P", expires_at=T0 + 60, now=T0)
    finally:
        for store in (wrong, none, right):
            store.close()


def test_redis_wrong_key_type_denies(redis_url: str) -> None:
    """A proof key holding a non-string Redis value (someone else's data) denies."""
    import redis

    client = redis.Redis.from_url(redis_url)
    store = open_store(redis_url)
    try:
        client.rpush("delegation:use:P", "x")
        with denies_quickly(match="WRONGTYPE"):
            store.first_use("P", expires_at=T0 + 60, now=T0)
    finally:
        client.close()
        store.close()


def test_bad_redis_url_is_a_configuration_error(redis_package: None) -> None:
    """A malformed Redis URL is refused when the store is opened, naming no password."""
    with pytest.raises(ConfigurationError) as exc:
        open_store("redis://:p4ss@127.0.0.1:port/0")
    assert "p4ss" not in str(exc.value)


# --- SQLite --- #


def _sqlite_with_data(path: Path) -> None:
    store = open_store(f"sqlite:///{path}")
    try:
        for i in range(400):
            store.revoke("jti", f"J{i:04d}-" + "x" * 60)
    finally:
        store.close()
    with sqlite3.connect(path) as db:  # fold the WAL in, so the main file holds everything
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def test_garbage_sqlite_file_denies_and_is_left_alone(tmp_path: Path) -> None:
    """A file that is not a database: store_unavailable naming it, and not a byte changed."""
    path = tmp_path / "garbage.sqlite"
    path.write_bytes(b"this is not a database\n" * 200)
    before = path.read_bytes()
    with denies_quickly(match=str(path)):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_damaged_sqlite_pages_deny_and_file_is_left_alone(tmp_path: Path) -> None:
    """A database with damaged pages: store_unavailable naming it, and not a byte changed."""
    path = tmp_path / "damaged.sqlite"
    _sqlite_with_data(path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    data[page : 4 * page] = b"\xa5" * (3 * page)  # pages 2-4: table and index b-trees
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with denies_quickly(match=str(path)):
        store = open_store(f"sqlite:///{path}")
        try:
            store.first_revoked([("jti", "J0001-" + "x" * 60)], now=T0)
        finally:
            store.close()
    assert path.read_bytes() == before
