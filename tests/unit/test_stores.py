from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from delegation import DelegationError, MemoryStore, SQLiteStore, open_store
from delegation.stores import ReplayCache, RevocationStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore | SQLiteStore:
    if request.param == "memory":
        return MemoryStore()
    return SQLiteStore(tmp_path / "store.sqlite")


def test_stores_implement_the_protocols(store: MemoryStore | SQLiteStore) -> None:
    """Both embedded stores are revocation stores and replay caches."""
    assert isinstance(store, RevocationStore)
    assert isinstance(store, ReplayCache)


def test_first_use_then_replay_then_expiry(store: MemoryStore | SQLiteStore) -> None:
    """A jti is accepted once, refused while remembered, and forgotten after it expires."""
    assert store.first_use("j1", expires_at=100, now=10)
    assert not store.first_use("j1", expires_at=100, now=50)
    assert store.first_use("j2", expires_at=100, now=50)
    assert store.first_use("j1", expires_at=300, now=100)
    assert not store.first_use("j1", expires_at=300, now=200)


def test_revocation_kinds_and_expiry(store: MemoryStore | SQLiteStore) -> None:
    """Revocations match on kind and value, in order, and lapse at 'until'."""
    store.revoke("task", "T-1")
    store.revoke("key", "K", until=100)
    assert store.first_revoked([("token", "T-1"), ("task", "T-1")], now=0) == ("task", "T-1")
    assert store.first_revoked([("key", "K"), ("task", "T-1")], now=50) == ("key", "K")
    assert store.first_revoked([("key", "K")], now=150) is None
    assert store.first_revoked([], now=0) is None


def test_sqlite_is_shared_between_instances(tmp_path: Path) -> None:
    """Two stores on one file see each other's revocations and jtis (two verifiers)."""
    a, b = SQLiteStore(tmp_path / "s.sqlite"), SQLiteStore(tmp_path / "s.sqlite")
    a.revoke("jti", "J")
    assert b.first_revoked([("jti", "J")], now=0) == ("jti", "J")
    assert a.first_use("P", expires_at=10, now=0)
    assert not b.first_use("P", expires_at=10, now=0)


def _race(path: str, barrier: mp.synchronize.Barrier, out: mp.Queue[bool]) -> None:  # type: ignore[name-defined]
    store = SQLiteStore(path)
    barrier.wait()
    out.put(store.first_use("same-proof", expires_at=1e12, now=0))


def test_two_processes_racing_one_proof_exactly_one_wins(tmp_path: Path) -> None:
    """Atomic check-and-set: of processes presenting the same jti at once, exactly one wins."""
    ctx = mp.get_context("spawn")
    n = 4
    barrier, out = ctx.Barrier(n), ctx.Queue()
    path = str(tmp_path / "race.sqlite")
    SQLiteStore(path).close()
    procs = [ctx.Process(target=_race, args=(path, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in range(n)]
    for p in procs:
        p.join(timeout=60)
    assert sorted(results) == [False] * (n - 1) + [True]


def test_corrupt_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    """A file that is not a database gives store_unavailable, and is left untouched."""
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(DelegationError) as ei:
        SQLiteStore(path).first_use("j", expires_at=1, now=0)
    assert ei.value.code == "store_unavailable"
    assert path.read_bytes() == before


def test_closed_store_fails_closed(tmp_path: Path) -> None:
    """Using a store whose database went away raises store_unavailable, never allows."""
    store = SQLiteStore(tmp_path / "s.sqlite")
    store.close()
    with pytest.raises(DelegationError) as ei:
        store.first_use("j", expires_at=1, now=0)
    assert ei.value.code == "store_unavailable"
    with pytest.raises(DelegationError) as ei:
        store.first_revoked([("task", "T")], now=0)
    assert ei.value.code == "store_unavailable"


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Store URLs: memory://, sqlite:///relative and sqlite:////absolute; others refused."""
    assert isinstance(open_store("memory://"), MemoryStore)
    monkeypatch.chdir(tmp_path)
    rel = open_store("sqlite:///rel.sqlite")
    assert isinstance(rel, SQLiteStore) and (tmp_path / "rel.sqlite").exists()
    absolute = open_store(f"sqlite:///{tmp_path}/abs.sqlite")
    assert isinstance(absolute, SQLiteStore) and (tmp_path / "abs.sqlite").exists()
    for bad in ["sqlite:///", "postgres://x", "file.sqlite"]:
        with pytest.raises(DelegationError) as ei:
            open_store(bad)
        assert ei.value.code == "configuration_error"


def test_sqlite_schema_is_wal(tmp_path: Path) -> None:
    """The SQLite store runs in WAL mode (readers never block the writer)."""
    SQLiteStore(tmp_path / "w.sqlite").close()
    mode = sqlite3.connect(tmp_path / "w.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
