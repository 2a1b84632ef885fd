"""Guard a tool implemented as a plain Python function called in the same process.

Frameworks that call tools in-process have no HTTP request to carry the chain and proof:
the caller presents them in a context variable (:func:`presenting`) and the
:func:`guard` decorator verifies them for the call about to run, with the tool's
arguments as the request's ``args``. Context variables follow the call across threads
started with ``contextvars.copy_context`` and across ``await``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from ..capabilities import Request
from ..errors import ConfigurationError, MalformedError
from ..tokens import Chain
from ..verify import VerifiedChain, Verifier
from .routes import _fill

__all__ = ["current_chain", "guard", "presenting"]

P = ParamSpec("P")
R = TypeVar("R")

# Context variables, not module state: each task or thread context sees its own values.
_presented: ContextVar[tuple[Chain | str, str] | None] = ContextVar(
    "delegation_presented", default=None
)
_current: ContextVar[VerifiedChain | None] = ContextVar("delegation_current", default=None)


@contextmanager
def presenting(chain: Chain | str, proof: str) -> Iterator[None]:
    """Present ``chain`` and ``proof`` to the guarded call(s) made inside the block.

    A proof is single-use: present a fresh one for every guarded call.
    """
    token = _presented.set((chain, proof))
    try:
        yield
    finally:
        _presented.reset(token)


def current_chain() -> VerifiedChain:
    """Inside a guarded function: the chain verified for this call."""
    verified = _current.get()
    if verified is None:
        raise ConfigurationError("no guarded call is running in this context")
    return verified


def guard(
    verifier: Verifier, *, tool: str, resource: str
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Verify the presented chain and proof before each call of the decorated function.

    The request is ``tool`` on ``resource`` (a template filled from the arguments, e.g.
    ``"customers/{region}"``) with ``args`` = the arguments the caller passed, by
    parameter name (defaults not passed are not part of it): the caller's proof must sign
    exactly those. Raises the verifier's :class:`~delegation.DelegationError` (nothing
    runs) or ``malformed`` when nothing was presented. Works on ``async def`` too.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)

        def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> VerifiedChain:
            presented = _presented.get()
            if presented is None:
                raise MalformedError(f"{fn.__name__} is guarded: present a chain and a proof")
            bound = dict(signature.bind(*args, **kwargs).arguments)
            request = Request(tool=tool, resource=_fill(resource, bound, "resource"), args=bound)
            return verifier.verify(presented[0], presented[1], request)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = _current.set(check(args, kwargs))
                try:
                    return await fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            token = _current.set(check(args, kwargs))
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return wrapper

    return decorate
