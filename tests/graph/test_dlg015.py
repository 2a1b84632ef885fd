"""DLG015 unused-grant: fires on capabilities no allowed call used, only when calls were seen."""

from __future__ import annotations

from forging import token_id
from graph_scene import Scene
from support import CAP, NARROW

from delegation import Capability

WRITE = Capability(tool="crm.write", resource="customers/**")


def test_unused_capabilities_fire(scene: Scene) -> None:
    """An unused cap of a delegated-further token is info; a token never used at all is low."""
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    scene.world.registry.add_agent(a0.agent, a0.public_jwk(), baseline=[CAP, WRITE])
    root = scene.mint(a0, [CAP, WRITE])
    child = scene.delegate(scene.accept(root, a0), a0, a1, [NARROW])
    assert scene.call(child, a1) == "allowed"
    idle = scene.mint(a2, [CAP], task="T-2")
    # A denied call (outside the grant) is no use of it.
    assert scene.call(idle, a2, resource="orders/1") != "allowed"

    found = scene.findings("DLG015")
    assert [(f.rule, f.severity, f.key) for f in found] == [
        ("DLG015", "low", (a2.agent,)),
        ("DLG015", "info", (a0.agent,)),
    ]
    low, info = found
    assert [(s.source, s.target, s.token) for s in low.path] == [
        (scene.orch.agent, a2.agent, token_id(idle.tokens[0]))
    ]
    assert info.path[0].token == token_id(root.tokens[0])
    assert info.evidence["children"] == 1 and info.evidence["allowed_calls"] == 1
    assert (low.evidence["capabilities"], info.evidence["capabilities"]) == (
        [str(CAP)],
        [str(WRITE)],
    )
    assert low.message.startswith(f"{a2.agent} was granted {CAP}")
    assert "but it never used it in an allowed call" in low.message
    assert "but neither it nor the agents below it (1 token delegated) used it" in info.message


def test_chains_alone_say_nothing(scene: Scene) -> None:
    """Near miss: without observed calls (a chain file only) there is no finding."""
    a0 = scene.agent(0)
    scene.mint(a0, [CAP])
    assert scene.findings("DLG015", scene.chain_graph()) == []


def test_every_grant_used_is_quiet(scene: Scene) -> None:
    """Near miss: the holder's call uses the leaf, and through it every ancestor's grant."""
    a1 = scene.agent(1)
    _, child = scene.honest_hop()
    assert scene.call(child, a1) == "allowed"
    assert scene.findings("DLG015") == []
    assert scene.findings("DLG015", scene.combined_graph()) == []


def test_grants_unused_in_several_tasks_are_one_finding(scene: Scene) -> None:
    """An agent's unused grants over several tasks are one finding (two tokens here); a
    task where the grant was used does not count."""
    a0, a1 = scene.agent(0), scene.agent(1)
    scene.world.registry.add_agent(a0.agent, a0.public_jwk(), baseline=[CAP, WRITE])
    for task, caps in (("T-1", [CAP]), ("T-2", [CAP, WRITE]), ("T-3", [CAP])):
        chain = scene.mint(a0, caps, task=task)
        if task == "T-3":
            assert scene.call(chain, a0) == "allowed"
    scene.mint(a1, [CAP], task="T-1")
    found = scene.findings("DLG015")
    assert [f.key for f in found] == sorted([(a0.agent,), (a1.agent,)])
    mine = {f.key: f for f in found}[(a0.agent,)]
    assert (mine.evidence["tokens"], sorted(mine.evidence["tasks"])) == (2, ["T-1", "T-2"])
    assert mine.evidence["capabilities"] == sorted([str(CAP), str(WRITE)])
    assert mine.path[-1].token == mine.evidence["token_ids"][0]
