"""DLG012 blast-radius: ranks agents and sensitive tools; low/medium only where it matters."""

from __future__ import annotations

from forging import token_id
from graph_scene import Scene
from support import NARROW


def _tree(scene: Scene) -> tuple[str, str]:
    """orch -> a0 (crm.read, dpth 3) -> a1 (dpth 2) and a2 (dpth 0); crm.read is sensitive."""
    scene.world.registry.set_tool_labels("crm.read", ["sensitive_read"])
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    accepted = scene.accept(root, a0)
    scene.delegate(accepted, a0, a1, [NARROW])
    leaf = scene.delegate(accepted, a0, a2, [NARROW], depth=0)
    assert scene.call(leaf, a2) == "allowed"
    return token_id(root.tokens[0]), token_id(leaf.tokens[-1])


def test_ranking_of_agents_and_tools(scene: Scene) -> None:
    """a0 ranks first (re-delegable sensitive tool, two downstream agents); a2 is only info."""
    root, leaf = _tree(scene)
    a0, a1, a2 = (scene.agent(i).agent for i in range(3))
    for graph in (scene.graph(), scene.chain_graph()):
        found = {f.key: f for f in scene.findings("DLG012", graph)}
        assert set(found) == {("agent", a0), ("agent", a1), ("agent", a2), ("tool", "crm.read")}
        ranks = {k: (f.severity, f.evidence["rank"]) for k, f in found.items()}
        assert ranks == {
            ("agent", a0): ("low", 1),
            ("agent", a1): ("low", 2),
            ("agent", a2): ("info", 3),
            ("tool", "crm.read"): ("info", 1),
        }
        top = found["agent", a0]
        assert top.rule == "DLG012"
        assert top.evidence["downstream"] == [a1, a2]
        assert top.evidence["redelegable_sensitive"] == ["crm.read"]
        assert [(s.kind, s.source, s.target, s.token) for s in top.path] == [
            ("delegates", scene.orch.agent, a0, root),
            ("holds", a0, "crm.read", None),
        ]
        assert [s.token for s in found["agent", a2].path][-2] == leaf
        tool = found["tool", "crm.read"]
        assert tool.evidence["agents_total"] == 3 and tool.evidence["redelegating_agents"] == 2
        assert [s.source for s in tool.path] == [a0, a1, a2]


def test_tool_reached_by_too_many_agents_is_medium(scene: Scene) -> None:
    """With max_reach 2, three agents reaching crm.read make the tool's entry medium."""
    _tree(scene)
    [tool] = [f for f in scene.findings("DLG012", max_reach=2) if f.key[0] == "tool"]
    assert (tool.rule, tool.severity, tool.key) == ("DLG012", "medium", ("tool", "crm.read"))
    assert "more than the 2 allowed" in tool.message


def test_nothing_sensitive_is_info_only(scene: Scene) -> None:
    """Near miss: without sensitive tools every entry is info and no tool is ranked."""
    a0, a1 = scene.agent(0), scene.agent(1)
    scene.honest_hop()
    for graph in (scene.graph(), scene.chain_graph()):
        found = scene.findings("DLG012", graph)
        assert [f.key for f in found] == [("agent", a0.agent), ("agent", a1.agent)]
        assert {f.severity for f in found} == {"info"}
