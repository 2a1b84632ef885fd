"""Redis store: one ``redis-server`` shared by a fleet of verifiers.

Keys are ``{prefix}{ns}:{key}``. Every entry carries its own expiry (POSIX seconds from
the caller's clock) and is read against the caller's ``now``, so Redis behaves exactly
like the memory and SQLite stores under an injected clock; the entry's Redis TTL
(``PX``, counted from that same ``now``) only makes the server forget it afterwards, so
the store does not grow without bound.

``first_use`` is one server-side script (read the held expiry, set if absent or lapsed),
so two verifiers racing the same proof cannot both win; ``lengthen`` (revocations) is one
script too (read the held expiry, replace it only with a later one). Any failure of the client or
the server raises ``StoreUnavailable`` naming the server (never its password).

Needs the extra: ``pip install 'delegation[redis]'``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import ConfigurationError, StoreUnavailable
from .base import KVStore, check_text

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import RedisError
    from redis.retry import Retry
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ConfigurationError("the Redis store needs: pip install 'delegation[redis]'") from None

__all__ = ["RedisStore"]

#: Longest Redis TTL set (about 285,000 years: "no expiry" without overflowing Redis).
_MAX_TTL_MS = 2**53

#: Every value is stored as ``"{until}|{value}"`` (``until`` empty: kept for ever).
#: Shared head of the scripts: ``held`` (the entry, or false), ``head`` ('' when kept for
#: ever) and ``held_until`` (a number); a damaged entry is an error, never "absent".
_READ_HELD = """
local function num(text)
  if text == 'inf' then return math.huge end
  return tonumber(text)
end
local held = redis.call('GET', KEYS[1])
local head, held_until
if held then
  head = string.match(held, '^([^|]*)|')
  held_until = head and num(head)
  if head == nil or (head ~= '' and held_until == nil) then
    return redis.error_reply('damaged entry ' .. KEYS[1])
  end
end
"""

#: KEYS[1] = the proof key; ARGV = entry, now, TTL in ms. 1 if recorded, 0 if held.
_FIRST_USE = (
    _READ_HELD
    + """
if held and (head == '' or held_until > num(ARGV[2])) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""
)

#: KEYS[1] = the entry; ARGV = entry, now, TTL in ms, new until ('' = for ever).
#: Replaces the entry only when it is absent, lapsed, or ends before the new one.
_LENGTHEN = (
    _READ_HELD
    + """
if held and head == '' then
  return 0
end
if held and held_until > num(ARGV[2]) and ARGV[4] ~= '' and held_until >= num(ARGV[4]) then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
elseif tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
"""
)

#: KEYS = the entries wanted. Their raw values (false: absent); any key that holds a
#: list, set or other non-string fails the whole read (MGET would read it as absent).
_GET_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  local held = redis.pcall('GET', key)
  if type(held) == 'table' and held.err then
    return redis.error_reply('damaged entry ' .. key .. ': ' .. held.err)
  end
  out[i] = held
end
return out
"""


def _redact(url: str) -> str:
    """``url`` without its password (userinfo or ``?password=``), for messages."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user = parts.username or ""
            host = netloc.rpartition("@")[2]
            netloc = f"{user}:***@{host}"
        query = urlencode(
            [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)],
            safe="*",
        )
        return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:
        return "<unparsable Redis URL>"


def _describe(client: Any) -> str:
    """Where ``client`` connects, as a password-free URL."""
    try:
        kw = client.connection_pool.connection_kwargs
        db = kw.get("db", 0)
        if kw.get("path"):
            return f"unix://{kw['path']}?db={db}"
        scheme = "rediss" if "SSL" in client.connection_pool.connection_class.__name__ else "redis"
        return f"{scheme}://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{db}"
    except (AttributeError, TypeError, KeyError):
        return repr(type(client).__name__)


def _ttl_ms(until: float, now: float) -> int:
    """Milliseconds from ``now`` to ``until``, rounded up and capped (<= 0: already past)."""
    span = (float(until) - float(now)) * 1000
    if math.isnan(span):
        raise ConfigurationError("store expiry and now must be numbers, not NaN")
    if span <= 0:
        return 0
    return _MAX_TTL_MS if span >= _MAX_TTL_MS else math.ceil(span)


def _lengthen_args(value: str, until: float | None, now: float) -> tuple[str, str, int, str]:
    """``_LENGTHEN``'s arguments: the entry ``bound|value``, now, the TTL (ms), the bound."""
    if until is None:
        return f"|{value}", repr(float(now)), 0, ""
    bound = repr(float(until))
    return f"{bound}|{value}", repr(float(now)), _ttl_ms(until, now), bound


class RedisStore(KVStore):
    """Every namespace as string keys ``{prefix}{ns}:{key}`` of one Redis database.

    ``client`` is a ``redis.Redis``; :meth:`from_url` builds one with short timeouts.
    A store built on a client owns it: :meth:`close` closes it.
    """

    #: What the client raises when the server or the connection fails (all: store_unavailable).
    _errors: tuple[type[Exception], ...] = (RedisError, OSError)

    def __init__(self, client: redis.Redis, *, prefix: str = "delegation:") -> None:
        self._client = client
        self.prefix = prefix
        self.where = _describe(client)
        self._first_use = client.register_script(_FIRST_USE)
        self._lengthen = client.register_script(_LENGTHEN)
        self._get_many = client.register_script(_GET_MANY)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "delegation:", timeout: float = 2.0) -> RedisStore:
        """A store on the server a ``redis://``, ``rediss://`` or ``unix://`` URL names.

        Connects lazily: an unreachable server surfaces as ``StoreUnavailable`` on the
        first operation. ``timeout`` (seconds) bounds connecting and each reply; a broken
        pooled connection is retried once at once, never in a loop.
        """
        where = _redact(url)
        try:
            path = urlsplit(url).path
        except ValueError as exc:
            raise ConfigurationError(f"bad Redis store URL {where}: {exc}") from None
        db = path.strip("/")
        if url.startswith(("redis://", "rediss://")) and db and not db.isdigit():
            # redis-py would silently fall back to database 0
            raise ConfigurationError(f"bad Redis store URL {where}: database {db!r} is no number")
        if url.startswith("unix://") and not db:
            raise ConfigurationError(f"bad Redis store URL {where}: no socket path")
        try:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 1, supported_errors=(_RedisConnectionError,)),
                health_check_interval=0,
            )
        except (ValueError, TypeError) as exc:
            password = urlsplit(url).password
            detail = str(exc).replace(password, "***") if password else str(exc)
            raise ConfigurationError(f"bad Redis store URL {where}: {detail}") from None
        store = cls(client, prefix=prefix)
        store.where = where
        return store

    def __repr__(self) -> str:
        return f"RedisStore({self.where!r}, prefix={self.prefix!r})"

    def close(self) -> None:
        try:
            self._client.close()
        except self._errors as exc:
            self._fail(exc)

    # --- helpers --- #

    def _key(self, ns: str, key: str) -> str:
        if ":" in ns:
            raise ConfigurationError(f"store namespace {ns!r} must not contain ':'")
        check_text(key)
        return f"{self.prefix}{ns}:{key}"

    def _fail(self, exc: BaseException) -> NoReturn:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise StoreUnavailable(f"Redis store {self.where} failed: {detail}") from None

    def _damaged(self, ns: str, key: str) -> NoReturn:
        raise StoreUnavailable(f"Redis store {self.where}: entry {ns}/{key} is damaged")

    def _fetch(self, names: list[str]) -> Any:
        """The raw values of ``names`` (None: absent) in one round trip; a non-string fails."""
        try:
            return self._get_many(keys=names)
        except self._errors as exc:
            self._fail(exc)

    # --- primitives --- #

    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        ttl = max(_ttl_ms(expires_at, now), 1)  # already expired: remember it for 1 ms
        try:
            won = self._first_use(
                keys=[self._key("use", key)],
                args=[f"{float(expires_at)!r}|", repr(float(now)), ttl],
            )
        except self._errors as exc:
            self._fail(exc)
        return bool(won == 1)

    def put(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        name = self._key(ns, key)
        try:
            if until is None:
                self._client.set(name, f"|{value}")  # no PX: also drops any earlier TTL
                return
            ttl = _ttl_ms(until, now)
            if ttl <= 0:
                self._client.delete(name)  # lapsed already
            else:
                self._client.set(name, f"{float(until)!r}|{value}", px=ttl)
        except self._errors as exc:
            self._fail(exc)

    def lengthen(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        try:
            self._lengthen(keys=[self._key(ns, key)], args=list(_lengthen_args(value, until, now)))
        except self._errors as exc:
            self._fail(exc)

    def get_many(self, ns: str, keys: Iterable[str], *, now: float) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        raws = self._fetch([self._key(ns, k) for k in wanted])
        if not isinstance(raws, list) or len(raws) != len(wanted):
            raise StoreUnavailable(f"Redis store {self.where} gave a malformed read reply")
        out: dict[str, str] = {}
        for key, raw in zip(wanted, raws, strict=True):
            if raw is None:
                continue
            try:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                head, sep, value = text.partition("|")
                if not sep:
                    self._damaged(ns, key)
                until = float(head) if head else None
            except (UnicodeDecodeError, ValueError):
                self._damaged(ns, key)
            if until is None or until > now:
                out[key] = value
        return out
