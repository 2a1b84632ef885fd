"""The Redis Cluster store on a real local cluster: slots, damage, WAIT, failover.

The contract suite (test_store_contract.py) and the races (test_concurrency.py) run on
the session's cluster too; here are the cluster's own behaviours. The failover test
starts a private cluster and kills one of its masters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from support import REQ, World

from delegation import (
    ConfigurationError,
    DelegationError,
    ProofReplayed,
    Revoked,
    StoreUnavailable,
    open_store,
)

T0 = 1_800_000_000.0


# --- URLs --- #


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://",
        "redis+cluster://127.0.0.1",
        "redis+cluster://127.0.0.1:7000,127.0.0.1",
        "redis+cluster://127.0.0.1:99999",
        "redis+cluster://127.0.0.1:7000/1",
        "redis+cluster://127.0.0.1:7000?wait=-1",
        "redis+cluster://127.0.0.1:7000?wait=1.5",
        "redis+cluster://127.0.0.1:7000?wait=nan",
        "redis+cluster://127.0.0.1:7000?timeout=inf",
        "redis+cluster://127.0.0.1:7000?colour=blue",
    ],
)
def test_malformed_cluster_urls_are_configuration_errors(url: str, redis_package: None) -> None:
    """A cluster URL naming no node, a database, or a bad option is refused at once."""
    with pytest.raises(ConfigurationError, match="bad Redis Cluster URL"):
        open_store(url)


def test_cluster_url_parts(redis_package: None) -> None:
    """Nodes, credentials, TLS and options are read from the URL; the password never shown."""
    from delegation.stores.redis_cluster import parse_cluster_url

    parts = parse_cluster_url(
        "rediss+cluster://app:s%40cret@10.0.0.1:7000,[::1]:7001/?wait=2&wait_timeout=0.5"
    )
    assert parts["nodes"] == [("10.0.0.1", 7000), ("::1", 7001)]
    assert (parts["username"], parts["password"], parts["ssl"]) == ("app", "s@cret", True)
    assert (parts["wait"], parts["wait_timeout"], parts["timeout"]) == (2, 0.5, 2.0)
    with pytest.raises(ConfigurationError) as exc:
        parse_cluster_url("redis+cluster://app:hunter2@10.0.0.1:x")
    assert "hunter2" not in str(exc.value)


def test_unreachable_cluster_is_store_unavailable(redis_package: None, unused_port: int) -> None:
    """A cluster nobody answers for is store_unavailable (a denial), quickly."""
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as exc:
        open_store(f"redis+cluster://:pw-secret@127.0.0.1:{unused_port}?timeout=0.5")
    assert time.monotonic() - start < 5
    assert "pw-secret" not in str(exc.value)


# --- on the session's cluster --- #


def test_reads_span_masters(cluster_url: str, redis_cluster: Any) -> None:
    """One revocation check reads keys owned by different masters (no cross-slot error)."""
    store = open_store(cluster_url)
    try:
        values = [f"J{i}" for i in range(30)]
        owners = {redis_cluster.server_of(f"delegation:rev:jti:{v}").port for v in values}
        assert len(owners) == 3
        store.revoke("jti", values[-1])
        items: list[Any] = [("jti", v) for v in values]
        assert store.first_revoked(items, now=T0) == ("jti", values[-1])
        assert store.get_many("rev", [f"jti:{v}" for v in values], now=T0) == {
            f"jti:{values[-1]}": "1"
        }
    finally:
        store.close()


@pytest.mark.parametrize("raw", [b"no separator", b"notanumber|1", b"\xff\xfe|1"])
def test_damaged_entries_are_store_unavailable(
    cluster_url: str, redis_cluster: Any, raw: bytes
) -> None:
    """An entry the library did not write is store_unavailable, never absent."""
    store = open_store(cluster_url)
    try:
        for key in ("delegation:rev:jti:J", "delegation:use:P"):
            client = redis_cluster.client(redis_cluster.server_of(key).port)
            client.set(key, raw)
            client.close()
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.first_revoked([("task", "T"), ("jti", "J")], now=T0)
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.first_use("P", expires_at=T0 + 60, now=T0)
        with pytest.raises(StoreUnavailable, match="damaged"):
            store.revoke("jti", "J")
    finally:
        store.close()


def test_wrong_type_is_store_unavailable(cluster_url: str, redis_cluster: Any) -> None:
    """A key holding a list (someone else's data) fails the read and the writes."""
    store = open_store(cluster_url)
    try:
        key = "delegation:rev:jti:J"
        client = redis_cluster.client(redis_cluster.server_of(key).port)
        client.rpush(key, "x")
        client.close()
        with pytest.raises(StoreUnavailable, match="WRONGTYPE"):
            store.first_revoked([("task", "T"), ("jti", "J")], now=T0)
        with pytest.raises(StoreUnavailable):
            store.revoke("jti", "J", until=T0 + 60, now=T0)
    finally:
        store.close()


def test_wait_acknowledges_writes_on_replicas(cluster_url: str, redis_cluster: Any) -> None:
    """With ?wait=1 a revocation returns only once a replica holds it."""
    store = open_store(cluster_url + "?wait=1&wait_timeout=2")
    try:
        assert "wait=1" in repr(store)
        for i in range(20):
            store.revoke("jti", f"W{i}", until=T0 + 600, now=T0)
            store.put_record("task", f"W{i}", {"i": i}, until=None, now=T0)
        assert store.first_revoked([("jti", "W19")], now=T0) == ("jti", "W19")
        assert store.get_record("task", "W7", now=T0) == {"i": 7}
    finally:
        store.close()


def test_wait_for_more_replicas_than_exist_is_store_unavailable(cluster_url: str) -> None:
    """A write not acknowledged by enough replicas in time raises (the caller retries)."""
    store = open_store(cluster_url + "?wait=2&wait_timeout=0.2")
    try:
        with pytest.raises(StoreUnavailable, match="acknowledged by 1 of 2 replicas"):
            store.revoke("jti", "J")
    finally:
        store.close()


# --- failover (a private cluster) --- #

FAST = 5.0  # seconds: a decision while a master is down must be denied at least this quickly


def _decide(verify: Callable[[], object]) -> str:
    """'allowed', or the error code of the denial; any other exception fails the test."""
    start = time.monotonic()
    try:
        verify()
        outcome = "allowed"
    except DelegationError as exc:
        outcome = exc.code
    assert time.monotonic() - start < FAST, f"a decision took {time.monotonic() - start:.1f}s"
    return outcome


def test_master_killed_fails_closed_then_recovers(
    cluster_factory: Callable[[], Any],
) -> None:
    """Kill a master mid-run: denied with store_unavailable until its replica takes over,
    then allowed again by the same verifier, and no acknowledged revocation is lost."""
    cluster = cluster_factory()
    store = open_store(cluster.url + "?wait=1&timeout=0.5")
    world = World()
    verifier = world.verifier(revocations=store, replay=store)
    try:
        acked = [f"R{i}" for i in range(60)]
        for value in acked:  # acknowledged by a replica (WAIT 1) before the crash
            store.revoke("jti", value, until=T0 + 3600, now=T0)
        store.revoke("task", "T-revoked")
        revoked_chain = world.chain(3, task="T-revoked")
        victim = cluster.server_of("delegation:rev:task:T-revoked")
        chain = world.chain(3)
        assert _decide(lambda: verifier.verify(chain, world.prove(chain), REQ)) == "allowed"

        victim.kill()
        with pytest.raises(StoreUnavailable):  # a key of the dead master's slots
            store.first_revoked([("task", "T-revoked")], now=T0)
        outcomes: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            outcome = _decide(lambda: verifier.verify(chain, world.prove(chain), REQ))
            outcomes.append(outcome)
            assert outcome in ("allowed", "store_unavailable"), outcomes
            revoked = _decide(
                lambda: verifier.verify(revoked_chain, world.prove(revoked_chain), REQ)
            )
            assert revoked in ("revoked", "store_unavailable"), revoked  # never allowed
            if outcome == "allowed" and len(outcomes) > 1:
                break
            time.sleep(0.1)
        assert outcomes[0] == "store_unavailable", outcomes
        assert outcomes[-1] == "allowed", f"no recovery within 30s: {outcomes[-5:]}"

        # the replica was promoted and holds every acknowledged revocation
        assert victim.port not in {s.port for s in cluster.masters()}
        assert len(cluster.masters()) == 3
        assert store.get_many("rev", [f"jti:{v}" for v in acked], now=T0) == {
            f"jti:{v}": "1" for v in acked
        }
        with pytest.raises(Revoked):
            verifier.verify(revoked_chain, world.prove(revoked_chain), REQ)
        proof = world.prove(chain)
        verifier.verify(chain, proof, REQ)
        with pytest.raises(ProofReplayed):
            verifier.verify(chain, proof, REQ)
        store.revoke("jti", "after-failover")  # writes (with WAIT) work on the new master
    finally:
        store.close()
