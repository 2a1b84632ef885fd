"""DLG009 lifetime-extension: long or parent-outliving tokens; use past revocation or task end."""

from __future__ import annotations

from forging import forge, token_id
from graph_scene import Scene
from support import CAP, NARROW, TOOL_AUD

from delegation import Chain, Delegator, MemoryStore, Request


def _unshared_call(scene: Scene, chain: Chain, holder_index: int) -> None:
    """A call checked by a verifier that does not share the deployment's revocation store."""
    holder = scene.agent(holder_index)
    args = {"max_rows": 10}
    proof = Delegator(holder, clock=scene.world.clock).prove(
        chain, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/1", args=args
    )
    lone = scene.world.verifier(audit=scene.audit, revocations=MemoryStore(), replay=MemoryStore())
    lone.verify(chain, proof, Request(tool="crm.read", resource="customers/eu/1", args=args))


def test_child_outliving_parent_fires(scene: Scene) -> None:
    """a0 re-signs a hop to a1 that expires after a0's own token: high, log and chains."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.mint(a0, ttl=100)
    honest = scene.delegate(scene.accept(root, a0), a0, a1, [NARROW], ttl=50)
    forged = forge(honest.tokens[1], signer=a0, claims={"exp": int(scene.world.clock.now()) + 500})
    bad = Chain([honest.tokens[0], forged])
    assert scene.call(bad, a1) == "lifetime_exceeded"
    scene.chains = [bad]
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG009", graph)
        assert (finding.rule, finding.severity) == ("DLG009", "high")
        assert finding.key == (token_id(forged), "lifetime")
        assert [s.target for s in finding.path] == [a0.agent, a1.agent]
        assert "outlives its parent" in finding.message


def test_lifetime_over_maximum_fires(scene: Scene) -> None:
    """A 600 s grant against a 300 s maximum: high."""
    scene.mint(scene.agent(0), ttl=600)
    [finding] = scene.findings("DLG009", max_lifetime=300)
    assert finding.severity == "high" and "over the 300s maximum" in finding.message


def test_use_after_revocation_fires_critical(scene: Scene) -> None:
    """a0's token is revoked, then a verifier with its own store still allows a1's call."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root, chain = scene.honest_hop()
    scene.later(10)
    scene.tasks.revoke("token", token_id(root.tokens[0]), reason="compromised")
    scene.later(10)
    _unshared_call(scene, chain, 1)
    [finding] = scene.findings("DLG009")
    assert (finding.severity, finding.key[1]) == ("critical", "revoked")
    assert finding.key[2] == f"token:{token_id(root.tokens[0])}"
    assert [s.target for s in finding.path] == [a0.agent, a1.agent, "crm.read"]
    assert finding.path[-1].kind == "invokes"


def test_use_after_close_and_mint_after_close_fire(scene: Scene) -> None:
    """After T-1 closes: an allowed call is critical, a token minted into it is high."""
    a0 = scene.agent(0)
    chain = scene.mint(a0)
    scene.later(5)
    scene.tasks.close("T-1", reason="done")
    scene.later(5)
    _unshared_call(scene, chain, 0)
    loose = Delegator(scene.orch, clock=scene.world.clock, audit=scene.audit)
    loose.mint(to=a0.agent, to_key=a0.public_jwk(), caps=[CAP], ttl=60, task="T-1")
    found = {f.key[1]: f for f in scene.findings("DLG009")}
    assert set(found) == {"after_closed", "after_close"}
    assert found["after_closed"].severity == "critical"
    assert found["after_close"].severity == "high"
    assert found["after_closed"].path[-1].source == a0.agent


def test_use_before_or_outside_revocation_is_quiet(scene: Scene) -> None:
    """Near miss: the call comes after the revocation lapsed, and the chain is well timed."""
    a1 = scene.agent(1)
    root, chain = scene.honest_hop()
    now = scene.world.clock.now()
    scene.tasks.revoke("token", token_id(root.tokens[0]), until=now + 5, reason="pause")
    scene.later(10)
    assert scene.call(chain, a1) == "allowed"
    assert scene.findings("DLG009") == []
    assert scene.findings("DLG009", scene.chain_graph()) == []
