"""DLG007 depth-fan-out: fires on a chain past max_depth and on a wide fan, not below."""

from __future__ import annotations

from graph_scene import Scene
from support import NARROW

from delegation import Chain


def _chain(scene: Scene, hops: int) -> Chain:
    """orch -> a0 -> a1 -> ... : ``hops`` tokens, each receiver accepting first."""
    chain = scene.mint(scene.agent(0), depth=hops)
    for i in range(1, hops):
        held = scene.accept(chain, scene.agent(i - 1))
        chain = scene.delegate(held, scene.agent(i - 1), scene.agent(i), [NARROW])
    return chain


def test_chain_past_max_depth_fires_at_first_hop_beyond(scene: Scene) -> None:
    """A 4-hop chain with max_depth 2 is reported once, at hop 3, high (4 >= 2 x 2)."""
    chain = _chain(scene, 4)
    agents = [scene.agent(i).agent for i in range(3)]
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG007", graph, max_depth=2)
        assert (finding.rule, finding.severity) == ("DLG007", "high")
        assert [s.target for s in finding.path] == agents
        third = graph.lineage(graph.tokens[finding.key[0]].token_id)[-1]
        assert finding.path[-1].token == third.token_id == finding.key[0]
        assert finding.evidence["deepest"] == 4
    assert len(chain) == 4


def test_one_hop_beyond_is_medium(scene: Scene) -> None:
    """A chain one hop past max_depth 3 is medium."""
    _chain(scene, 4)
    [finding] = scene.findings("DLG007", scene.chain_graph(), max_depth=3)
    assert finding.severity == "medium"
    assert len(finding.path) == 4


def test_chain_at_max_depth_is_quiet(scene: Scene) -> None:
    """Near miss: a chain exactly max_depth hops long is not reported."""
    _chain(scene, 4)
    assert scene.findings("DLG007", max_depth=4) == []
    assert scene.findings("DLG007", scene.chain_graph(), max_depth=4) == []


def test_fan_out_over_threshold_fires(scene: Scene) -> None:
    """a0 delegating to 3 distinct agents in one task with max_fan_out 2: medium, 3 hops."""
    root = scene.accept(scene.mint(scene.agent(0)), scene.agent(0))
    for i in (1, 2, 3):
        scene.delegate(root, scene.agent(0), scene.agent(i), [NARROW])
    scene.delegate(root, scene.agent(0), scene.agent(1), [NARROW])  # a repeat is not wider
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG007", graph, max_fan_out=2)
        assert (finding.rule, finding.severity) == ("DLG007", "medium")
        assert finding.key == (scene.agent(0).agent, "T-1", "fan-out")
        assert [s.target for s in finding.path] == [scene.agent(i).agent for i in (1, 2, 3)]
        assert all(s.source == scene.agent(0).agent and s.token for s in finding.path)
        assert finding.evidence["receivers"] == 3


def test_fan_out_split_over_tasks_is_quiet(scene: Scene) -> None:
    """Near miss: the same three receivers spread over two tasks stay within max_fan_out 2."""
    first = scene.accept(scene.mint(scene.agent(0), task="T-1"), scene.agent(0))
    second = scene.accept(scene.mint(scene.agent(0), task="T-2"), scene.agent(0))
    scene.delegate(first, scene.agent(0), scene.agent(1), [NARROW])
    scene.delegate(first, scene.agent(0), scene.agent(2), [NARROW])
    scene.delegate(second, scene.agent(0), scene.agent(3), [NARROW])
    assert scene.findings("DLG007", max_fan_out=2) == []
    assert scene.findings("DLG007", scene.chain_graph(), max_fan_out=2) == []
