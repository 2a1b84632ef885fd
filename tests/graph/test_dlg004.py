"""DLG004 unverified-hop: hops passed on or used without their receiver's acceptance."""

from __future__ import annotations

import pytest
from forging import forge, token_id
from graph_scene import Scene
from support import CAP, NARROW

from delegation import Chain, DelegationError, Delegator
from delegation.policy import Decision, PolicyContext


class _RefuseAll:
    """A receiving agent's policy that accepts nothing."""

    digest = "refuse-all"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("deny", ("refuse-all",), "nothing is accepted here")


def test_used_and_passed_on_without_acceptance_fires(scene: Scene) -> None:
    """a1 never accepts its hop, yet passes it on and calls with it: medium, first use shown."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    assert scene.call(chain, a1) == "allowed"
    scene.later(5)
    scene.delegate(chain, a1, a2, [NARROW], ttl=200)

    graph = scene.graph()
    [finding] = scene.findings("DLG004", graph)
    assert (finding.rule, finding.severity) == ("DLG004", "medium")
    hop_id = finding.key[0]
    assert finding.key == (hop_id, "unverified") and graph.tokens[hop_id].sub == a1.agent
    assert [s.target for s in finding.path] == [a0.agent, a1.agent, "crm.read"]
    assert finding.path[-1].kind == "invokes"
    # From the chains alone only the re-delegation (no receipt on it) is visible.
    [from_chains] = scene.findings("DLG004", scene.chain_graph())
    assert from_chains.severity == "medium" and from_chains.key == finding.key
    assert [s.target for s in from_chains.path] == [a0.agent, a1.agent, a2.agent]


def test_passed_on_after_refusal_fires_high(scene: Scene) -> None:
    """a1's own check refuses the hop, and a1 delegates it on anyway: high."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    refusing = scene.world.verifier(audience=a1.agent, audit=scene.audit, policy=_RefuseAll())
    with pytest.raises(DelegationError) as refused:
        refusing.accept(chain)
    assert refused.value.code == "policy_denied"
    scene.later(5)
    scene.delegate(chain, a1, a2, [NARROW], ttl=200)
    [finding] = scene.findings("DLG004")
    assert finding.severity == "high" and finding.key[1] == "after_denial"
    assert [s.target for s in finding.path] == [a0.agent, a1.agent, a2.agent]
    assert "policy_denied" in finding.message


def test_receipt_that_does_not_verify_fires_high(scene: Scene) -> None:
    """A receipt on a1's hand-off signed by someone else's key: high, from the chains."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    honest = scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    wrong = Delegator(a2, clock=scene.world.clock).receipt(
        token_id(honest.tokens[1]), policy_digest="chain-grants-only"
    )
    forged = forge(honest.tokens[2], signer=a1, claims={"rcpt": wrong})
    scene.chains = [Chain([*honest.tokens[:2], forged])]
    [finding] = scene.findings("DLG004", scene.chain_graph())
    assert (finding.severity, finding.key[1]) == ("high", "bad_receipt")
    assert [s.target for s in finding.path] == [a0.agent, a1.agent, a2.agent]


def test_accepted_and_receipted_chain_is_quiet(scene: Scene) -> None:
    """Near miss: every receiver accepts before acting, so each hand-off carries a receipt."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    leaf = scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    scene.accept(leaf, a2)
    assert scene.call(leaf, a2) == "allowed"
    assert scene.findings("DLG004") == []
    assert scene.findings("DLG004", scene.chain_graph()) == []
