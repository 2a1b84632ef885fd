"""In-memory store: one process only (tests, single-process agents)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import RevocationKind

__all__ = ["MemoryStore"]


class MemoryStore:
    """Revocations and replay cache in a dict, guarded by a lock.

    >>> s = MemoryStore()
    >>> s.first_use("j1", expires_at=10, now=0), s.first_use("j1", expires_at=10, now=1)
    (True, False)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: dict[tuple[str, str], float | None] = {}
        self._seen: dict[str, float] = {}
        self._sweep_at = 1024

    def __repr__(self) -> str:
        return "MemoryStore()"

    def revoke(self, kind: RevocationKind, value: str, *, until: float | None = None) -> None:
        with self._lock:
            self._revoked[(kind, value)] = until

    def first_revoked(
        self, items: list[tuple[RevocationKind, str]], now: float
    ) -> tuple[RevocationKind, str] | None:
        with self._lock:
            for item in items:
                if item in self._revoked:
                    until = self._revoked[item]
                    if until is None or until > now:
                        return item
        return None

    def first_use(self, jti: str, *, expires_at: float, now: float) -> bool:
        with self._lock:
            seen = self._seen.get(jti)
            if seen is not None and seen > now:
                return False
            if len(self._seen) >= self._sweep_at:
                # Sweep expired entries; next time only once the live set has doubled.
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                self._sweep_at = max(1024, 2 * len(self._seen))
            self._seen[jti] = expires_at
            return True
