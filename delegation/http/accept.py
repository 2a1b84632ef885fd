"""The receiving agent's endpoint for an inbound delegation: accept it, sign a receipt.

An orchestrator offers a chain (``Delegation-Chain`` header, no proof: nothing is invoked
yet); the endpoint runs :meth:`Verifier.accept <delegation.Verifier.accept>` (the chain's
checks, then the receiver's own policy on action ``accept``, once per token), hands the
:class:`~delegation.VerifiedChain` to the app's ``on_accept``, and answers with the
receiver's signed receipt. A refusal is a problem+json response like the middleware's.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from ..errors import DelegationError, InternalError, MalformedError
from ..keys import AgentKey
from ..mint import Delegator
from ..verify import VerifiedChain, Verifier
from .middleware import _CHAIN, CHAIN_HEADER, ASGIApp, Receive, Scope, Send
from .problems import problem

__all__ = ["accept_endpoint"]


def accept_endpoint(
    verifier: Verifier,
    key: AgentKey | Delegator,
    *,
    on_accept: Callable[[VerifiedChain], Any] | None = None,
) -> ASGIApp:
    """An ASGI app accepting delegations offered to ``verifier.audience`` by ``POST``.

    ``key`` is the receiver's own key (it signs the receipt); ``on_accept`` (sync or
    async) keeps the accepted chain, typically to delegate a slice of it onwards with
    ``Delegator.delegate(verified, ...)``, which carries the receipt. Answers 200 with
    ``{"accepted": true, "receipt", "token_id", "holder", "task", "capabilities"}``.
    """
    return _AcceptEndpoint(
        verifier, key if isinstance(key, Delegator) else Delegator(key), on_accept
    )


class _AcceptEndpoint:
    """An ASGI app object (not a function), so that routers mount it as it is."""

    def __init__(
        self,
        verifier: Verifier,
        delegator: Delegator,
        on_accept: Callable[[VerifiedChain], Any] | None,
    ) -> None:
        self.verifier = verifier
        self.delegator = delegator
        self.on_accept = on_accept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        verifier, delegator, on_accept = self.verifier, self.delegator, self.on_accept
        if scope["type"] != "http":
            return
        try:
            if scope["method"] != "POST":
                raise MalformedError("offer a delegation with POST")
            chain = next(
                (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == _CHAIN),
                None,
            )
            if not chain:
                raise MalformedError(f"the offer carries no {CHAIN_HEADER} header")
            verified = await anyio.to_thread.run_sync(lambda: verifier.accept(chain))
            if on_accept is not None:
                kept = on_accept(verified)
                if inspect.isawaitable(kept):
                    await kept
            assert verified.policy_digest is not None  # accept always runs the policy
            token_id = verified.token_ids[-1]
            answer = {
                "accepted": True,
                "receipt": delegator.receipt(token_id, policy_digest=verified.policy_digest),
                "token_id": token_id,
                "holder": verified.holder,
                "task": verified.task,
                "capabilities": [c.to_wire() for c in verified.capabilities],
            }
        except DelegationError as exc:
            status, headers, body = problem(exc)
        except Exception as exc:  # a failure while accepting must refuse
            status, headers, body = problem(
                InternalError(f"accepting failed: {type(exc).__name__}")
            )
        else:
            body = json.dumps(answer).encode()
            status = 200
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
