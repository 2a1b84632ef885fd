"""What every store backend provides, and what is built on it.

A backend implements four primitives on namespaced keys: ``first_use`` (atomic
set-if-absent with an expiry), ``put`` (set, optionally expiring), ``lengthen`` (atomic
set-unless-a-live-entry-outlasts-it) and ``get_many`` (one round trip). Revocations,
task records, elevations and single acceptance are built on them here, once, so memory,
SQLite and Redis behave the same (one contract test-suite).
Every failure of a backend raises ``StoreUnavailable``: callers deny.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from ..errors import InvalidInput, StoreUnavailable

__all__ = ["KVStore", "RevocationKind", "check_text"]

RevocationKind = Literal["token", "jti", "task", "key"]


def check_text(*texts: str) -> None:
    """Refuse text no store can encode (unpaired surrogates): ``invalid_input``."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{text!r} is not valid Unicode text (unpaired surrogate)") from None


class KVStore(ABC):
    """Base of the store backends: three primitives, and the store API built on them."""

    # --- primitives (per backend) --- #

    @abstractmethod
    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        """True the first time ``key`` is presented before it expires (and records it)."""

    @abstractmethod
    def put(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        """Set ``ns``/``key`` to ``value``, forgotten at ``until`` (None: kept)."""

    @abstractmethod
    def lengthen(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        """Set ``ns``/``key`` unless a live entry already lasts as long (None: for ever).

        One atomic step, so of concurrent writers the latest expiry wins whatever their
        order; an entry is never shortened, and one kept for ever is never given an expiry.
        """

    @abstractmethod
    def get_many(self, ns: str, keys: Iterable[str], *, now: float) -> dict[str, str]:
        """The live values of the given keys (absent or expired keys are left out)."""

    def close(self) -> None:  # noqa: B027 - optional for backends with nothing to close
        """Release connections."""

    # --- revocation --- #

    def revoke(
        self, kind: RevocationKind, value: str, *, until: float | None = None, now: float = 0
    ) -> None:
        """Revoke a token id, jti, task or key thumbprint; ``until`` lets the entry lapse.

        Pass ``until`` = the latest expiry of what it revokes, so the store does not grow
        without bound; ``now`` is only used to compute a relative expiry (Redis).
        A revocation only ever lengthens: the later expiry of two wins, "never" (None)
        beats any expiry, and one already past changes nothing.
        """
        self.lengthen("rev", f"{kind}:{value}", "1", until=until, now=now)

    def first_revoked(
        self, items: list[tuple[RevocationKind, str]], now: float
    ) -> tuple[RevocationKind, str] | None:
        """The first of ``items`` that is revoked at ``now``, or None (one round trip)."""
        if not items:
            return None
        hits = self.get_many("rev", (f"{k}:{v}" for k, v in items), now=now)
        return next((item for item in items if f"{item[0]}:{item[1]}" in hits), None)

    # --- records (tasks, elevations) --- #

    def put_record(
        self, ns: str, key: str, record: Mapping[str, Any], *, until: float | None, now: float
    ) -> None:
        """Store a JSON object."""
        self.put(ns, key, json.dumps(dict(record), separators=(",", ":")), until=until, now=now)

    def get_record(self, ns: str, key: str, *, now: float) -> dict[str, Any] | None:
        """A stored JSON object, or None."""
        raw = self.get_many(ns, [key], now=now).get(key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise StoreUnavailable(f"store record {ns}/{key} is damaged") from None
        if not isinstance(value, dict):
            raise StoreUnavailable(f"store record {ns}/{key} is damaged")
        return value
