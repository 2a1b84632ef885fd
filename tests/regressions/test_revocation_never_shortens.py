"""Issue 9, item 1: a later revocation could undo an earlier one on every store."""

from __future__ import annotations

from delegation.stores import KVStore

T0 = 1_800_000_000.0


def test_revocation_never_shortens(store: KVStore) -> None:
    """Revoked for good, then for 1 s, then with an expiry already past: still revoked."""
    store.revoke("key", "K", now=T0)
    store.revoke("key", "K", until=T0 + 1, now=T0)
    store.revoke("key", "K", until=T0 - 1, now=T0)
    assert store.first_revoked([("key", "K")], now=T0 + 2) == ("key", "K")
    # The later expiry wins whatever the order; an expiry already past changes nothing.
    store.revoke("task", "T", until=T0 + 3600, now=T0)
    store.revoke("task", "T", until=T0 + 10, now=T0 + 1)
    store.revoke("task", "T", until=T0, now=T0 + 2)
    assert store.first_revoked([("task", "T")], now=T0 + 3599) == ("task", "T")
    assert store.first_revoked([("task", "T")], now=T0 + 3600) is None
    # "Never" beats an expiry given earlier, and a lapsed revocation can be renewed.
    store.revoke("jti", "J", until=T0 + 5, now=T0)
    store.revoke("jti", "J", now=T0 + 1)
    assert store.first_revoked([("jti", "J")], now=T0 + 10**9) == ("jti", "J")
    store.revoke("token", "X", until=T0 + 5, now=T0)
    store.revoke("token", "X", until=T0 + 20, now=T0 + 10)
    assert store.first_revoked([("token", "X")], now=T0 + 19) == ("token", "X")
