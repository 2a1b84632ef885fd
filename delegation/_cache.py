"""The verified-token cache: parsed tokens by exact text, and whose key verified each.

Agents present the same ancestors with a fresh proof on every call. Parsing a token is a
pure function of its text, and a signature verdict is a pure function of (text, key), so
both may be remembered: the cache maps the exact token text to its parsed form, the key
bound by its ``cnf``, and the thumbprint of the key its signature verified under. It
never remembers time, revocation, replay or policy verdicts: those run every time. (Passing
attenuation verdicts of token pairs are kept apart, by both token ids: `PairVerdicts`.)
Entries leave at the token's expiry or when the least recently used one must make room.
A token is admitted on its second sighting only (a small "doorkeeper" of recently seen
token hashes decides): one-off tokens, the common case of a cold chain, cost nothing to
keep, while the ancestors an agent presents on every call are cached from the second
call on.
Cached tokens never leave the verifier; what verification hands out of them (the leaf's
capabilities, in ``VerifiedChain`` and ``PolicyContext``) is deeply immutable, so no
caller or policy can change what the next call sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

from .keys import PublicKey
from .tokens import UnverifiedToken

__all__ = ["ChainVerdicts", "PairVerdicts", "TokenCache"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Entry:
    __slots__ = ("expires", "key", "token", "verified_kid")

    def __init__(self, token: UnverifiedToken, key: PublicKey, expires: float) -> None:
        self.token = token
        self.key = key
        self.expires = expires
        self.verified_kid: str | None = None


class _Expiring(Generic[_K, _V]):
    """A bounded, thread-safe LRU of values that expire, each admitted on its key's second
    sighting (a small "doorkeeper" of recently seen key hashes decides)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[_K, _V] = OrderedDict()
        self._seen: OrderedDict[int, None] = OrderedDict()  # hashes of keys seen once
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._seen.clear()

    def _expiry(self, value: _V) -> float:
        raise NotImplementedError

    def _live(self, key: _K, now: float) -> _V | None:
        """The value for ``key`` if admitted and not expired (most recently used now)."""
        if not self.size:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is None:
                return None
            if now >= self._expiry(value):
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def _admit(self, key: _K, value: _V) -> None:
        """Keep ``value`` if ``key`` was seen before (a hash collision only admits a key
        one sighting early); otherwise remember the sighting."""
        if not self.size:
            return
        with self._lock:
            mark = hash(key)
            if mark not in self._seen:
                self._seen[mark] = None
                while len(self._seen) > 4 * self.size:
                    self._seen.popitem(last=False)
                return
            del self._seen[mark]
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class TokenCache(_Expiring[str, _Entry]):
    """A bounded, thread-safe LRU of parsed tokens and their signature verdicts.

    >>> TokenCache(0).get("x", now=0) is None
    True
    """

    def _expiry(self, value: _Entry) -> float:
        return value.expires

    def get(self, raw: str, *, now: float) -> tuple[UnverifiedToken, PublicKey] | None:
        """The parsed token and its cnf key, if cached and not expired."""
        entry = self._live(raw, now)
        return None if entry is None else (entry.token, entry.key)

    def put(self, token: UnverifiedToken, key: PublicKey, *, expires: float) -> None:
        """Remember a token that passed the structural checks of step 1."""
        self._admit(token.raw, _Entry(token, key, expires))

    def verified(self, raw: str, kid: str) -> bool:
        """True when the token's signature already verified under the key ``kid``."""
        entry = self._data.get(raw) if self.size else None
        return entry is not None and entry.verified_kid == kid

    def mark_verified(self, raw: str, kid: str) -> None:
        """Remember that the token's signature verified under the key ``kid``."""
        if not self.size:
            return
        with self._lock:
            entry = self._data.get(raw)
            if entry is not None:
                entry.verified_kid = kid


class PairVerdicts:
    """Passing attenuation verdicts of (parent, child) token pairs, keyed by both token ids.

    A token id is the SHA-256 of the signed header and claims, so a pair's claims cannot
    change under the same key: step 6 (capabilities covered, ``dpth`` decreasing, ``task``,
    ``obo`` and ``act`` unchanged) is a pure function of them and its passing verdict may
    be reused. Only passes are stored (a failure is recomputed, with its message). Time,
    revocation, replay and policy are never kept here. A bounded, thread-safe LRU.

    >>> v = PairVerdicts(2); v.add("p", "c"); ("p", "c") in v, ("c", "p") in v
    (True, False)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return bool(self.size) and pair in self._data

    def __len__(self) -> int:
        return len(self._data)

    def add(self, parent_id: str, child_id: str) -> None:
        """Remember that ``child_id`` attenuates ``parent_id`` correctly."""
        if not self.size:
            return
        with self._lock:
            self._data[(parent_id, child_id)] = None
            self._data.move_to_end((parent_id, child_id))
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class ChainVerdicts(_Expiring[object, tuple[object, float]]):
    """Passing structural verdicts of whole chains (steps 1-4 and 6), by chain text.

    What a verdict depends on besides the text is stored with it and compared on every
    lookup by the verifier: the limits, algorithms and receipt requirement in force, and
    the registry facts it used (the root's key, each hop's registered key), which are
    looked up again on every call. Time, revocation, replay and policy are never kept.
    Admitted on a chain's second sighting, like tokens; an entry leaves at its chain's
    expiry or when the least recently used one must make room. Bounded, thread-safe.

    >>> v = ChainVerdicts(2); v.put("c", "entry", expires=10.0); v.put("c", "entry", expires=10.0)
    >>> v.get("c", now=5.0), v.get("c", now=10.0)
    ('entry', None)
    """

    def _expiry(self, value: tuple[object, float]) -> float:
        return value[1]

    def get(self, key: object, *, now: float) -> object | None:
        """The entry for ``key`` if admitted and not expired."""
        hit = self._live(key, now)
        return None if hit is None else hit[0]

    def put(self, key: object, entry: object, *, expires: float) -> None:
        """Remember a chain that passed steps 1-6 (on its second sighting)."""
        self._admit(key, (entry, expires))

    def discard(self, key: object) -> None:
        """Forget the verdict for ``key`` (one whose dependencies no longer hold)."""
        with self._lock:
            self._data.pop(key, None)
