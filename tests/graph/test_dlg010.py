"""DLG010 bearer-or-broad: fires on unbound or self-bound hops and re-delegable wildcards."""

from __future__ import annotations

import pytest
from forging import forge, token_id
from graph_scene import Scene
from support import CAP, NARROW

from delegation import Capability, Chain, DelegationError, SecurityWarning


def test_unbound_hop_fires_high(scene: Scene) -> None:
    """a0 hand-signs a hop to a1 whose cnf holds no usable key: high, case unbound."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root, honest = scene.honest_hop()
    bearer = forge(honest.tokens[-1], signer=a0, claims={"cnf": {"jwk": {}}})
    chain = Chain([root.tokens[0], bearer])
    scene.chains.append(chain)
    with pytest.raises(DelegationError) as ei:
        scene.accept(chain, a1)  # refused unparsed (no key to bind), so only chains show it
    assert ei.value.code == "malformed"
    for graph in (scene.chain_graph(), scene.combined_graph()):
        [finding] = scene.findings("DLG010", graph)
        assert (finding.rule, finding.severity) == ("DLG010", "high")
        assert finding.key == (a0.agent, "unbound")
        assert [s.target for s in finding.path] == [a0.agent, a1.agent]
        assert finding.path[-1].token == finding.evidence["token_id"] == token_id(bearer)


def test_self_bound_hop_fires_high(scene: Scene) -> None:
    """a0 delegates to a1 but binds a0's own key: high, seen in the log and the chains."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.accept(scene.mint(a0), a0)
    scene.delegate(root, a0, a1, [NARROW], key=a0)
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG010", graph)
        assert (finding.severity, finding.key) == ("high", (a0.agent, "self-bound"))
        assert [s.target for s in finding.path] == [a0.agent, a1.agent]
        assert finding.evidence["cnf_kid"] == a0.kid


def test_broad_capabilities_left_redelegable_fire(scene: Scene) -> None:
    """Tool ** with depth > 0 is high, resource ** with depth > 0 medium; one finding per
    issuer, listing every broad grant and receiver."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    every_tool = Capability(tool="**", resource="customers/**")
    every_resource = Capability(tool="crm.read", resource="**")
    scene.open("T-1")
    scene.tasks.elevate(
        "T-1", [every_tool, every_resource], approved_by="user:bob", ttl=60, reason="audit"
    )
    with pytest.warns(SecurityWarning):
        scene.mint(a0, [every_tool], depth=2)
    root = scene.mint(a1, [every_resource], depth=2)
    scene.delegate(scene.accept(root, a1), a1, a2, [every_resource], depth=1)
    for graph in (scene.graph(), scene.chain_graph()):
        found = {f.key: f for f in scene.findings("DLG010", graph)}
        assert set(found) == {(scene.orch.agent, "broad"), (a1.agent, "broad")}
        by_orch, by_a1 = found[scene.orch.agent, "broad"], found[a1.agent, "broad"]
        assert by_orch.severity == "high"  # every tool, to a0 (and the whole space to a1)
        assert by_orch.evidence["broad"] == [str(every_tool), str(every_resource)]
        assert sorted(by_orch.evidence["subjects"]) == sorted([a0.agent, a1.agent])
        assert by_orch.evidence["tokens"] == 2
        assert by_orch.path[0].source == scene.orch.agent
        assert by_a1.severity == "medium"  # the whole resource space only
        assert [s.target for s in by_a1.path] == [a1.agent, a2.agent]


def test_bound_narrow_and_leaf_wildcards_are_quiet(scene: Scene) -> None:
    """Near miss: hops bound to their receivers' keys, and a ** grant that is a leaf (dpth 0)."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.accept(scene.mint(a0, [CAP]), a0)
    scene.delegate(root, a0, a1, [NARROW])
    every_resource = Capability(tool="crm.read", resource="**")
    scene.open("T-2")
    scene.tasks.elevate("T-2", [every_resource], approved_by="user:bob", ttl=60, reason="x")
    scene.mint(a1, [every_resource], depth=0, task="T-2")
    assert scene.findings("DLG010") == []
    assert scene.findings("DLG010", scene.chain_graph()) == []
