"""Policy: the verifying agent's own decision on each request, evaluated at the moment of action.

A policy is any object with ``decide(context) -> Decision``. Deny overrides allow; a
policy that matches nothing must deny. :class:`ChainGrantsOnly` is the explicit choice
"the chain's capabilities are my whole policy".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ..capabilities import Capability, Request

__all__ = ["ChainGrantsOnly", "Decision", "Policy", "PolicyContext"]


@dataclass(frozen=True)
class PolicyContext:
    """Everything a policy may look at: who asks, for what, through which chain, when."""

    holder: str
    request: Request
    path: tuple[str, ...]
    root: str
    depth: int
    task: str
    obo: str | None
    purpose: str | None
    capabilities: tuple[Capability, ...]
    time: float
    labels: frozenset[str] = field(default_factory=frozenset)
    action: Literal["invoke", "accept"] = "invoke"


@dataclass(frozen=True)
class Decision:
    """A policy's verdict: effect, the rule ids that decided it, and a one-line reason."""

    effect: Literal["allow", "deny"]
    rules: tuple[str, ...] = ()
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"


@runtime_checkable
class Policy(Protocol):
    """The verifier's own rules. ``digest`` names the policy version (for receipts, audit)."""

    digest: str

    def decide(self, context: PolicyContext) -> Decision: ...


class ChainGrantsOnly:
    """Allow whatever the verified chain grants: the chain's capabilities are the whole policy.

    Verification has already checked that the request is within the leaf's
    capabilities, so this adds no rule of its own. Choose it on purpose.

    >>> ChainGrantsOnly().digest
    'chain-grants-only'
    """

    digest = "chain-grants-only"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("allow", ("chain-grants-only",), "allowed by the chain's capabilities")
