"""In-memory store: one process only (tests, single-process agents)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from .base import KVStore

__all__ = ["MemoryStore"]


def _outlasts(held: float | None, until: float | None, now: float) -> bool:
    """True when an entry held until ``held`` is live and lasts at least until ``until``."""
    if held is None:
        return True
    return held > now and until is not None and held >= until


class MemoryStore(KVStore):
    """Every namespace in one dict, guarded by a lock.

    >>> s = MemoryStore()
    >>> s.first_use("j1", expires_at=10, now=0), s.first_use("j1", expires_at=10, now=1)
    (True, False)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str], tuple[str, float | None]] = {}
        self._sweep_at = 1024

    def __repr__(self) -> str:
        return "MemoryStore()"

    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        with self._lock:
            held = self._data.get(("use", key))
            if held is not None and (held[1] is None or held[1] > now):
                return False
            if len(self._data) >= self._sweep_at:
                # Sweep expired entries; next time only once the live set has doubled.
                self._data = {k: v for k, v in self._data.items() if v[1] is None or v[1] > now}
                self._sweep_at = max(1024, 2 * len(self._data))
            self._data[("use", key)] = ("", expires_at)
            return True

    def put(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        with self._lock:
            self._data[(ns, key)] = (value, until)

    def lengthen(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        with self._lock:
            held = self._data.get((ns, key))
            if held is not None and _outlasts(held[1], until, now):
                return
            self._data[(ns, key)] = (value, until)

    def get_many(self, ns: str, keys: Iterable[str], *, now: float) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            for key in keys:
                held = self._data.get((ns, key))
                if held is not None and (held[1] is None or held[1] > now):
                    out[key] = held[0]
        return out
