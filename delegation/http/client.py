"""The caller's side: an ``httpx.Auth`` that proves every request, and delegation offers.

:class:`DelegationAuth` attaches the chain and a fresh, single-use proof to each request
the route map guards, signed over the exact JSON body being sent. One instance serves
``httpx.Client`` and ``httpx.AsyncClient``; it is also a plain callable
``request -> request``, the auth shape other httpx-like clients accept (the MCP SDK's
``httpx2``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx

from ..errors import DelegationError, InternalError, error_codes
from ..mint import Delegator
from ..tokens import Chain
from ..verify import VerifiedChain
from .middleware import CHAIN_HEADER, PROOF_HEADER
from .problems import PROBLEM_JSON
from .routes import RouteMap

__all__ = ["DelegationAuth", "offer_delegation", "offer_delegation_async", "raise_for_problem"]


class DelegationAuth(httpx.Auth):
    """Sign each guarded request with a fresh proof and attach the chain.

    Parameters: ``delegator`` (the holder's :class:`~delegation.Delegator`), ``chain``
    (the chain it holds, or a function returning the current one), ``audience`` (the
    server's agent id, which the proof names), ``routes`` (the same route map the server
    declares), ``ttl`` (proof lifetime in seconds). Requests the map does not guard are
    sent as they are, without the chain.
    """

    requires_request_body = True

    def __init__(
        self,
        delegator: Delegator,
        chain: Chain | str | Callable[[], Chain | str],
        *,
        audience: str,
        routes: RouteMap,
        ttl: int = 60,
    ) -> None:
        self.delegator = delegator
        self._chain = chain
        self.audience = audience
        self.routes = routes
        self.ttl = ttl

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request

    def __call__(self, request: Any) -> Any:
        """Sign ``request`` in place and return it (for clients taking a callable auth)."""
        request.read()
        self.sign(request)
        return request

    def sign(self, request: Any) -> None:
        """Attach the chain and a proof for ``request`` if the route map guards it."""
        target = self.routes.request(
            request.method, request.url.path, request.url.query, request.content
        )
        if target is None:
            return
        chain = self._chain() if callable(self._chain) else self._chain
        proof = self.delegator.prove(
            chain,
            aud=self.audience,
            tool=target.tool,
            resource=target.resource,
            args=target.args,
            ttl=self.ttl,
        )
        request.headers[CHAIN_HEADER] = str(chain)
        request.headers[PROOF_HEADER] = proof


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the :class:`~delegation.DelegationError` a problem+json response carries.

    The error's class is the one of the body's ``code`` (``InternalError`` for an
    unknown code); other error responses raise ``httpx.HTTPStatusError``.
    """
    if response.is_success:
        return
    if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        code = body.get("code") if isinstance(body, dict) else None
        cls = error_codes().get(code) if isinstance(code, str) else None
        detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
        hop = body.get("hop") if isinstance(body.get("hop"), int) else None
        raise (cls or InternalError)(detail or f"HTTP {response.status_code}", hop=hop)
    response.raise_for_status()


def _offer(chain: Chain | VerifiedChain | str) -> Mapping[str, str]:
    held = chain.chain if isinstance(chain, VerifiedChain) else chain
    return {CHAIN_HEADER: str(held)}


def offer_delegation(
    client: httpx.Client, url: str, chain: Chain | VerifiedChain | str
) -> dict[str, Any]:
    """Hand ``chain`` to the agent at ``url`` (an :func:`~delegation.http.accept_endpoint`).

    Returns its answer (with ``receipt``, the receiver's signed acceptance); raises the
    :class:`~delegation.DelegationError` it refused with.
    """
    response = client.post(url, headers=_offer(chain))
    raise_for_problem(response)
    return _json_object(response)


async def offer_delegation_async(
    client: httpx.AsyncClient, url: str, chain: Chain | VerifiedChain | str
) -> dict[str, Any]:
    """:func:`offer_delegation` for an ``httpx.AsyncClient``."""
    response = await client.post(url, headers=_offer(chain))
    raise_for_problem(response)
    return _json_object(response)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DelegationError("the receiving agent did not answer with a JSON object")
    return body
