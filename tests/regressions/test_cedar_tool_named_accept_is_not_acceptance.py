"""Issue 9, item 8: a tool named ``accept`` mapped to the same Cedar action as accepting."""

from __future__ import annotations

import pytest

from delegation import Capability, InvalidPolicy, Request
from delegation.policy import PolicyContext

cedar = pytest.importorskip("delegation.policy.cedar")
pytest.importorskip("cedarpy")

AGENT = "spiffe://acme.example/agent/a"
ROOT = "spiffe://acme.example/orchestrator"


def _context(**over: object) -> PolicyContext:
    base: dict[str, object] = {
        "holder": AGENT,
        "request": Request(tool="accept", resource="anything/1"),
        "path": (ROOT, AGENT),
        "root": ROOT,
        "depth": 1,
        "remaining_depth": 0,
        "task": "T-1",
        "obo": None,
        "purpose": None,
        "capabilities": (),
        "time": 0.0,
    }
    return PolicyContext(**{**base, **over})  # type: ignore[arg-type]


def test_cedar_tool_named_accept_is_not_acceptance() -> None:
    """A permit for acceptances allows acceptances only, never a call of a tool named accept."""
    policy = cedar.CedarPolicy(
        '@id("take-docs") permit (principal, action == Delegation::Action::"accept", resource);'
    )
    assert policy.decide(_context()).effect == "deny"
    offer = _context(action="accept", request=None, capabilities=(Capability(tool="docs.read"),))
    assert policy.decide(offer).effect == "allow"
    # The old spelling would now name only the tool: refused as ambiguous, with the fix.
    with pytest.raises(InvalidPolicy, match="Delegation::Action"):
        cedar.CedarPolicy('permit (principal, action == Action::"accept", resource);')
