"""Redis Cluster store: the fleet's state sharded over the masters of a Redis Cluster.

Same keys, entries and scripts as :mod:`delegation.stores.redis`, with no operation that
spans two keys, so no operation ever spans two hash slots:

- ``first_use`` (replay cache, single acceptance) and ``lengthen`` (revocations) are
  single-key scripts, atomic on the master that owns the key's slot;
- ``get_many`` (the revocation check) is a pipeline of single-key ``GET``: the client
  sends every node its share at once, then reads the replies (one round trip per node, in
  parallel); a key holding a list, set or other non-string fails the whole read
  (``WRONGTYPE``), never reads as absent;
- with ``wait=N`` every revocation and record write is followed by ``WAIT N`` on the
  same connection to the key's master: the write is acknowledged only once ``N`` replicas
  hold it, so a failover that promotes one of them cannot lose it. Fewer acknowledgements
  within ``wait_timeout`` raise ``store_unavailable`` (the write may still have landed:
  revocations are idempotent, so retry). Replay entries are not waited for: they live as
  long as a proof (seconds), and waiting would add a replica round trip to every
  verification.

While a master is down and no replica has taken over, every operation that needs its
slots raises ``store_unavailable`` within the client's timeouts (the cluster itself
refuses all queries once it marks the master failed); once a replica is promoted the
client learns the new topology on its next error and the same store works again.

URL: ``redis+cluster://[user:password@]host:port[,host:port...][?wait=1&wait_timeout=1
&timeout=2]`` (``rediss+cluster://`` for TLS). Any listed node is enough to discover the
others. Needs the extra: ``pip install 'delegation[redis]'``.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any
from urllib.parse import parse_qsl, unquote

from ..errors import ConfigurationError, StoreUnavailable
from .redis import _LENGTHEN, RedisStore, _lengthen_args, _redact, _ttl_ms

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import ClusterNode, RedisCluster
    from redis.exceptions import RedisClusterException, RedisError
    from redis.retry import Retry
except ImportError:  # pragma: no cover - exercised only without the extra
    raise ConfigurationError("the Redis store needs: pip install 'delegation[redis]'") from None

__all__ = ["RedisClusterStore", "parse_cluster_url"]

_SCHEMES = ("redis+cluster://", "rediss+cluster://")
_OPTIONS = {"wait", "wait_timeout", "timeout"}


def parse_cluster_url(url: str) -> dict[str, Any]:
    """The parts of a ``redis+cluster://`` URL: nodes, credentials, TLS and options.

    Raises ``ConfigurationError`` (naming no password) for anything malformed.

    >>> parse_cluster_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7001?wait=1")["nodes"]
    [('10.0.0.1', 7000), ('10.0.0.2', 7001)]
    """
    where = _redact_cluster(url)
    scheme = next((s for s in _SCHEMES if url.startswith(s)), None)
    if scheme is None:
        raise ConfigurationError(f"bad Redis Cluster URL {where}: not redis+cluster://")
    rest = url.removeprefix(scheme)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    if path not in ("", "0"):
        raise ConfigurationError(f"bad Redis Cluster URL {where}: a cluster has only database 0")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, colon, port = item.rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(
                f"bad Redis Cluster URL {where}: node {item!r} is no host:port"
            )
        nodes.append((host, int(port)))
    options: dict[str, float] = {"wait": 0, "wait_timeout": 1.0, "timeout": 2.0}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _OPTIONS:
            raise ConfigurationError(f"bad Redis Cluster URL {where}: unknown option {name!r}")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0 or (name == "wait" and number != int(number)):
            raise ConfigurationError(f"bad Redis Cluster URL {where}: {name}={value!r}")
        options[name] = number
    return {
        "nodes": nodes,
        "username": username,
        "password": password,
        "ssl": scheme == "rediss+cluster://",
        "wait": int(options["wait"]),
        "wait_timeout": options["wait_timeout"],
        "timeout": options["timeout"],
    }


def _redact_cluster(url: str) -> str:
    """``url`` without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return _redact(url)
    scheme, sep, userinfo = head.partition("://")
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{tail}" if ":" in userinfo else url


class RedisClusterStore(RedisStore):
    """The Redis store on a ``redis.cluster.RedisCluster``: no operation spans two slots.

    ``wait`` is the number of replicas that must hold a revocation or record before the
    write returns (``WAIT``), within ``wait_timeout`` seconds. A store built on a client
    owns it: :meth:`close` closes it.
    """

    _errors = (RedisError, RedisClusterException, OSError)

    def __init__(
        self,
        client: RedisCluster,
        *,
        prefix: str = "delegation:",
        wait: int = 0,
        wait_timeout: float = 1.0,
    ) -> None:
        super().__init__(client, prefix=prefix)  # type: ignore[arg-type]
        self._cluster: Any = client  # redis-py's cluster client is only partly typed
        self.wait = wait
        self.wait_timeout = wait_timeout
        nodes = ",".join(f"{n.host}:{n.port}" for n in client.nodes_manager.startup_nodes.values())
        self.where = f"redis+cluster://{nodes}"

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "delegation:", timeout: float | None = None
    ) -> RedisClusterStore:
        """A store on the cluster a ``redis+cluster://`` or ``rediss+cluster://`` URL names.

        Reads the cluster's topology at once: an unreachable cluster raises
        ``store_unavailable`` here, as every later failure does. ``timeout`` (seconds; the
        URL's ``timeout``, default 2) bounds connecting and each reply; a failed command is
        retried once, after the client has re-read the cluster's topology, never in a loop.
        """
        parts = parse_cluster_url(url)
        seconds = parts["timeout"] if timeout is None else timeout
        kwargs: dict[str, Any] = {}
        if parts["ssl"]:
            kwargs["ssl"] = True
        node: Any = ClusterNode  # untyped in redis-py
        try:
            client = RedisCluster(
                startup_nodes=[node(h, p) for h, p in parts["nodes"]],
                username=parts["username"],
                password=parts["password"],
                socket_connect_timeout=seconds,
                socket_timeout=seconds,
                retry=Retry(NoBackoff(), 1),
                health_check_interval=0,
                **kwargs,
            )
        except (RedisError, RedisClusterException, OSError) as exc:
            # the client reads the topology at once: an unreachable cluster is a denial
            store_where = _redact_cluster(url.partition("?")[0])
            detail = " ".join(str(exc).split())[:200]
            if parts["password"]:
                detail = detail.replace(parts["password"], "***")
            raise StoreUnavailable(f"Redis store {store_where} failed: {detail}") from None
        store = cls(client, prefix=prefix, wait=parts["wait"], wait_timeout=parts["wait_timeout"])
        store.where = _redact_cluster(url.partition("?")[0])
        return store

    def __repr__(self) -> str:
        return f"RedisClusterStore({self.where!r}, prefix={self.prefix!r}, wait={self.wait})"

    # --- cluster specifics --- #

    def _fetch(self, names: list[str]) -> Any:
        try:
            pipe = self._cluster.pipeline()
            for name in names:
                pipe.get(name)
            return pipe.execute(raise_on_error=True)
        except self._errors as exc:
            self._fail(exc)

    def _write(self, name: str, *command: Any) -> None:
        """Run ``command`` on the master of ``name``'s slot, then ``WAIT`` for replicas."""
        if self.wait == 0:
            try:
                self._cluster.execute_command(*command)
            except self._errors as exc:
                self._fail(exc)
            return
        for attempt in (1, 2):
            try:
                node = self._cluster.get_node_from_key(name)
                conn = self._cluster.get_redis_connection(node)
                pipe = conn.pipeline(transaction=False)  # one connection: WAIT sees the write
                pipe.execute_command(*command)
                pipe.execute_command("WAIT", self.wait, max(1, int(self.wait_timeout * 1000)))
                acked = pipe.execute(raise_on_error=True)[-1]
            except self._errors as exc:
                # stale topology (MOVED after a failover, a dead master): re-read it, retry once
                with contextlib.suppress(*self._errors):
                    self._cluster.nodes_manager.initialize()
                if attempt == 2 or not isinstance(exc, redis.exceptions.ResponseError):
                    self._fail(exc)
                continue
            if not isinstance(acked, int) or acked < self.wait:
                raise StoreUnavailable(
                    f"Redis store {self.where}: write of {name} acknowledged by {acked} "
                    f"of {self.wait} replicas within {self.wait_timeout}s"
                )
            return

    # --- primitives --- #

    def put(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        name = self._key(ns, key)
        if until is None:
            self._write(name, "SET", name, f"|{value}")
            return
        ttl = _ttl_ms(until, now)
        if ttl <= 0:
            self._write(name, "DEL", name)
        else:
            self._write(name, "SET", name, f"{float(until)!r}|{value}", "PX", ttl)

    def lengthen(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        name = self._key(ns, key)
        self._write(name, "EVAL", _LENGTHEN, 1, name, *_lengthen_args(value, until, now))
