"""DLG001 scope-escalation: fires on a hop wider than its parent, not on a narrowing one."""

from __future__ import annotations

from forging import forge
from graph_scene import Scene

from delegation import Capability, Chain


def test_forged_widening_hop_fires(scene: Scene) -> None:
    """a1 hand-signs a hop to a2 granting crm.* on everything: critical, with the path."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    scene.plant_escalation()
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG001", graph)
        assert (finding.rule, finding.severity) == ("DLG001", "critical")
        assert [s.target for s in finding.path] == [a0.agent, a1.agent, a2.agent]
        assert finding.path[-1].token == graph.tokens[finding.key[0]].token_id
        assert "crm.*:**" in finding.message


def test_narrowing_chain_is_quiet(scene: Scene) -> None:
    """Near miss: every hop narrows (or keeps) its parent's capabilities."""
    a1 = scene.agent(1)
    _, chain = scene.honest_hop()
    assert scene.call(chain, a1) == "allowed"
    assert scene.findings("DLG001") == []
    assert scene.findings("DLG001", scene.chain_graph()) == []


def test_root_beyond_baseline_fires_unless_elevated(scene: Scene) -> None:
    """A root grant outside the receiver's baseline is high; an elevation covering it is not."""
    a0 = scene.agent(0)
    write = Capability(tool="crm.write", resource="customers/**")
    scene.open("T-9")
    scene.tasks.elevate("T-9", [write], approved_by="user:bob", ttl=60, reason="migration")
    scene.mint(a0, [write], task="T-9")
    assert scene.findings("DLG001") == []
    # The same grant forged by the orchestrator into another task, with no elevation.
    scene.open("T-10")
    forged = forge(scene.chains[-1].tokens[0], signer=scene.orch, claims={"task": "T-10"})
    scene.chains.append(Chain([forged]))
    [finding] = scene.findings("DLG001", scene.combined_graph())
    assert finding.severity == "high" and "baseline" in finding.message
    assert finding.key == (scene.chain_graph().tokens[finding.key[0]].token_id, "baseline")
    assert finding.evidence["task"] == "T-10"
