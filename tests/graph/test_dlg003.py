"""DLG003 confused-deputy: acting inside one task's delegation with another task's authority."""

from __future__ import annotations

from graph_scene import Scene
from support import CAP, NARROW, TOOL_AUD

from delegation.audit import ProofFacts, RequestFacts, VerifyEvent


def _two_tasks(scene: Scene) -> None:
    """a0 serves alice in T-1 (EU customers only) and bob in T-2 (all customers)."""
    a0 = scene.agent(0)
    scene.mint(a0, [NARROW], task="T-1", obo="user:alice")
    scene.mint(a0, [CAP], task="T-2", obo="user:bob")


def test_other_tasks_chain_beyond_delegation_fires(scene: Scene) -> None:
    """Inside T-1, a0 reads US customers with bob's T-2 chain: high; critical when sensitive."""
    _two_tasks(scene)
    a0 = scene.agent(0)
    _t1, t2 = scene.chains
    assert scene.call(t2, a0, resource="customers/us/7") == "allowed"
    graph = scene.graph()
    [finding] = scene.findings("DLG003", graph)
    assert (finding.rule, finding.severity) == ("DLG003", "high")
    t1_id = graph.tokens[finding.key[1]].token_id
    assert [s.kind for s in finding.path] == ["delegates", "invokes"]
    assert [s.target for s in finding.path] == [a0.agent, "crm.read"]
    assert finding.path[0].token == t1_id and finding.path[0].source == scene.orch.agent
    assert finding.evidence["task"] == "T-1" and finding.evidence["invocation"]["task"] == "T-2"
    assert "task T-2 and principal user:bob" in finding.message
    [critical] = scene.findings("DLG003", graph, sensitive_tools=("crm.*",))
    assert critical.severity == "critical" and critical.key == finding.key


def test_request_with_no_chain_while_delegated_fires(scene: Scene) -> None:
    """A request a0 made with no chain at all while it held T-1's delegation: high."""
    a0 = scene.agent(0)
    scene.mint(a0, [NARROW], task="T-1")
    scene.audit.append(
        VerifyEvent(
            decision="deny",
            code="malformed",
            audience=TOOL_AUD,
            request=RequestFacts(tool="crm.export", resource="customers/all", args="-"),
            proof=ProofFacts(jti="p" * 22, iss=a0.agent, aud=TOOL_AUD),
        )
    )
    [finding] = scene.findings("DLG003")
    assert finding.severity == "high"
    assert finding.key[2:] == ("-", "crm.export")
    assert finding.path[-1].kind == "denied" and finding.path[-1].token is None
    assert "no delegation chain" in finding.message


def test_covered_or_own_chain_is_quiet(scene: Scene) -> None:
    """Near misses: T-2's chain used within what T-1 also covers, T-1's own chain, and a
    use after T-1's token expired."""
    _two_tasks(scene)
    a0 = scene.agent(0)
    t1, t2 = scene.chains
    assert scene.call(t2, a0, resource="customers/eu/7") == "allowed"
    assert scene.call(t1, a0, resource="customers/eu/8") == "allowed"
    assert scene.findings("DLG003") == []
    scene.later(601)  # T-1's token (ttl 600) expired; T-2's too, but its call is still logged
    scene.call(t2, a0, resource="customers/us/7")
    assert scene.findings("DLG003") == []
