"""Issue 9, item 2: a deny rule with an argument condition failed open in the rules engine."""

from __future__ import annotations

from typing import Any

import pytest
from support import one_hop_context

from delegation import ConfigurationError, Request
from delegation.policy import Policy
from delegation.policy.rules import RulesPolicy

RULES = """
version: 1
rules:
  - {id: pay, effect: allow, tool: payments.send}
  - {id: small-refunds, effect: allow, tool: payments.refund, when: {args: {amount: {max: 100}}}}
  - {id: big-needs-approval, effect: deny, tool: "payments.*", when: {args: {amount: {min: 1000}}}}
"""
CEDAR = """
@id("pay") permit (principal, action == Action::"payments.send", resource);
@id("small-refunds") permit (principal, action == Action::"payments.refund", resource)
  when { context.args.amount <= 100 };
@id("big-needs-approval") forbid (principal, action, resource)
  when { context.tool like "payments.*" && context.args.amount >= 1000 };
"""
AGENT = "spiffe://acme.example/agent/a"


def _engines() -> list[Policy]:
    engines: list[Policy] = [RulesPolicy.from_text(RULES)]
    try:
        from delegation.policy.cedar import CedarPolicy

        engines.append(CedarPolicy(CEDAR))
    except ConfigurationError:  # without the cedar extra only the rules engine runs
        pass
    return engines


def _decide(policy: Policy, tool: str, args: dict[str, Any]) -> str:
    context = one_hop_context(
        Request(tool=tool, resource="accounts/1", args=args),
        holder=AGENT,
        root="spiffe://acme.example/orchestrator",
    )
    return policy.decide(context).effect


@pytest.mark.parametrize("args", [{"amount": "5000"}, {"amount": [5000]}, {"amount": True}, {}])
def test_deny_condition_that_cannot_be_evaluated_denies(args: dict[str, Any]) -> None:
    """A deny condition on a missing or mistyped argument matches; an allow one does not."""
    for policy in _engines():
        assert _decide(policy, "payments.send", args) == "deny", policy
        assert _decide(policy, "payments.send", {"amount": 5}) == "allow", policy
        assert _decide(policy, "payments.refund", {"amount": "50"}) == "deny", policy
        assert _decide(policy, "payments.refund", {"amount": 50}) == "allow", policy
