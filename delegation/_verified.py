"""The result of a verification: a sealed, immutable :class:`VerifiedChain`.

Only :class:`delegation.Verifier` builds one (it passes ``SEAL``); the seal is bound to
the very object, so a copy made around one is not sealed, and ``Delegator.delegate``
refuses it. Importable as ``delegation.VerifiedChain`` and ``delegation.verify.VerifiedChain``.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any, Literal, NoReturn, SupportsIndex

from .capabilities import Capability, Request
from .policy import Decision
from .tokens import Chain

__all__ = ["SEAL", "VerifiedChain"]

SEAL = object()  # what only the Verifier passes to VerifiedChain


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that passed verification (built only by :class:`Verifier`).

    ``path`` is the root issuer followed by each hop's subject; ``depth`` the number of
    hops; ``remaining_depth`` how many further hops the holder may delegate. ``action``
    says which call built it: ``verify`` (a request with its proof), ``accept`` (an inbound
    delegation accepted under ``policy_digest``; hand it to ``Delegator.delegate`` to
    attach the receipt), or ``chain`` (steps 1-7 only).
    """

    holder: str
    path: tuple[str, ...]
    root: str
    task: str
    obo: str | None
    depth: int
    remaining_depth: int
    capabilities: tuple[Capability, ...]
    token_ids: tuple[str, ...]
    expires_at: int
    purpose: str | None
    chain: Chain = field(repr=False)
    request: Request | None = None
    decision: Decision | None = None
    action: Literal["verify", "accept", "chain"] = "chain"
    policy_digest: str | None = None
    # The verifier's seal is an InitVar with a default, so dataclasses.replace() passes the
    # default (not the seal) and the copy is refused. ``_sealed`` binds the seal to this very
    # object (its id): a copy of the attributes into another object is not sealed.
    _seal: InitVar[object] = None
    _sealed: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self, _seal: object) -> None:
        if _seal is not SEAL:
            raise TypeError("VerifiedChain is built only by Verifier")
        object.__setattr__(self, "_sealed", id(self))

    @property
    def sealed(self) -> bool:
        """Whether the :class:`Verifier` built this very object (not a copy made around it)."""
        return self.__dict__.get("_sealed") == id(self)

    def __copy__(self) -> VerifiedChain:
        return self  # immutable: a copy is the object itself, still sealed

    def __deepcopy__(self, memo: dict[int, Any]) -> VerifiedChain:
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("a VerifiedChain cannot be pickled: send the chain and verify it again")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``delegation verify --json`` prints on success."""
        out: dict[str, Any] = {
            "ok": True,
            "holder": self.holder,
            "path": list(self.path),
            "root": self.root,
            "task": self.task,
            "obo": self.obo,
            "depth": self.depth,
            "remaining_depth": self.remaining_depth,
            "capabilities": [c.to_wire() for c in self.capabilities],
            "token_ids": list(self.token_ids),
            "expires_at": self.expires_at,
            "purpose": self.purpose,
        }
        if self.request is not None:
            out["request"] = {"tool": self.request.tool, "resource": self.request.resource}
        if self.decision is not None:
            out["decision"] = {
                "effect": self.decision.effect,
                "rules": list(self.decision.rules),
                "policy": self.policy_digest,
            }
        return out
