"""DLG011 toxic-combination: fires when a task's agents together hold a toxic label set."""

from __future__ import annotations

from forging import token_id
from graph_scene import Scene
from support import CAP

from delegation import Capability

WEB = Capability(tool="web.fetch", resource="**")
MAIL = Capability(tool="mail.send", resource="**")


def _label(scene: Scene) -> None:
    reg = scene.world.registry
    reg.set_tool_labels("web.fetch", ["untrusted_input"])
    reg.set_tool_labels("crm.read", ["sensitive_read"])
    reg.set_tool_labels("mail.send", ["egress"])
    for a in scene.world.agents:
        reg.add_agent(a.agent, a.public_jwk(), baseline=[CAP, WEB, MAIL])


def test_split_over_agents_fires_high(scene: Scene) -> None:
    """a0 holds untrusted input and sensitive reads, a2 egress, in one task: high."""
    _label(scene)
    a0, a1, a2 = scene.agent(0), scene.agent(1), scene.agent(2)
    root = scene.mint(a0, [WEB, CAP])
    scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    mail = scene.mint(a2, [MAIL])

    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG011", graph)
        assert (finding.rule, finding.severity) == ("DLG011", "high")
        assert finding.key == ("T-1", "egress+sensitive_read+untrusted_input")
        steps = [(s.kind, s.source, s.target) for s in finding.path]
        assert steps == [
            ("delegates", scene.orch.agent, a2.agent),
            ("holds", a2.agent, "mail.send"),
            ("delegates", scene.orch.agent, a0.agent),
            ("holds", a0.agent, "crm.read"),
            ("holds", a0.agent, "web.fetch"),
        ]
        assert [finding.path[0].token, finding.path[2].token] == [
            token_id(mail.tokens[0]),
            token_id(root.tokens[0]),
        ]
        assert finding.evidence["labels"]["egress"]["agent"] == a2.agent
        assert finding.evidence["agents"] == sorted([a0.agent, a1.agent, a2.agent])


def test_one_agent_holding_the_set_is_critical(scene: Scene) -> None:
    """a0 alone holds all three labels: critical, keyed by task, agent and set."""
    _label(scene)
    a0, a1 = scene.agent(0), scene.agent(1)
    root = scene.mint(a0, [WEB, CAP, MAIL])
    scene.delegate(scene.accept(root, a0), a0, a1, [CAP])
    for graph in (scene.graph(), scene.chain_graph()):
        [finding] = scene.findings("DLG011", graph)
        assert (finding.rule, finding.severity) == ("DLG011", "critical")
        assert finding.key == ("T-1", a0.agent, "egress+sensitive_read+untrusted_input")
        assert {s.target for s in finding.path if s.kind == "holds"} == {
            "web.fetch",
            "crm.read",
            "mail.send",
        }
        assert finding.agents[:2] == (scene.orch.agent, a0.agent)


def test_set_split_over_tasks_is_quiet(scene: Scene) -> None:
    """Near miss: the egress grant belongs to another task, so no task holds the whole set."""
    _label(scene)
    a0, a2 = scene.agent(0), scene.agent(2)
    scene.mint(a0, [WEB, CAP])
    scene.mint(a2, [MAIL], task="T-2")
    assert scene.findings("DLG011") == []
    assert scene.findings("DLG011", scene.chain_graph()) == []


def test_unlabelled_tools_are_quiet(scene: Scene) -> None:
    """Near miss: without labels on the registry nothing is toxic, whatever is granted."""
    a0 = scene.agent(0)
    scene.mint(a0, [CAP])
    assert scene.findings("DLG011") == []
