"""Issue 9, item 11: on Redis, a revocation key holding a list or set read as "not revoked"."""

from __future__ import annotations

import pytest

from delegation import StoreUnavailable, open_store

T0 = 1_800_000_000.0


@pytest.mark.parametrize("kind", ["list", "set", "hash", "zset"])
def test_redis_wrong_type_revocation_is_store_unavailable(redis_url: str, kind: str) -> None:
    """A revocation key of the wrong Redis type denies (store_unavailable), never "absent"."""
    import redis

    client = redis.Redis.from_url(redis_url)
    store = open_store(redis_url)
    try:
        name = "delegation:rev:task:T"
        {
            "list": lambda: client.rpush(name, "x"),
            "set": lambda: client.sadd(name, "x"),
            "hash": lambda: client.hset(name, "f", "x"),
            "zset": lambda: client.zadd(name, {"x": 1}),
        }[kind]()
        with pytest.raises(StoreUnavailable) as ei:
            store.first_revoked([("jti", "J"), ("task", "T")], now=T0)
        assert ei.value.code == "store_unavailable"
        with pytest.raises(StoreUnavailable):
            store.revoke("task", "T", now=T0)
    finally:
        client.close()
        store.close()
