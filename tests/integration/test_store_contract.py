"""One contract, three backends: memory, SQLite and a real Redis behave the same.

Every test taking ``store`` runs once per backend (see conftest.py). Times are POSIX
seconds on an injected clock (``T0``), never the machine's or Redis' own clock.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from delegation import ConfigurationError, MemoryStore, SQLiteStore, StoreUnavailable, open_store
from delegation.stores import KVStore, ReplayCache, RevocationKind, RevocationStore

T0 = 1_800_000_000.0
ODD_KEYS = ["a:b", "a/b", "x:y/z|w", "ünï/cødé:✓", "sp ace", "", "tab\tnew\nline", "%2F*?[]"]


# --- replay cache --- #


def test_stores_implement_the_protocols(store: KVStore) -> None:
    """Every backend is a revocation store and a replay cache."""
    assert isinstance(store, RevocationStore)
    assert isinstance(store, ReplayCache)


def test_first_use_once_then_replay(store: KVStore) -> None:
    """A key is accepted once and refused every later time before it expires."""
    assert store.first_use("p1", expires_at=T0 + 100, now=T0)
    assert not store.first_use("p1", expires_at=T0 + 100, now=T0)
    assert not store.first_use("p1", expires_at=T0 + 500, now=T0 + 99)
    assert store.first_use("p2", expires_at=T0 + 100, now=T0 + 1)


def test_first_use_expiry_follows_the_injected_clock(store: KVStore) -> None:
    """A key is forgotten once the injected ``now`` reaches its expiry, and can be used again."""
    assert store.first_use("p", expires_at=T0 + 100, now=T0 + 10)
    assert not store.first_use("p", expires_at=T0 + 100, now=T0 + 99.999)
    assert store.first_use("p", expires_at=T0 + 300, now=T0 + 100)
    assert not store.first_use("p", expires_at=T0 + 300, now=T0 + 200)
    assert store.first_use("p", expires_at=T0 + 400, now=T0 + 350)


def test_first_use_of_an_already_expired_key_is_not_held(store: KVStore) -> None:
    """A key presented at or after its own expiry is not remembered against later use."""
    assert store.first_use("old", expires_at=T0 - 5, now=T0)
    assert store.first_use("old", expires_at=T0 + 60, now=T0)
    assert not store.first_use("old", expires_at=T0 + 60, now=T0 + 1)


def test_first_use_with_odd_keys(store: KVStore) -> None:
    """Keys with ':', '/', '|', unicode, whitespace or nothing at all are distinct and exact."""
    for key in ODD_KEYS:
        assert store.first_use(key, expires_at=T0 + 60, now=T0), key
    for key in ODD_KEYS:
        assert not store.first_use(key, expires_at=T0 + 60, now=T0), key


def test_first_use_does_not_collide_with_put(store: KVStore) -> None:
    """A replay-cache key and a namespaced value of the same name are independent."""
    store.put("rev", "same", "1", until=None, now=T0)
    assert store.first_use("same", expires_at=T0 + 60, now=T0)
    assert store.get_many("rev", ["same"], now=T0) == {"same": "1"}


# --- put / get_many --- #


def test_put_and_get_many_with_and_without_until(store: KVStore) -> None:
    """Values without ``until`` are kept; with ``until`` they vanish once ``now`` reaches it."""
    store.put("ns", "kept", "v1", until=None, now=T0)
    store.put("ns", "lapsing", "v2", until=T0 + 100, now=T0)
    assert store.get_many("ns", ["kept", "lapsing", "absent"], now=T0) == {
        "kept": "v1",
        "lapsing": "v2",
    }
    assert store.get_many("ns", ["kept", "lapsing"], now=T0 + 99.5) == {
        "kept": "v1",
        "lapsing": "v2",
    }
    assert store.get_many("ns", ["kept", "lapsing"], now=T0 + 100) == {"kept": "v1"}
    assert store.get_many("ns", ["kept", "lapsing"], now=T0 + 10**9) == {"kept": "v1"}


def test_put_with_until_already_past_is_not_visible(store: KVStore) -> None:
    """A value whose ``until`` is not after ``now`` is not returned (and replaces the old one)."""
    store.put("ns", "k", "old", until=None, now=T0)
    store.put("ns", "k", "new", until=T0, now=T0)
    assert store.get_many("ns", ["k"], now=T0) == {}
    assert store.get_many("ns", ["k"], now=T0 + 1) == {}


def test_put_overwrites_value_and_expiry(store: KVStore) -> None:
    """A later put replaces both the value and the expiry of an earlier one."""
    store.put("ns", "k", "a", until=T0 + 10, now=T0)
    store.put("ns", "k", "b", until=None, now=T0 + 1)
    assert store.get_many("ns", ["k"], now=T0 + 1000) == {"k": "b"}
    store.put("ns", "k", "c", until=T0 + 2000, now=T0 + 1000)
    assert store.get_many("ns", ["k"], now=T0 + 1999) == {"k": "c"}
    assert store.get_many("ns", ["k"], now=T0 + 2000) == {}


def test_values_round_trip_exactly(store: KVStore) -> None:
    """Values with separators, unicode, newlines or nothing come back byte for byte."""
    values = {"empty": "", "pipe": "a|b|", "uni": "ünï✓ 🙂", "nl": "1\n2\r\n", "json": '{"a":[1]}'}
    for key, value in values.items():
        store.put("ns", key, value, until=T0 + 60, now=T0)
    assert store.get_many("ns", list(values), now=T0) == values


def test_odd_keys_are_exact(store: KVStore) -> None:
    """Keys with ':', '/', '|', unicode, whitespace or nothing round-trip and never alias."""
    for i, key in enumerate(ODD_KEYS):
        store.put("ns", key, str(i), until=None, now=T0)
    assert store.get_many("ns", ODD_KEYS, now=T0) == {k: str(i) for i, k in enumerate(ODD_KEYS)}
    assert store.get_many("ns", ["a", "b", "a:", ":b", "A:B"], now=T0) == {}


def test_get_many_with_duplicates_empty_and_generators(store: KVStore) -> None:
    """Duplicate keys give one entry, no keys give {}, and any iterable of keys works."""
    store.put("ns", "a", "1", until=None, now=T0)
    store.put("ns", "b", "2", until=None, now=T0)
    assert store.get_many("ns", [], now=T0) == {}
    assert store.get_many("ns", iter(()), now=T0) == {}
    assert store.get_many("ns", ["a", "a", "missing", "a"], now=T0) == {"a": "1"}
    assert store.get_many("ns", (k for k in "bab"), now=T0) == {"a": "1", "b": "2"}


def test_namespaces_are_isolated(store: KVStore) -> None:
    """The same key in two namespaces holds two values; neither sees the other."""
    store.put("one", "k", "in-one", until=None, now=T0)
    store.put("two", "k", "in-two", until=None, now=T0)
    store.revoke("jti", "k")
    assert store.get_many("one", ["k"], now=T0) == {"k": "in-one"}
    assert store.get_many("two", ["k"], now=T0) == {"k": "in-two"}
    assert store.get_many("three", ["k"], now=T0) == {}
    assert store.get_many("rev", ["k"], now=T0) == {}
    assert store.get_record("one", "jti:k", now=T0) is None


def test_infinite_expiry_never_lapses(store: KVStore) -> None:
    """An ``until`` or ``expires_at`` of +infinity is kept for ever."""
    store.put("ns", "k", "v", until=math.inf, now=T0)
    store.revoke("key", "K", until=math.inf, now=T0)
    assert store.first_use("p", expires_at=math.inf, now=T0)
    assert store.get_many("ns", ["k"], now=T0 + 1e12) == {"k": "v"}
    assert store.first_revoked([("key", "K")], now=T0 + 1e12) == ("key", "K")
    assert not store.first_use("p", expires_at=math.inf, now=T0 + 1e12)


# --- revocation --- #


def test_revoke_matches_kind_and_value_in_order(store: KVStore) -> None:
    """``first_revoked`` matches kind and value exactly and returns the first hit in order."""
    store.revoke("task", "T-1")
    store.revoke("key", "K", until=T0 + 100, now=T0)
    assert store.first_revoked([], now=T0) is None
    assert store.first_revoked([("token", "T-1"), ("jti", "T-1")], now=T0) is None
    assert store.first_revoked([("token", "T-1"), ("task", "T-1")], now=T0) == ("task", "T-1")
    assert store.first_revoked([("key", "K"), ("task", "T-1")], now=T0) == ("key", "K")
    assert store.first_revoked([("task", "T-1"), ("key", "K")], now=T0) == ("task", "T-1")
    assert store.first_revoked([("key", "K"), ("key", "K")], now=T0) == ("key", "K")


def test_revocation_until_lapses(store: KVStore) -> None:
    """A revocation with ``until`` holds before it and lapses at it; one without never does."""
    store.revoke("jti", "J", until=T0 + 600, now=T0)
    store.revoke("token", "forever", now=T0)
    items: list[tuple[RevocationKind, str]] = [("jti", "J"), ("token", "forever")]
    assert store.first_revoked(items, now=T0 + 599) == ("jti", "J")
    assert store.first_revoked(items, now=T0 + 600) == ("token", "forever")
    assert store.first_revoked([("jti", "J")], now=T0 + 10**6) is None


def test_revoking_odd_values(store: KVStore) -> None:
    """Revoked values containing separators or unicode match exactly and nothing else."""
    for value in ODD_KEYS:
        store.revoke("jti", value)
    for value in ODD_KEYS:
        assert store.first_revoked([("jti", value)], now=T0) == ("jti", value)
    assert store.first_revoked([("task", "a:b"), ("jti", "a"), ("jti", "b")], now=T0) is None


# --- records --- #


def test_record_round_trip(store: KVStore) -> None:
    """A JSON object comes back equal, lapses at ``until``, and a missing one is None."""
    record = {"task": "T-42", "n": 3, "ok": True, "nested": {"list": [1, "two", None]}, "u": "ü"}
    store.put_record("task", "T-42", record, until=T0 + 60, now=T0)
    store.put_record("task", "T:7/x", {"k": "v"}, until=None, now=T0)
    assert store.get_record("task", "T-42", now=T0) == record
    assert store.get_record("task", "T:7/x", now=T0 + 10**6) == {"k": "v"}
    assert store.get_record("task", "T-42", now=T0 + 60) is None
    assert store.get_record("task", "missing", now=T0) is None


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '"a string"', "{"])
def test_damaged_record_is_store_unavailable(store: KVStore, raw: str) -> None:
    """A record that is not a JSON object raises store_unavailable naming it."""
    store.put("task", "T-1", raw, until=None, now=T0)
    with pytest.raises(StoreUnavailable, match="task/T-1") as exc:
        store.get_record("task", "T-1", now=T0)
    assert exc.value.code == "store_unavailable"


# --- sharing --- #


def test_two_instances_on_one_backing_share_state(
    backend: str, open_backing: Callable[[], KVStore]
) -> None:
    """Two stores on one SQLite file or one Redis see each other's writes; memory:// does not."""
    a, b = open_backing(), open_backing()
    a.revoke("jti", "J", until=T0 + 60, now=T0)
    a.put_record("task", "T", {"x": 1}, until=None, now=T0)
    a_won = a.first_use("proof", expires_at=T0 + 60, now=T0)
    b_won = b.first_use("proof", expires_at=T0 + 60, now=T0)
    seen = b.first_revoked([("jti", "J")], now=T0), b.get_record("task", "T", now=T0)
    assert a_won
    if backend == "memory":
        assert b_won and seen == (None, None)
    else:
        assert not b_won and seen == (("jti", "J"), {"x": 1})


# --- open_store --- #


def test_open_store_memory_urls() -> None:
    """memory:// and memory: give a fresh, private MemoryStore each time."""
    a, b = open_store("memory://"), open_store("memory:")
    assert isinstance(a, MemoryStore) and isinstance(b, MemoryStore) and a is not b


def test_open_store_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///relative is relative to the working directory; sqlite:////abs is absolute."""
    monkeypatch.chdir(tmp_path)
    rel = open_store("sqlite:///rel.sqlite")
    absolute = open_store(f"sqlite:///{tmp_path / 'abs.sqlite'}")
    try:
        assert isinstance(rel, SQLiteStore) and isinstance(absolute, SQLiteStore)
        assert (tmp_path / "rel.sqlite").is_file() and (tmp_path / "abs.sqlite").is_file()
        assert os.path.isabs(absolute.path) and not os.path.isabs(rel.path)
    finally:
        rel.close()
        absolute.close()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///",
        "sqlite://relative.sqlite",
        "postgres://db/x",
        "file:///tmp/x",
        "",
        "redis:",
    ],
)
def test_open_store_rejects_unknown_urls(url: str) -> None:
    """A URL naming no store, or no file, is a configuration error."""
    with pytest.raises(ConfigurationError):
        open_store(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:notaport/0",
        "redis://127.0.0.1:6379/notadb",
        "redis://127.0.0.1:99999/0",
        "rediss://[::1/0",
        "unix://",
    ],
)
def test_open_store_rejects_malformed_redis_urls(url: str, redis_package: None) -> None:
    """A malformed Redis URL is a configuration error when the store is opened."""
    with pytest.raises(ConfigurationError, match="bad Redis store URL"):
        open_store(url)


def test_open_store_redis_url_and_db(redis_url: str) -> None:
    """redis://host:port/db opens a RedisStore on that database (databases are isolated)."""
    from delegation.stores.redis import RedisStore

    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    db0, db1, db1q = (
        open_store(redis_url),
        open_store(f"redis://127.0.0.1:{port}/1"),
        open_store(f"redis://127.0.0.1:{port}?db=1"),
    )
    try:
        assert all(isinstance(s, RedisStore) for s in (db0, db1, db1q))
        db0.revoke("jti", "J")
        assert db0.first_revoked([("jti", "J")], now=T0) == ("jti", "J")
        assert db1.first_revoked([("jti", "J")], now=T0) is None
        db1.revoke("jti", "K")
        assert db1q.first_revoked([("jti", "K")], now=T0) == ("jti", "K")
        assert "127.0.0.1" in repr(db1)
    finally:
        for s in (db0, db1, db1q):
            s.close()


def test_open_store_unix_socket_url(redis_url: str, redis_server: Any) -> None:
    """unix:///path/to/socket opens a RedisStore over the server's Unix socket."""
    sock = redis_server.unix_socket
    assert sock is not None
    over_unix, over_tcp = open_store(f"unix://{sock}?db=0"), open_store(redis_url)
    try:
        over_unix.revoke("task", "T")
        assert over_tcp.first_revoked([("task", "T")], now=T0) == ("task", "T")
    finally:
        over_unix.close()
        over_tcp.close()


def test_open_store_rediss_url_is_redis_over_tls(redis_server: Any) -> None:
    """rediss:// opens a TLS RedisStore; against a plain server it is store_unavailable."""
    from delegation.stores.redis import RedisStore

    url = f"rediss://:hunter2@127.0.0.1:{redis_server.port}/0"
    opened = open_store(url)
    assert isinstance(opened, RedisStore)
    assert "rediss://" in repr(opened) and "hunter2" not in repr(opened)
    opened.close()
    store = RedisStore.from_url(url, timeout=0.3)  # a plain server never answers the handshake
    try:
        with pytest.raises(StoreUnavailable) as exc:
            store.first_revoked([("jti", "J")], now=T0)
        assert "hunter2" not in str(exc.value)
    finally:
        store.close()


# --- Redis specifics --- #


def test_redis_entries_carry_ttls(redis_url: str) -> None:
    """Redis keys for proofs and lapsing values get a TTL from ``now``; permanent ones none."""
    import redis

    from delegation.stores.redis import RedisStore

    store = RedisStore.from_url(redis_url, prefix="t:")
    raw = redis.Redis.from_url(redis_url)
    try:
        store.first_use("p", expires_at=T0 + 30, now=T0)
        store.revoke("jti", "J", until=T0 + 90, now=T0)
        store.revoke("jti", "forever", now=T0)
        store.put("ns", "gone", "x", until=T0 - 1, now=T0)
        assert 29_000 < raw.pttl("t:use:p") <= 30_000
        assert 89_000 < raw.pttl("t:rev:jti:J") <= 90_000
        assert raw.pttl("t:rev:jti:forever") == -1  # no expiry
        assert raw.exists("t:ns:gone") == 0
        assert sorted(raw.keys("*")) == [b"t:rev:jti:J", b"t:rev:jti:forever", b"t:use:p"]
    finally:
        raw.close()
        store.close()


def test_redis_store_on_a_given_client(redis_server: Any) -> None:
    """A RedisStore built on a caller's client names its server and closes the client."""
    import redis

    from delegation.stores.redis import RedisStore

    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=2, password=None)
    store = RedisStore(client)
    try:
        assert (
            repr(store)
            == f"RedisStore('redis://127.0.0.1:{redis_server.port}/2', prefix='delegation:')"
        )
        store.revoke("jti", "J")
        assert client.exists("delegation:rev:jti:J") == 1
        assert store.first_revoked([("jti", "J")], now=T0) == ("jti", "J")
        client.flushdb()
    finally:
        store.close()


def test_redis_rejects_nan_times(redis_url: str) -> None:
    """A NaN expiry or clock reading is a configuration error, not a silent forever."""
    store = open_store(redis_url)
    try:
        with pytest.raises(ConfigurationError, match="NaN"):
            store.first_use("p", expires_at=math.nan, now=T0)
        with pytest.raises(ConfigurationError, match="NaN"):
            store.put("ns", "k", "v", until=T0 + 1, now=math.nan)
    finally:
        store.close()


def test_redis_prefixes_isolate_stores(redis_url: str) -> None:
    """Two prefixes on one Redis are two independent stores."""
    from delegation.stores.redis import RedisStore

    a, b = RedisStore.from_url(redis_url, prefix="a:"), RedisStore.from_url(redis_url, prefix="b:")
    try:
        a.revoke("jti", "J")
        assert a.first_use("p", expires_at=T0 + 60, now=T0)
        assert b.first_revoked([("jti", "J")], now=T0) is None
        assert b.first_use("p", expires_at=T0 + 60, now=T0)
    finally:
        a.close()
        b.close()


def test_redis_rejects_namespaces_with_colons(redis_url: str) -> None:
    """A namespace containing ':' could alias another's keys, so Redis refuses it."""
    store = open_store(redis_url)
    try:
        with pytest.raises(ConfigurationError):
            store.put("a:b", "c", "v", until=None, now=T0)
    finally:
        store.close()


@pytest.mark.parametrize("raw", [b"no separator", b"notanumber|1", b"\xff\xfe|1"])
def test_redis_damaged_entries_are_store_unavailable(redis_url: str, raw: bytes) -> None:
    """An entry Redis holds that this library did not write raises store_unavailable."""
    import redis

    store = open_store(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("delegation:rev:jti:J", raw)
        client.set("delegation:use:P", raw)
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.first_revoked([("jti", "J")], now=T0)
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.first_use("P", expires_at=T0 + 60, now=T0)
    finally:
        client.close()
        store.close()
