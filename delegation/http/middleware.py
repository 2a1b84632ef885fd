"""A pure ASGI middleware that guards an app with delegation chains and proofs.

It works under any ASGI server and framework (Starlette, FastAPI, an MCP server's
streamable HTTP app). For each HTTP request it:

1. refuses a body over ``max_body`` with 413, from ``Content-Length`` or while reading,
   without reading it whole;
2. asks the app's route map which :class:`~delegation.Request` the request makes (tool,
   resource, arguments from the JSON body); ``None`` passes it through unguarded;
3. verifies ``Delegation-Chain`` and ``Delegation-Proof`` for that request with the app's
   :class:`~delegation.Verifier` (all ten steps: its policy, stores and audit), in a worker
   thread so that a store round trip does not stall the event loop;
4. on a denial answers with the status of :data:`~delegation.http.STATUS` and an RFC 9457
   problem body carrying the stable ``code``; on success calls the app with the body
   replayed and the :class:`~delegation.VerifiedChain` in the scope
   (``scope["delegation"]`` and ``scope["state"]["delegation"]``, which Starlette shows
   as ``request.state.delegation``; :func:`verified_chain` reads either).

WebSocket connections are refused (code 1008): their messages would not be covered by
any proof. Lifespan events pass through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import anyio.to_thread

from ..capabilities import Request
from ..errors import (
    ConfigurationError,
    DelegationError,
    InternalError,
    InvalidRequest,
    MalformedError,
    OversizedError,
)
from ..verify import VerifiedChain, Verifier
from .problems import problem
from .routes import RouteMap

__all__ = ["CHAIN_HEADER", "PROOF_HEADER", "DelegationMiddleware", "verified_chain"]

CHAIN_HEADER = "Delegation-Chain"
PROOF_HEADER = "Delegation-Proof"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CHAIN = CHAIN_HEADER.lower().encode()
_PROOF = PROOF_HEADER.lower().encode()


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


def verified_chain(where: Mapping[str, Any] | Any) -> VerifiedChain:
    """The verified chain of the current request: pass the ASGI scope or a Starlette request.

    Raises ``ConfigurationError`` when the request did not pass through the middleware
    (an unguarded route has no chain).
    """
    scope = where if isinstance(where, Mapping) else getattr(where, "scope", {})
    verified = scope.get("delegation")
    if not isinstance(verified, VerifiedChain):
        raise ConfigurationError("this request carries no verified chain (is the route guarded?)")
    return verified


class DelegationMiddleware:
    """Guard the ASGI ``app``: every request ``routes`` maps must carry a valid delegation.

    Parameters: ``verifier`` (the app's own, with its policy and shared stores),
    ``routes`` (a :class:`~delegation.http.Routes`, :class:`~delegation.http.McpRoutes` or
    any :class:`~delegation.http.RouteMap`), ``max_body`` (bytes; larger bodies get 413),
    ``retry_after`` (seconds, sent with 503), ``labels`` (a function of the scope giving the
    request labels the policy may match).

    Warning: the verifier's replay and revocation stores must be shared by every replica
    of the app, or a proof can be replayed against another replica.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: Verifier,
        routes: RouteMap,
        max_body: int = 1 << 20,
        retry_after: int = 1,
        labels: Callable[[Scope], Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(verifier, Verifier):
            raise ConfigurationError("DelegationMiddleware needs a Verifier")
        if not isinstance(routes, RouteMap):
            raise ConfigurationError("routes must have request(method, path, query, body)")
        if not isinstance(max_body, int) or max_body < 0:
            raise ConfigurationError("max_body must be a size in bytes >= 0")
        self.app = app
        self.verifier = verifier
        self.routes = routes
        self.max_body = max_body
        self.retry_after = retry_after
        self.labels = labels

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        try:
            body = await self._read_body(headers, receive)
        except _Disconnected:
            return
        except _TooLarge:
            await self._deny(send, OversizedError(f"the body is over {self.max_body} bytes"), 413)
            return
        except DelegationError as exc:
            await self._deny(send, exc)
            return
        try:
            request = self.routes.request(
                scope["method"], scope["path"], scope.get("query_string", b""), body
            )
            if request is not None:
                verified = await self._verify(scope, headers, request)
        except DelegationError as exc:
            await self._deny(send, exc)
            return
        except Exception as exc:  # a failure while deciding must deny
            await self._deny(send, InternalError(f"the guard failed: {type(exc).__name__}"))
            return
        if request is not None:
            state = dict(scope.get("state") or {})
            state["delegation"] = verified
            scope = {**scope, "state": state, "delegation": verified}
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, headers: list[tuple[bytes, bytes]], receive: Receive) -> bytes:
        for name, value in headers:
            if name.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    raise InvalidRequest("Content-Length is not a number") from None
                if declared > self.max_body:
                    raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge  # stop reading: the rest is never buffered
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _verify(
        self, scope: Scope, headers: list[tuple[bytes, bytes]], request: Request
    ) -> VerifiedChain:
        chain = proof = None
        for name, value in headers:
            lowered = name.lower()
            if lowered == _CHAIN:
                chain = value.decode("latin-1")
            elif lowered == _PROOF:
                proof = value.decode("latin-1")
        if not chain:
            raise MalformedError(f"the request carries no {CHAIN_HEADER} header")
        if not proof:
            raise MalformedError(f"the request carries no {PROOF_HEADER} header")
        labels = self.labels(scope) if self.labels is not None else None
        verifier = self.verifier

        def run() -> VerifiedChain:
            return verifier.verify(chain, proof, request, labels=labels)

        return await anyio.to_thread.run_sync(run)

    async def _deny(self, send: Send, exc: DelegationError, status: int | None = None) -> None:
        code, headers, body = problem(exc, status=status, retry_after=self.retry_after)
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
