"""DLG008 delegation-cycle: fires on agents delegating round in a loop, not on a tree."""

from __future__ import annotations

from graph_scene import Scene
from support import NARROW


def test_loop_within_one_task_fires_high(scene: Scene) -> None:
    """a0 -> a1 -> a2 -> a0 inside task T-1: high, the witness cycle names each token."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    chain = scene.mint(a0, depth=4)
    chain = scene.delegate(scene.accept(chain, a0), a0, a1, [NARROW])
    chain = scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    scene.delegate(scene.accept(chain, a2), a2, a0, [NARROW])
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG008", graph)
        assert (finding.rule, finding.severity) == ("DLG008", "high")
        assert finding.key == tuple(sorted((a0.agent, a1.agent, a2.agent)))
        assert [(s.source, s.target) for s in finding.path] == [
            (a0.agent, a1.agent),
            (a1.agent, a2.agent),
            (a2.agent, a0.agent),
        ]
        assert all(s.token in graph.tokens for s in finding.path)


def test_self_delegation_fires(scene: Scene) -> None:
    """An agent delegating to itself is a one-step loop."""
    a0 = scene.agent(0)
    root = scene.mint(a0)
    scene.delegate(scene.accept(root, a0), a0, a0, [NARROW])
    [finding] = scene.findings("DLG008")
    assert finding.severity == "high" and finding.key == (a0.agent,)
    [step] = finding.path
    assert (step.source, step.target) == (a0.agent, a0.agent)


def test_loop_only_across_tasks_is_medium(scene: Scene) -> None:
    """a0 -> a1 in T-1 and a1 -> a0 in T-2 close a loop only across tasks: medium."""
    a0, a1 = scene.agent(0), scene.agent(1)
    scene.delegate(scene.accept(scene.mint(a0, task="T-1"), a0), a0, a1, [NARROW])
    scene.delegate(scene.accept(scene.mint(a1, task="T-2"), a1), a1, a0, [NARROW])
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG008", graph)
        assert finding.severity == "medium"
        assert {s.source for s in finding.path} == {a0.agent, a1.agent}
        assert finding.evidence["tasks"] == ["T-1", "T-2"]


def test_tree_is_quiet(scene: Scene) -> None:
    """Near miss: a0 hands to a1 and a2, a1 to a2: a DAG, no loop."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.accept(scene.mint(a0), a0)
    chain = scene.delegate(root, a0, a1, [NARROW])
    scene.delegate(root, a0, a2, [NARROW])
    scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    assert scene.findings("DLG008") == []
    assert scene.findings("DLG008", scene.chain_graph()) == []
