"""DLG006 principal-switch: a hop changing task or principal; one key serving many principals."""

from __future__ import annotations

from forging import forge
from graph_scene import Scene
from support import CAP, NARROW

from delegation import Chain


def test_hop_changing_principal_fires(scene: Scene) -> None:
    """a1 re-signs its hand-off to a2 for mallory instead of alice: high, from log and chains."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0)
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    honest = scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    forged = forge(honest.tokens[2], signer=a1, claims={"obo": "user:mallory"})
    bad = Chain([*honest.tokens[:2], forged])
    assert scene.call(bad, a2) == "principal_mismatch"
    scene.chains = [bad]
    for graph in (scene.graph(), scene.chain_graph()):
        switched = [f for f in scene.findings("DLG006", graph) if f.key[1] == "switch"]
        [finding] = switched
        assert (finding.rule, finding.severity) == ("DLG006", "high")
        assert [s.target for s in finding.path] == [a0.agent, a1.agent, a2.agent]
        assert "principal user:alice -> user:mallory" in finding.message


def test_one_key_serving_two_principals_fires(scene: Scene) -> None:
    """a0's key serves alice (T-1) and, a minute later, bob (T-2): medium, both paths shown."""
    a0 = scene.agent(0)
    scene.mint(a0, task="T-1", obo="user:alice")
    scene.later(60)
    scene.mint(a0, task="T-2", obo="user:bob")
    assert scene.call(scene.chains[-1], a0) == "allowed"
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG006", graph)
        assert (finding.severity, finding.key[1]) == ("medium", "principals")
        assert finding.key[0] == graph.tokens[finding.path[0].token].cnf_kid
        assert finding.evidence["principals"] == ["user:alice", "user:bob"]
        assert len(finding.path) == 2 and {s.target for s in finding.path} == {a0.agent}


def test_one_principal_per_window_is_quiet(scene: Scene) -> None:
    """Near miss: the same key serves bob only after the window; the chain keeps its principal."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.mint(a0, task="T-1", obo="user:alice", ttl=60)
    scene.delegate(scene.accept(root, a0), a0, a1, [NARROW], ttl=30)
    scene.later(700)
    scene.mint(a0, task="T-2", obo="user:bob")
    assert scene.findings("DLG006", principal_window=600) == []
    assert scene.findings("DLG006", scene.chain_graph(), principal_window=600) == []
