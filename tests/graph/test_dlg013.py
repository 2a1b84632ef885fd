"""DLG013 shared-key: fires on a key bound to several agents or an agent using keys not its own."""

from __future__ import annotations

from graph_scene import Scene
from support import NARROW

from delegation import AgentKey


def test_key_bound_to_two_agents_fires_high(scene: Scene) -> None:
    """a0 binds a2's key to a1, and a2 holds a grant of its own: a2's key speaks for both."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, a1, [NARROW], key=a2)
    scene.delegate(root, a0, a2, [NARROW])
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG013", graph)
        assert (finding.rule, finding.severity, finding.key) == ("DLG013", "high", (a2.kid,))
        assert [(s.source, s.target) for s in finding.path] == [
            (a0.agent, a1.agent),
            (a0.agent, a2.agent),
        ]
        assert all(s.token in graph.tokens for s in finding.path)


def test_agent_with_unregistered_extra_key_fires_medium(scene: Scene) -> None:
    """a1 is bound to its own key and to a key the registry never gave it: medium."""
    a0, a1 = scene.agent(0), scene.agent(1)
    rogue = AgentKey.generate(a1.agent)
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, a1, [NARROW])
    scene.delegate(root, a0, a1, [NARROW], key=rogue)
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG013", graph)
        assert (finding.severity, finding.key) == ("medium", (a1.agent, "keys"))
        assert finding.evidence["unregistered"] == [rogue.kid]
        assert {s.target for s in finding.path} == {a1.agent}
        assert len(finding.path) == 2


def test_agent_bound_to_foreign_domain_key_fires_medium(scene: Scene) -> None:
    """a1 is bound to the key of an agent registered in another trust domain: medium."""
    a0, a1 = scene.agent(0), scene.agent(1)
    partner = AgentKey.generate("spiffe://partner.example/agent/p")
    scene.world.registry.add_agent(partner.agent, partner.public_jwk())
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, a1, [NARROW], key=partner)
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG013", graph)
        assert (finding.severity, finding.key) == ("medium", (a1.agent, "keys"))
        assert finding.evidence["domains"] == ["acme.example", "partner.example"]
        assert [s.target for s in finding.path] == [a1.agent]


def test_rotated_registered_keys_are_quiet(scene: Scene) -> None:
    """Near miss: a1 bound to two keys, both registered to it (rotation), each agent its own."""
    a0, a1 = scene.agent(0), scene.agent(1)
    second = AgentKey.generate(a1.agent)
    scene.world.registry.add_agent(a1.agent, second.public_jwk())
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, a1, [NARROW])
    scene.delegate(root, a0, a1, [NARROW], key=second)
    assert scene.findings("DLG013") == []
    assert scene.findings("DLG013", scene.chain_graph()) == []
