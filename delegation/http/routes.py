"""Route maps: which tool, resource and arguments an HTTP request asks for.

The same map is declared once and used on both sides: the middleware builds the
:class:`~delegation.Request` it verifies from it, and :class:`~delegation.http.DelegationAuth`
builds the request its proof signs from it, so the two always agree.

* :class:`Routes`: plain HTTP. ``"POST /customers/{region}/{id}"`` maps to a tool and a
  resource template; the arguments are the JSON object in the body (``{}`` when empty).
* :class:`McpRoutes`: MCP streamable HTTP. A JSON-RPC ``tools/call`` maps to tool =
  ``params.name``, arguments = ``params.arguments``; every other MCP message
  (``initialize``, ``tools/list``, notifications, the event stream) passes unguarded.

A map returns ``None`` for a request that needs no delegation and raises
:class:`~delegation.InvalidRequest` for one it cannot map: a guarded server never lets an
unmapped request through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._jose import STRICT_JSON
from ..capabilities import Request
from ..errors import InvalidRequest, MalformedError

__all__ = ["McpRoutes", "Route", "RouteMap", "Routes", "parse_json_body"]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@runtime_checkable
class RouteMap(Protocol):
    """Maps one HTTP request to the :class:`~delegation.Request` its proof must cover."""

    def request(self, method: str, path: str, query: bytes, body: bytes) -> Request | None:
        """The request to verify, ``None`` if it needs no delegation; raises ``invalid_request``."""
        ...


def parse_json_body(body: bytes) -> Any:
    """Parse a request body as strict JSON (no duplicate keys, no NaN); ``None`` when empty.

    >>> parse_json_body(b'{"max_rows": 10}'), parse_json_body(b"")
    ({'max_rows': 10}, None)
    """
    if not body.strip():
        return None
    try:
        return STRICT_JSON.decode(body.decode("utf-8"))
    except MalformedError as exc:  # two parsers may keep different duplicates: refuse them
        raise InvalidRequest(f"the JSON body: {exc.message}") from None
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidRequest(f"the body is not JSON: {exc}") from None


def _fill(template: str, values: Mapping[str, Any], what: str) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise InvalidRequest(f"the {what} template {template!r} needs {name!r}")
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidRequest(f"{name!r} must be a string or an integer to name a {what}")
        return str(value)

    return _PARAM.sub(one, template)


@dataclass(frozen=True)
class Route:
    """One guarded route: ``method`` and ``path`` (``{name}`` matches one segment) map to
    ``tool`` and ``resource`` (templates filled from the path's parameters)."""

    method: str
    path: str
    tool: str
    resource: str
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = self.path.strip("/").split("/")
        pattern = "/".join(
            f"(?P<{m.group(1)}>[^/]+)" if (m := _PARAM.fullmatch(p)) else re.escape(p)
            for p in parts
        )
        object.__setattr__(self, "_regex", re.compile(f"/{pattern}/?"))
        object.__setattr__(self, "method", self.method.upper())

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if ``method`` and ``path`` are this route's, else ``None``."""
        if method.upper() != self.method:
            return None
        m = self._regex.fullmatch(path)
        return dict(m.groupdict()) if m else None


class Routes:
    """Plain HTTP routes, each naming the tool and resource it acts on.

    ``routes`` maps ``"METHOD /path/{param}"`` to ``(tool, resource)``; ``public`` lists
    ``"METHOD /path"`` entries served without a delegation (health checks). The
    arguments are the body's JSON object. A guarded request with a query string is
    refused: the proof would not cover it.

    >>> routes = Routes({"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")})
    >>> routes.request("POST", "/customers/eu/42", b"", b'{"max_rows": 10}')
    Request(tool='crm.read', resource='customers/eu/42', args={'max_rows': 10})
    """

    def __init__(
        self,
        routes: Mapping[str, tuple[str, str]] | Iterable[Route],
        *,
        public: Iterable[str] = (),
    ) -> None:
        if isinstance(routes, Mapping):
            built = []
            for key, (tool, resource) in routes.items():
                method, _, path = key.partition(" ")
                built.append(Route(method, path.strip(), tool, resource))
            self.routes: tuple[Route, ...] = tuple(built)
        else:
            self.routes = tuple(routes)
        self.public = frozenset(_public_key(p) for p in public)

    def request(self, method: str, path: str, query: bytes, body: bytes) -> Request | None:
        """The request that ``method path`` with JSON ``body`` asks for (see the class)."""
        if (method.upper(), path) in self.public:
            return None
        for route in self.routes:
            params = route.match(method, path)
            if params is None:
                continue
            if query:
                raise InvalidRequest(
                    "a guarded route takes no query string: its arguments are the JSON body"
                )
            args = parse_json_body(body)
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise InvalidRequest("the body must be a JSON object (the arguments)")
            return Request(
                tool=_fill(route.tool, params, "tool"),
                resource=_fill(route.resource, params, "resource"),
                args=args,
            )
        raise InvalidRequest(f"no route maps {method.upper()} {path} to a tool")


def _public_key(entry: str) -> tuple[str, str]:
    method, _, path = entry.partition(" ")
    return method.upper(), path.strip()


class McpRoutes:
    """MCP streamable HTTP at ``path``: guard each JSON-RPC ``tools/call``.

    Tool = ``params.name``, arguments = ``params.arguments``. The resource comes from
    ``resources[tool]`` or ``default_resource``, templates filled from the arguments and
    ``{name}`` (the tool). Other MCP messages pass without a delegation; a batch holding a
    ``tools/call`` is refused (one proof covers one call).

    >>> mcp = McpRoutes("/mcp", resources={"crm.read": "customers/{region}"})
    >>> body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
    >>> body += b'"params": {"name": "crm.read", "arguments": {"region": "eu"}}}'
    >>> mcp.request("POST", "/mcp", b"", body)
    Request(tool='crm.read', resource='customers/eu', args={'region': 'eu'})
    >>> mcp.request("POST", "/mcp", b"", b'{"jsonrpc": "2.0", "id": 0, "method": "initialize"}')
    """

    def __init__(
        self,
        path: str = "/mcp",
        *,
        resources: Mapping[str, str] | None = None,
        default_resource: str = "{name}",
    ) -> None:
        self.path = "/" + path.strip("/")
        self.resources = dict(resources or {})
        self.default_resource = default_resource

    def request(self, method: str, path: str, query: bytes, body: bytes) -> Request | None:
        """The ``tools/call`` this request carries, ``None`` for any other MCP message."""
        if path.rstrip("/") != self.path or method.upper() != "POST":
            return None
        message = parse_json_body(body)
        if isinstance(message, list):
            if any(isinstance(m, dict) and m.get("method") == "tools/call" for m in message):
                raise InvalidRequest("a JSON-RPC batch may not carry tools/call")
            return None
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return None
        params = message.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("name"), str):
            raise InvalidRequest("tools/call needs params.name")
        name: str = params["name"]
        args = params.get("arguments")
        args = {} if args is None else args
        if not isinstance(args, dict):
            raise InvalidRequest("tools/call params.arguments must be an object")
        template = self.resources.get(name, self.default_resource)
        resource = _fill(template, {**args, "name": name}, "resource")
        return Request(tool=name, resource=resource, args=args)
