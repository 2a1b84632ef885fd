"""Step 9, policy: a deny is policy_denied, a crash internal_error.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

from support import World
from verify_support import rejected

from delegation import Decision, PolicyContext


class DenyAll:
    """A policy that denies everything."""

    digest = "deny-all"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("deny", ("no-crm-at-night",), "no CRM reads at night")


class Crashing:
    """A policy whose evaluation fails."""

    digest = "crashing"

    def decide(self, context: PolicyContext) -> Decision:
        raise ValueError("policy engine exploded")


def test_policy_denial_is_policy_denied(world: World) -> None:
    """A verifier policy that denies yields policy_denied, and the audit names its rule."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), policy=DenyAll())
    assert (err.code, err.hop) == ("policy_denied", None)
    assert world.audit.records[-1]["policy"] == {
        "effect": "deny",
        "rules": ["no-crm-at-night"],
        "digest": "deny-all",
    }


def test_policy_crash_is_internal_error(world: World) -> None:
    """A policy raising a foreign exception denies with internal_error."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), policy=Crashing())
    assert err.code == "internal_error"
    assert isinstance(err.__cause__, ValueError)
