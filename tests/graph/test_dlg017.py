"""DLG017 choke-point: fires on agents every path to a sensitive tool goes through."""

from __future__ import annotations

from forging import token_id
from graph_scene import Scene
from support import NARROW

from delegation import AgentKey


def _sensitive(scene: Scene) -> None:
    scene.world.registry.set_tool_labels("crm.read", ["sensitive_read"])


def test_gateway_agent_and_root_are_choke_points(scene: Scene) -> None:
    """orch -> a0 -> {a1, a2}: a0 and the orchestrator guard crm.read (info), with a path via a0."""
    _sensitive(scene)
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    accepted = scene.accept(root, a0)
    c1 = scene.delegate(accepted, a0, a1, [NARROW])
    scene.delegate(accepted, a0, a2, [NARROW])
    assert scene.call(c1, a1) == "allowed"

    for graph in (scene.graph(), scene.chain_graph()):
        found = scene.findings("DLG017", graph)
        assert sorted((f.rule, f.severity, f.key) for f in found) == [
            ("DLG017", "info", (a0.agent,)),
            ("DLG017", "info", (scene.orch.agent,)),
        ]
        gate = next(f for f in found if f.key == (a0.agent,))
        assert gate.agents[:2] == (scene.orch.agent, a0.agent)
        assert gate.path[0].token == token_id(root.tokens[0])
        assert gate.path[-1].kind == "holds" and gate.path[-1].target == "crm.read"
        assert gate.evidence["tools"]["crm.read"]["holders"] == 3
        top = next(f for f in found if f.key == (scene.orch.agent,))
        # The root's witness goes to a0, the holder nearest the root.
        assert [(s.kind, s.source, s.target) for s in top.path] == [
            ("delegates", scene.orch.agent, a0.agent),
            ("holds", a0.agent, "crm.read"),
        ]


def test_second_path_removes_the_choke_point(scene: Scene) -> None:
    """Near miss: a1 also gets crm.read straight from the root, so a0 guards nothing."""
    _sensitive(scene)
    a1 = scene.agent(1)
    scene.honest_hop()
    scene.mint(a1, task="T-2")
    for graph in (scene.graph(), scene.chain_graph()):
        assert [f.key for f in scene.findings("DLG017", graph)] == [(scene.orch.agent,)]


def test_unregistered_issuer_is_medium(scene: Scene) -> None:
    """A grant minted by an agent the registry does not know makes it a medium choke point."""
    _sensitive(scene)
    rogue = AgentKey.generate("spiffe://acme.example/agent/rogue")
    a3, a4 = scene.agent(3), scene.agent(4)
    root = scene.mint(a3, by=rogue)
    scene.delegate(root, a3, a4, [NARROW])
    for graph in (scene.graph(), scene.chain_graph()):
        found = {f.key: f for f in scene.findings("DLG017", graph)}
        assert sorted(found) == sorted([(rogue.agent,), (a3.agent,)])
        assert found[rogue.agent,].severity == "medium"
        assert "not in the registry" in found[rogue.agent,].message
        assert found[a3.agent,].severity == "info"


def test_no_sensitive_tool_is_quiet(scene: Scene) -> None:
    """Near miss: nothing is labelled sensitive, so nothing is guarded."""
    scene.honest_hop()
    assert scene.findings("DLG017") == []
    assert scene.findings("DLG017", scene.chain_graph(), sensitive_tools=("crm.write",)) == []
