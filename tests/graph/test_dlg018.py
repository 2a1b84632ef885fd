"""DLG018 re-rooting: fires on a fresh root to an agent already holding a chain in the task."""

from __future__ import annotations

from graph_scene import Scene
from support import NARROW


def _held(scene: Scene) -> None:
    """orch -> a0 -> a1 in T-1; a1's token: dpth 1, 300 s."""
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.accept(scene.mint(a0, depth=3), a0)
    scene.delegate(root, a0, a1, [NARROW], ttl=300, depth=1)


def test_laundering_root_fires_critical(scene: Scene) -> None:
    """A later root to a1 in T-1 with more depth and a later expiry: critical, held path first."""
    _held(scene)
    scene.later(60)
    scene.mint(scene.agent(1), [NARROW], depth=3, ttl=600)
    orch, a0, a1 = scene.orch.agent, scene.agent(0).agent, scene.agent(1).agent
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG018", graph)
        assert (finding.rule, finding.severity) == ("DLG018", "critical")
        assert [(s.source, s.target) for s in finding.path] == [(orch, a0), (a0, a1), (orch, a1)]
        assert finding.path[-1].token == finding.key[0]
        assert graph.tokens[finding.key[0]].prf is None
        assert "depth 3" in finding.message and "expiry" in finding.message


def test_root_within_held_limits_is_high(scene: Scene) -> None:
    """A later root to a1 in T-1 within the held chain's depth and expiry: high."""
    _held(scene)
    scene.later(10)
    scene.mint(scene.agent(1), [NARROW], depth=0, ttl=100)
    [finding] = scene.findings("DLG018")
    assert finding.severity == "high"
    assert finding.evidence["held_dpth"] == 1


def test_root_in_other_task_or_before_is_quiet(scene: Scene) -> None:
    """Near miss: a root to a1 before its delegation in T-1, and one in another task."""
    scene.mint(scene.agent(1), [NARROW], depth=0, ttl=100)
    scene.later(5)
    _held(scene)
    scene.later(5)
    scene.mint(scene.agent(1), [NARROW], depth=3, task="T-2")
    assert scene.findings("DLG018") == []
    assert scene.findings("DLG018", scene.chain_graph()) == []
