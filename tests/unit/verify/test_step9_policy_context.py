"""Step 9 and ``accept``: what the policy is asked, what a denial says, what accept refuses.

Found by a mutation run of ``verify.py`` (docs/mutation.md): several members of the
``PolicyContext`` (remaining depth, purpose, time, delegator, the labels of ``accept``),
the explanation of a denial and the refusals of ``accept`` were not pinned by any test.
"""

from __future__ import annotations

from typing import Any

import pytest
from support import CAP, NARROW, REQ, T0, World
from verify_support import RecordingStore

from delegation import Chain, ChainGrantsOnly, DelegationError, Limits
from delegation.policy import Decision, PolicyContext
from delegation.policy.rules import RulesPolicy

SKEW = Limits().clock_skew


class Recording:
    """A policy that allows everything and keeps each context it was asked about."""

    digest = "recording"

    def __init__(self) -> None:
        self.contexts: list[PolicyContext] = []

    def decide(self, context: PolicyContext) -> Decision:
        self.contexts.append(context)
        return Decision("allow", ("recording",), "recorded")


def _chain_with_purposes(world: World) -> Chain:
    """orch -> a0 (purpose "triage") -> a1 (purpose "export"); holder a1."""
    a = world.agents
    chain = world.delegator(world.orch).mint(
        to=a[0].agent, to_key=a[0].public_jwk(), caps=[CAP], ttl=600, depth=3, task="T-7",
        purpose="triage",
    )  # fmt: skip
    return world.delegator(a[0]).delegate(
        chain, to=a[1].agent, to_key=a[1].public_jwk(), caps=[NARROW], ttl=500, purpose="export"
    )


@pytest.mark.parametrize("action", ["invoke", "accept"])
def test_the_policy_sees_the_whole_context(world: World, action: str) -> None:
    """Fault: a member of the context (remaining depth, purpose, time, delegator, labels)
    is left out or blanked, so a rule on it silently never matches.
    """
    chain = _chain_with_purposes(world)
    policy = Recording()
    a = world.agents
    if action == "invoke":
        verifier = world.verifier(policy=policy)
        verified = verifier.verify(chain, world.prove(chain), REQ, labels={"team": "red"})
    else:
        verifier = world.verifier(policy=policy, audience=a[1].agent)
        verified = verifier.accept(chain, labels={"team": "red"})
    (c,) = policy.contexts
    assert (c.action, c.holder, c.delegator, c.root) == (
        action,
        a[1].agent,
        a[0].agent,
        world.orch.agent,
    )
    assert (c.depth, c.remaining_depth, c.task, c.purpose) == (2, 2, "T-7", "export")
    assert (c.time, dict(c.labels)) == (T0, {"team": "red"})
    assert c.request == (REQ if action == "invoke" else None)
    assert verified.purpose == "export"  # the newest stated purpose


def test_a_denial_says_why_and_explains_itself_in_the_error_and_the_audit(
    world: World,
) -> None:
    """Fault: the denial's message, its explanation or the audited explanation is lost."""
    policy = RulesPolicy.from_text(
        "version: 1\nrules:\n"
        "  - {id: short, effect: allow, when: {max_depth: 1}}\n"
        "  - {id: no-red, effect: deny, reason: red team is out, when: {labels: {team: [red]}}}\n"
    )
    chain = world.chain(2)
    verifier = world.verifier(policy=policy)
    for labels, message, explanation in [
        (None, "policy denied: no rule allows it", ["short: max_depth 1 < depth 2"]),
        (
            {"team": "red"},
            "policy denied: red team is out",
            ["no-red: deny rule matched: red team is out"],
        ),
    ]:
        with pytest.raises(DelegationError) as ei:
            verifier.verify(chain, world.prove(chain), REQ, labels=labels)
        assert (ei.value.code, ei.value.message) == ("policy_denied", message)
        assert ei.value.to_dict()["explanation"] == explanation
        record = world.audit.records[-1]
        assert record["policy"]["explanation"] == explanation
        assert record.get("labels") == labels


class _ChattyAllow:
    """A policy that allows and explains itself anyway."""

    digest = "chatty-allow"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("allow", ("chatty",), "ok", explanation=("chatty: allowed",))


def test_an_allow_is_audited_without_an_explanation(world: World) -> None:
    """Fault: an allow's explanation is audited (only denials explain themselves)."""
    chain = world.chain(2)
    for policy in (ChainGrantsOnly(), _ChattyAllow()):
        world.verifier(policy=policy).verify(chain, world.prove(chain), REQ)
        assert world.audit.records[-1]["policy"].get("explanation") is None


def test_accept_for_another_agent_names_the_leaf_and_its_subject(world: World) -> None:
    """Fault: accept's audience refusal loses its hop, claim or message."""
    chain = world.chain(2)
    a = world.agents
    with pytest.raises(DelegationError) as ei:
        world.verifier(audience=a[2].agent).accept(chain)
    err = ei.value
    assert (err.code, err.hop, err.claim) == ("audience_mismatch", 1, "sub")
    assert err.message == f"the delegation is for {a[1].agent}, not for this agent ({a[2].agent})"


def test_a_token_is_accepted_once_while_it_can_still_verify(world: World) -> None:
    """Fault: the accept entry expires before the token does (``exp - skew``) or never, or
    the second accept's refusal loses its hop or message.
    """
    store = RecordingStore()
    chain = world.chain(2)  # the leaf expires at T0 + 599
    a = world.agents

    def accept() -> Any:
        return world.verifier(audience=a[1].agent, revocations=store, replay=store).accept(chain)

    leaf_id = accept().token_ids[-1]
    assert store.expiries == {f"accept:{leaf_id}": T0 + 599 + SKEW}
    world.clock.advance(599 + SKEW - 1)  # the chain still verifies (within the skew)
    with pytest.raises(DelegationError) as ei:
        accept()
    err = ei.value
    assert (err.code, err.hop, err.message) == (
        "already_accepted",
        1,
        f"token {leaf_id} was already accepted",
    )


class _SilentDeny:
    """A policy that denies without giving a reason."""

    digest = "silent-deny"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("deny", (), "")


def test_a_denial_without_a_reason_says_no_rule_allows_it(world: World) -> None:
    """Fault: the default reason of a denial (a policy that gives none) is garbled."""
    chain = world.chain(1)
    with pytest.raises(DelegationError) as ei:
        world.verifier(policy=_SilentDeny()).verify(chain, world.prove(chain), REQ)
    assert (ei.value.code, ei.value.message) == (
        "policy_denied",
        "policy denied: no rule allows it",
    )
