"""A realistic fleet: three tasks, real Delegator, Verifier, Tasks and audit log, and five
planted problems. Exactly the planted problems are found: every one of them, and nothing
at medium or above about anything else — from the audit log alone, and (for what chains
can show) from the chains alone.

Cast: the orchestrator; a0 planner, a1 researcher, a2 analyst, a3 writer, a4 summarizer,
a5 browser. Tools: ``crm.read`` (sensitive_read), ``web.fetch`` (untrusted_input),
``email.send`` (egress).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from forging import forge, token_id
from graph_scene import Scene
from support import CAP, NARROW, TOOL_AUD, World

from delegation import (
    Capability,
    Chain,
    ChainGrantsOnly,
    DelegationError,
    MemoryStore,
    Request,
    Verifier,
)
from delegation.graph import DelegationGraph, Finding

WEB = Capability(tool="web.fetch", resource="**")
MAIL = Capability(tool="email.send", resource="team/**")
WIDE = Capability(tool="crm.*", resource="**")


class Fleet:
    """The scenario, played once; what was planted is remembered by token id and agent."""

    def __init__(self, tmp: Path) -> None:
        world = World()
        reg = world.registry
        for tool, labels in (
            ("crm.read", ["sensitive_read"]),
            ("web.fetch", ["untrusted_input"]),
            ("email.send", ["egress"]),
        ):
            reg.set_tool_labels(tool, labels)
        a = world.agents
        reg.add_agent(a[3].agent, a[3].public_jwk(), baseline=[CAP, MAIL])
        reg.add_agent(a[5].agent, a[5].public_jwk(), baseline=[WEB])
        self.scene = s = Scene(tmp, world)
        self.planted: dict[str, set[str]] = {}

        # T-clean: orchestrator -> planner -> researcher, accepted and receipted, used.
        root = s.mint(a[0], [CAP], task="T-clean", depth=2)
        chain = s.delegate(s.accept(root, a[0]), a[0], a[1], [NARROW])
        s.accept(chain, a[1])
        assert s.call(chain, a[1]) == "allowed"

        # T-attack, 1: the researcher hand-signs a wider hop to the analyst (DLG001).
        root = s.mint(a[0], [CAP], task="T-attack", depth=3)
        chain = s.delegate(s.accept(root, a[0]), a[0], a[1], [NARROW])
        honest = s.delegate(s.accept(chain, a[1]), a[1], a[2], [NARROW])
        forged = forge(honest.tokens[-1], signer=a[1], claims={"caps": [WIDE.to_wire()]})
        bad = Chain([*honest.tokens[:-1], forged])
        s.chains.append(bad)
        assert s.call(bad, a[2]) == "scope_escalation"
        self.planted["DLG001"] = {_tid(forged)}

        # T-attack, 2: the planner's proof is replayed (DLG016).
        used = s.delegate(
            s.accept(s.mint(a[3], [CAP], task="T-attack", depth=1), a[3]), a[3], a[4], [NARROW]
        )
        s.accept(used, a[4])
        proof = s.delegator(a[4]).prove(
            used, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/42", args={"max_rows": 5}
        )
        req = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 5})
        verifier = world.verifier(audit=s.audit)
        verifier.verify(used, proof, req)
        with pytest.raises(DelegationError) as replayed:
            verifier.verify(used, proof, req)
        assert replayed.value.code == "proof_replayed"
        self.planted["DLG016"] = {_tid(used.tokens[-1])}

        # T-attack, 3: the summarizer, holding a delegated chain, gets a fresh root grant
        # with more depth (DLG018 re-rooting).
        s.later(5)
        reroot = s.mint(a[4], [NARROW], task="T-attack", depth=3)
        s.accept(reroot, a[4])
        self.planted["DLG018"] = {_tid(reroot.tokens[0])}

        # T-late: a verifier that does not share the deployment's store allows a call
        # after the task was closed (DLG009).
        late = s.mint(a[2], [CAP], task="T-late", depth=0)
        s.accept(late, a[2])
        s.tasks.close("T-late", reason="done")
        rogue = Verifier(
            registry=reg,
            audience=TOOL_AUD,
            policy=ChainGrantsOnly(),
            revocations=MemoryStore(),
            audit=s.audit,
            clock=world.clock,
        )
        proof = s.delegator(a[2]).prove(
            late, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/42", args={"max_rows": 5}
        )
        rogue.verify(late, proof, req)
        self.planted["DLG009"] = {_tid(late.tokens[0])}

        # T-toxic: three agents who together read untrusted input, sensitive data, and can
        # send mail out (DLG011), though none of them alone can.
        for agent, cap in ((a[5], WEB), (a[0], CAP), (a[3], MAIL)):
            grant = s.mint(agent, [cap], task="T-toxic", depth=0)
            s.accept(grant, agent)
        self.planted["DLG011"] = {"T-toxic"}


def _tid(token: str) -> str:
    return token_id(token)


def _about(f: Finding) -> set[str]:
    return set(f.key) | {s.token for s in f.path if s.token} | {str(v) for v in f.evidence.values()}


def _check(graph: DelegationGraph, planted: dict[str, set[str]]) -> None:
    findings = graph.findings()
    serious = [f for f in findings if f.severity in ("critical", "high", "medium")]
    for rule, ids in planted.items():
        assert any(f.rule == rule and ids & _about(f) for f in serious), (rule, serious)
    everything_planted = set().union(*planted.values())
    stray = [f for f in serious if not everything_planted & _about(f)]
    assert stray == [], [(f.rule, f.severity, f.message) for f in stray]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("fleet"))


def test_the_audit_log_alone_finds_exactly_the_planted_problems(fleet: Fleet) -> None:
    """From the audit log: every planted problem, nothing serious about the rest."""
    _check(fleet.scene.graph(), fleet.planted)


def test_the_chains_alone_find_what_chains_can_show(fleet: Fleet) -> None:
    """From the chains: the forged hop, the re-rooting and the toxic task; nothing else."""
    visible = {r: ids for r, ids in fleet.planted.items() if r in ("DLG001", "DLG018", "DLG011")}
    _check(fleet.scene.chain_graph(), visible)
