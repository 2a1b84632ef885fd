"""DLG014 trust-boundary: fires on hops crossing domains or tenants unallowed, not when allowed."""

from __future__ import annotations

from graph_scene import Scene
from support import NARROW

from delegation import AgentKey, Registry

PARTNER = "spiffe://partner.example/agent/p"


def _partner(scene: Scene) -> AgentKey:
    partner = AgentKey.generate(PARTNER)
    scene.world.registry.add_agent(partner.agent, partner.public_jwk(), baseline=[NARROW])
    return partner


def test_cross_domain_hop_fires_high_when_redelegable(scene: Scene) -> None:
    """a0 (acme.example) delegates to partner.example with dpth 1: high, witness orch -> a0 -> p."""
    a0, partner = scene.agent(0), _partner(scene)
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, partner, [NARROW], depth=1)
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG014", graph)
        assert (finding.rule, finding.severity) == ("DLG014", "high")
        assert [s.target for s in finding.path] == [a0.agent, PARTNER]
        assert finding.key == (PARTNER, "domain acme.example -> partner.example")
        assert finding.path[-1].token == finding.evidence["token_id"]
        assert finding.evidence["crossings"] == [
            {"kind": "domain", "from": "acme.example", "to": "partner.example"}
        ]


def test_leaf_crossing_is_medium(scene: Scene) -> None:
    """The same crossing as a leaf (dpth 0) is medium."""
    a0, partner = scene.agent(0), _partner(scene)
    scene.delegate(scene.accept(scene.mint(a0), a0), a0, partner, [NARROW], depth=0)
    [finding] = scene.findings("DLG014", scene.chain_graph())
    assert finding.severity == "medium"


def test_tenant_crossing_fires(scene: Scene) -> None:
    """a0 (tenant red) delegates to a1 (tenant blue) in one domain: the registry says it crosses."""
    data = scene.world.registry.to_json()
    data["agents"][scene.agent(0).agent]["tenant"] = "red"
    data["agents"][scene.agent(1).agent]["tenant"] = "blue"
    scene.world.registry = Registry.from_json(data)
    a0, a1 = scene.agent(0), scene.agent(1)
    scene.delegate(scene.accept(scene.mint(a0), a0), a0, a1, [NARROW], depth=0)
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG014", graph)
        assert finding.severity == "medium"
        assert [s.target for s in finding.path] == [a0.agent, a1.agent]
        assert finding.evidence["crossings"] == [{"kind": "tenant", "from": "red", "to": "blue"}]


def test_allowed_crossing_is_quiet(scene: Scene) -> None:
    """Near miss: the acme -> partner crossing is listed in allowed_crossings."""
    a0, partner = scene.agent(0), _partner(scene)
    scene.delegate(scene.accept(scene.mint(a0), a0), a0, partner, [NARROW], depth=1)
    allowed = {"allowed_crossings": [("acme.example", "partner.example")]}
    assert scene.findings("DLG014", **allowed) == []
    assert scene.findings("DLG014", scene.chain_graph(), **allowed) == []
    assert len(scene.findings("DLG014")) == 1


def test_repeated_crossings_are_one_finding(scene: Scene) -> None:
    """Crossings into the same agent in three tasks, from two issuers, are one finding
    counting three tokens; its witness is the first token's path, its severity the worst."""
    a0, a1, partner = scene.agent(0), scene.agent(1), _partner(scene)
    for task, by, depth in (("T-1", a0, 0), ("T-2", a1, 1), ("T-3", a0, 0)):
        root = scene.accept(scene.mint(by, task=task), by)
        scene.delegate(root, by, partner, [NARROW], depth=depth)
    [finding] = scene.findings("DLG014", scene.chain_graph())
    assert finding.key == (PARTNER, "domain acme.example -> partner.example")
    assert finding.severity == "high"
    assert finding.evidence["tokens"] == 3
    assert sorted(finding.evidence["tasks"]) == ["T-1", "T-2", "T-3"]
    assert sorted(finding.evidence["issuers"]) == sorted([a0.agent, a1.agent])
    assert finding.path[-1].token == finding.evidence["token_ids"][0]
    assert "in 3 tokens over 3 task(s)" in finding.message
