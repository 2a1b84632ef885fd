"""Policy: the verifying agent's own decision on each request, evaluated at the moment of action.

A policy is any object with a ``digest`` (names the policy version, carried in receipts
and audit records) and ``decide(context) -> Decision``. Deny overrides allow; a policy
that matches nothing must deny. :class:`ChainGrantsOnly` is the explicit choice "the
chain's capabilities are my whole policy".

Engines: the built-in rules engine (:mod:`delegation.policy.rules`, JSON or YAML files)
and Cedar (:mod:`delegation.policy.cedar`, extra ``delegation[cedar]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ..capabilities import Capability, Request

__all__ = ["ChainGrantsOnly", "Decision", "Policy", "PolicyContext"]

Action = Literal["invoke", "accept"]

#: The reason of a deny when no rule applies (both engines).
NO_RULE = "no rule allows it"
#: Day names, Monday first (``datetime.weekday()`` order), as policies write them.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PolicyContext:
    """Everything a policy may look at: who asks, for what, through which chain, when.

    ``action`` is ``"invoke"`` (a tool call with a proof; ``request`` is set) or
    ``"accept"`` (a receiving agent deciding whether to take on a delegation: ``request``
    is None, ``capabilities`` are what is offered). ``delegator`` is the leaf's issuer in
    both cases.
    ``labels`` are request labels the verifier's caller knows (``{"sensitivity": "high"}``);
    ``tool_labels`` come from the registry; ``environment`` is the verifier's own
    configuration (``{"env": "prod"}``); ``time`` is POSIX seconds (UTC).
    """

    holder: str
    request: Request | None
    path: tuple[str, ...]
    root: str
    depth: int
    remaining_depth: int
    task: str
    obo: str | None
    purpose: str | None
    capabilities: tuple[Capability, ...]
    time: float
    action: Action = "invoke"
    delegator: str | None = None
    labels: Mapping[str, Any] = field(default_factory=dict)
    tool_labels: frozenset[str] = frozenset()
    environment: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """A policy's verdict: effect, the rule ids that decided it, and a one-line reason.

    ``explanation`` says why a deny is a deny, a few short lines (at most ten, each cut
    to 200 characters, values quoted as JSON): for each rule considered, the condition
    that did not hold or the deny rule that matched. It is for people and logs; it does
    not take part in equality.
    """

    effect: Literal["allow", "deny"]
    rules: tuple[str, ...] = ()
    reason: str = ""
    explanation: tuple[str, ...] = field(default=(), compare=False, repr=False)

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
