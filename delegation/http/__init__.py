"""HTTP and MCP edges: guard an ASGI app, prove httpx requests, accept delegations.

Needs the ``http`` extra: ``pip install 'delegation[http]'``. The core package never
imports this one.

* :class:`DelegationMiddleware` guards any ASGI app; :class:`Routes` (plain HTTP) and
  :class:`McpRoutes` (MCP ``tools/call``) say which tool and resource a request acts on.
* :class:`DelegationAuth` signs a fresh proof per request (``httpx.Client`` and
  ``httpx.AsyncClient``).
* :func:`accept_endpoint` / :func:`offer_delegation` hand a delegation over, with a receipt.
* :func:`guard` / :func:`presenting` protect an in-process tool function.
* :data:`STATUS` maps every error code to its HTTP status; :func:`problem` builds the
  RFC 9457 body.
"""

from __future__ import annotations

try:
    import anyio  # noqa: F401
    import httpx  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"delegation.http needs the http extra ({exc.name} is missing): "
        "pip install 'delegation[http]'"
    ) from exc

from .accept import accept_endpoint
from .client import DelegationAuth, offer_delegation, offer_delegation_async, raise_for_problem
from .guard import current_chain, guard, presenting
from .middleware import CHAIN_HEADER, PROOF_HEADER, DelegationMiddleware, verified_chain
from .problems import PROBLEM_JSON, STATUS, problem, status_for
from .routes import McpRoutes, Route, RouteMap, Routes, parse_json_body

__all__ = [
    "CHAIN_HEADER",
    "PROBLEM_JSON",
    "PROOF_HEADER",
    "STATUS",
    "DelegationAuth",
    "DelegationMiddleware",
    "McpRoutes",
    "Route",
    "RouteMap",
    "Routes",
    "accept_endpoint",
    "current_chain",
    "guard",
    "offer_delegation",
    "offer_delegation_async",
    "parse_json_body",
    "presenting",
    "problem",
    "raise_for_problem",
    "status_for",
    "verified_chain",
]
