"""Shared state of a deployment: revocations, the replay cache, tasks.

Every verifier of a deployment must see the same store, or a revoked token or a replayed
proof is accepted by the verifier that did not hear of it. A store that fails raises
``StoreUnavailable``, and verification denies.

Select a store by URL with :func:`open_store`: ``memory://`` (one process, tests),
``sqlite:///relative.sqlite`` or ``sqlite:////absolute/path.sqlite`` (the default: one
file, safe across the processes of one host), ``redis://[:password@]host:port/db``,
``rediss://...`` (TLS) or ``unix:///path/redis.sock?db=0`` for a fleet, and
``redis+cluster://host:port[,host:port...][?wait=1]`` (``rediss+cluster://``: TLS) for a
Redis Cluster (extra ``delegation[redis]``; see :mod:`delegation.stores.redis_cluster`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..errors import ConfigurationError
from .base import KVStore, RevocationKind
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "KVStore",
    "MemoryStore",
    "ReplayCache",
    "RevocationKind",
    "RevocationStore",
    "SQLiteStore",
    "open_store",
]


@runtime_checkable
class RevocationStore(Protocol):
    """Revocations by token id, jti, task id or key thumbprint."""

    def revoke(
        self, kind: RevocationKind, value: str, *, until: float | None = None, now: float = 0
    ) -> None:
        """Revoke ``value``; ``until`` (POSIX seconds) lets the entry expire once moot."""
        ...

    def first_revoked(
        self, items: list[tuple[RevocationKind, str]], now: float
    ) -> tuple[RevocationKind, str] | None:
        """The first of ``items`` that is revoked at ``now``, or None (one round trip)."""
        ...


@runtime_checkable
class ReplayCache(Protocol):
    """Remembers proof ids until they expire; the check and the insert are one atomic step."""

    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        """True the first time ``key`` is presented (and records it); False on a replay."""
        ...


def open_store(url: str) -> KVStore:
    """Open the store a URL names.

    >>> open_store("memory://")
    MemoryStore()
    """
    if url in ("memory://", "memory:"):
        return MemoryStore()
    if url.startswith("sqlite:///"):
        # As in SQLAlchemy: sqlite:///relative.sqlite, sqlite:////absolute/path.sqlite
        path = url.removeprefix("sqlite:///")
        if not path:
            raise ConfigurationError(f"store URL {url!r} names no file (sqlite:///path)")
        return SQLiteStore(path)
    if url.startswith(("redis+cluster://", "rediss+cluster://")):
        from .redis_cluster import RedisClusterStore  # optional extra: delegation[redis]

        return RedisClusterStore.from_url(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore  # optional extra: delegation[redis]

        return RedisStore.from_url(url)
    raise ConfigurationError(
        f"unknown store URL {url!r} (memory://, sqlite:///file.sqlite, redis://host:port/db,"
        " redis+cluster://host:port,host:port)"
    )
