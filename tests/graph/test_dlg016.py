"""DLG016 replay: fires on a replayed proof, a re-accepted delegation and a foreign presenter."""

from __future__ import annotations

import pytest
from forging import forge
from graph_scene import Scene
from support import NARROW, TOOL_AUD

from delegation import Chain, DelegationError, Request

REQUEST = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10})


def _chain(scene: Scene) -> Chain:
    a0, a1 = scene.agent(0), scene.agent(1)
    return scene.delegate(scene.accept(scene.mint(a0), a0), a0, a1, [NARROW])


def _present(scene: Scene, chain: Chain, proof: str) -> str:
    verifier = scene.world.verifier(audience=TOOL_AUD, audit=scene.audit)
    try:
        verifier.verify(chain, proof, REQUEST)
    except DelegationError as exc:
        return exc.code
    return "allowed"


def _proof(scene: Scene, chain: Chain) -> str:
    return scene.delegator(scene.agent(1)).prove(
        chain, aud=TOOL_AUD, tool=REQUEST.tool, resource=REQUEST.resource, args=REQUEST.args
    )


def test_replayed_proof_fires_high(scene: Scene) -> None:
    """One proof presented twice (allowed, then proof_replayed): high, keyed by its jti."""
    chain = _chain(scene)
    proof = _proof(scene, chain)
    assert _present(scene, chain, proof) == "allowed"
    assert _present(scene, chain, proof) == "proof_replayed"
    [finding] = scene.findings("DLG016")
    assert (finding.rule, finding.severity, finding.key[2]) == ("DLG016", "high", "replay")
    a0, a1 = scene.agent(0).agent, scene.agent(1).agent
    assert [s.target for s in finding.path[:2]] == [a0, a1]
    assert [(s.kind, s.source, s.target) for s in finding.path[2:]] == [
        ("invokes", a1, "crm.read"),
        ("denied", a1, "crm.read"),
    ]
    assert [d["code"] for d in finding.evidence["decisions"]] == ["allowed", "proof_replayed"]


def test_reaccepted_delegation_fires_high(scene: Scene) -> None:
    """a0 accepts the same root grant twice: the second is already_accepted, high."""
    a0 = scene.agent(0)
    root = scene.mint(a0)
    scene.accept(root, a0)
    with pytest.raises(DelegationError) as ei:
        scene.accept(root, a0)
    assert ei.value.code == "already_accepted"
    [finding] = scene.findings("DLG016")
    assert (finding.severity, finding.key[1]) == ("high", "accept")
    assert finding.path[0].token == finding.key[0]
    assert (finding.path[-1].kind, finding.path[-1].target) == ("denied", a0.agent)


def test_foreign_presenter_fires_high_and_two_issuers_critical(scene: Scene) -> None:
    """a2 presents a proof signed with a1's stolen key: holder high, leaf critical."""
    a1, a2 = scene.agent(1), scene.agent(2)
    chain = _chain(scene)
    assert _present(scene, chain, _proof(scene, chain)) == "allowed"
    stolen = forge(_proof(scene, chain), signer=a1, claims={"iss": a2.agent})
    assert _present(scene, chain, stolen) == "holder_mismatch"
    found = {f.key[-1]: f for f in scene.findings("DLG016")}
    assert set(found) == {"holder", "issuers"}
    holder, issuers = found["holder"], found["issuers"]
    assert holder.severity == "high" and holder.key[1] == a2.agent
    assert (holder.path[-1].kind, holder.path[-1].source) == ("denied", a2.agent)
    assert issuers.severity == "critical"
    assert issuers.evidence["issuers"] == sorted([a1.agent, a2.agent])
    assert {s.source for s in issuers.path[2:]} == {a1.agent, a2.agent}


def test_fresh_proofs_and_single_acceptance_are_quiet(scene: Scene) -> None:
    """Near miss: the holder calls twice, each time with a fresh proof; one acceptance each."""
    chain = _chain(scene)
    assert scene.call(chain, scene.agent(1)) == "allowed"
    assert scene.call(chain, scene.agent(1)) == "allowed"
    assert scene.findings("DLG016") == []
    assert scene.findings("DLG016", scene.combined_graph()) == []
