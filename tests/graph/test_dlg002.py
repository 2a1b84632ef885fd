"""DLG002 baseline-exceeded: a delegated capability beyond the receiver's registry baseline."""

from __future__ import annotations

from graph_scene import Scene
from support import CAP, NARROW

from delegation import Capability, Delegator

WRITE = Capability(tool="crm.write", resource="customers/**")


def _widen_a0(scene: Scene) -> None:
    """a0's baseline includes crm.write; a1's (like every other agent's) does not."""
    a0 = scene.agent(0)
    scene.world.registry.add_agent(a0.agent, a0.public_jwk(), baseline=[CAP, WRITE])


def test_write_flowing_below_baseline_fires(scene: Scene) -> None:
    """a0 hands crm.write (in its own baseline) on to a1 (whose is not): high, with the path."""
    _widen_a0(scene)
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.mint(a0, [CAP, WRITE])
    # a0's delegator runs without the registry, so nothing stops the hand-off.
    loose = Delegator(a0, clock=scene.world.clock, audit=scene.audit, tasks=scene.tasks)
    chain = loose.delegate(root, to=a1.agent, to_key=a1.public_jwk(), caps=[WRITE], ttl=300)
    scene.chains.append(chain)

    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG002", graph)
        assert (finding.rule, finding.severity) == ("DLG002", "high")
        assert finding.key == (a1.agent, finding.path[-1].token)
        assert [s.target for s in finding.path] == [a0.agent, a1.agent]
        assert finding.evidence["excess"] == ["crm.write:customers/**"]
        assert a1.agent in finding.message and "crm.write" in finding.message


def test_elevated_hand_off_is_low_with_the_elevation(scene: Scene) -> None:
    """The same hand-off under an approved elevation of the task is low and names it."""
    _widen_a0(scene)
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.mint(a0, [CAP, WRITE])
    elevation = scene.tasks.elevate(
        "T-1", [WRITE], approved_by="user:bob", ttl=120, reason="migration"
    )
    scene.delegate(root, a0, a1, [WRITE])
    [finding] = scene.findings("DLG002")
    assert finding.severity == "low"
    assert finding.evidence["elevations"] == [elevation.id]
    assert elevation.id in finding.message


def test_within_baseline_is_quiet(scene: Scene) -> None:
    """Near miss: every delegated capability is inside the receiver's baseline."""
    _widen_a0(scene)
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0, [CAP, WRITE])
    chain = scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    scene.delegate(scene.accept(chain, a1), a1, a2, [NARROW])
    assert scene.findings("DLG002") == []
    assert scene.findings("DLG002", scene.chain_graph()) == []


def test_root_grant_beyond_baseline_is_left_to_dlg001(scene: Scene) -> None:
    """Near miss: a root grant beyond the baseline is DLG001's, not DLG002's."""
    a0 = scene.agent(0)
    loose = Delegator(scene.orch, clock=scene.world.clock, audit=scene.audit)
    chain = loose.mint(to=a0.agent, to_key=a0.public_jwk(), caps=[WRITE], ttl=60, task="T-1")
    scene.chains.append(chain)
    assert scene.findings("DLG002") == []
    assert [f.rule for f in scene.findings("DLG001")] == ["DLG001"]
