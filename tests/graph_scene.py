"""A delegation scene for graph tests: real keys, Delegator, Verifier, Tasks and audit log.

``Scene`` wraps the shared test ``World`` (an orchestrator and registered agents a0..a5
on a fixed clock) with one JSONL audit log that every actor writes, so graph tests build
their facts exactly as a deployment would, then read them back with ``scene.graph()``
(from the audit log) or ``scene.chain_graph()`` (from the chains handed out).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from support import CAP, NARROW, TOOL_AUD, World

from delegation import (
    AgentKey,
    Capability,
    Chain,
    DelegationError,
    Delegator,
    JsonlAudit,
    Request,
    Tasks,
    VerifiedChain,
)
from delegation.graph import DelegationGraph, Options, load

__all__ = ["Scene"]


class Scene:
    """Actors of one deployment sharing one store and one audit log in ``tmp``."""

    def __init__(self, tmp: Path, world: World | None = None) -> None:
        self.world = world or World()
        self.tmp = tmp
        self.log = tmp / "audit.jsonl"
        self.audit = JsonlAudit(self.log, clock=self.world.clock)
        self.tasks = Tasks(self.world.store, audit=self.audit, clock=self.world.clock)
        self.chains: list[Chain] = []

    # --- actors --- #

    @property
    def orch(self) -> AgentKey:
        return self.world.orch

    def agent(self, i: int) -> AgentKey:
        return self.world.agents[i]

    def delegator(self, key: AgentKey) -> Delegator:
        return Delegator(
            key,
            clock=self.world.clock,
            audit=self.audit,
            tasks=self.tasks,
            registry=self.world.registry,
        )

    def open(self, task: str, ttl: int = 3000) -> None:
        self.tasks.open(task, ttl=ttl)

    def mint(
        self,
        to: AgentKey,
        caps: Sequence[Capability] = (CAP,),
        *,
        task: str = "T-1",
        obo: str | None = "user:alice",
        depth: int = 3,
        ttl: int = 600,
        by: AgentKey | None = None,
    ) -> Chain:
        if self.tasks.get(task) is None:
            self.open(task)
        chain = self.delegator(by or self.orch).mint(
            to=to.agent,
            to_key=to.public_jwk(),
            caps=list(caps),
            ttl=ttl,
            depth=depth,
            task=task,
            obo=obo,
        )
        self.chains.append(chain)
        return chain

    def accept(self, chain: Chain, by: AgentKey) -> VerifiedChain:
        """``by`` verifies and accepts the inbound chain (audited as ``accept``)."""
        return self.world.verifier(audience=by.agent, audit=self.audit).accept(chain)

    def delegate(
        self,
        chain: Chain | VerifiedChain,
        frm: AgentKey,
        to: AgentKey,
        caps: Sequence[Capability] = (CAP,),
        *,
        ttl: int = 300,
        depth: int | None = None,
        key: AgentKey | None = None,
    ) -> Chain:
        """``frm`` delegates ``chain`` to ``to``, binding ``key`` (by default ``to``'s own)."""
        bound = key or to
        out = self.delegator(frm).delegate(
            chain, to=to.agent, to_key=bound.public_jwk(), caps=list(caps), ttl=ttl, depth=depth
        )
        self.chains.append(out)
        return out

    def honest_hop(self) -> tuple[Chain, Chain]:
        """The orchestrator mints CAP to a0, which accepts it and delegates NARROW to a1:
        the root and a1's chain (nothing in it for a detector to find)."""
        a0 = self.agent(0)
        root = self.mint(a0)
        return root, self.delegate(self.accept(root, a0), a0, self.agent(1), [NARROW])

    def call(
        self,
        chain: Chain,
        holder: AgentKey,
        tool: str = "crm.read",
        resource: str = "customers/eu/42",
        args: dict[str, Any] | None = None,
        *,
        aud: str = TOOL_AUD,
    ) -> str:
        """``holder`` calls a tool with ``chain``; returns ``allowed`` or the denial code."""
        args = {"max_rows": 10} if args is None else args
        request = Request(tool=tool, resource=resource, args=args)
        try:
            proof = Delegator(holder, clock=self.world.clock).prove(
                chain, aud=aud, tool=tool, resource=resource, args=args
            )
        except DelegationError as exc:
            return f"not proved: {exc.code}"
        try:
            self.world.verifier(audience=aud, audit=self.audit).verify(chain, proof, request)
        except DelegationError as exc:
            return exc.code
        return "allowed"

    def plant_escalation(self) -> Chain:
        """a0 -> a1 -> a2, then a1 hand-signs the last hop wider (crm.* on everything) and
        a2 calls with it: refused (scope_escalation), and a DLG001 critical in the graph."""
        from forging import forge

        a0, a1, a2 = self.agent(0), self.agent(1), self.agent(2)
        chain = self.delegate(self.mint(a0), a0, a1, [NARROW])
        honest = self.delegate(chain, a1, a2, [NARROW])
        wide = Capability(tool="crm.*", resource="**")
        forged = forge(honest.tokens[-1], signer=a1, claims={"caps": [wide.to_wire()]})
        bad = Chain([*honest.tokens[:-1], forged])
        assert self.call(bad, a2) == "scope_escalation"
        self.chains.append(bad)
        return bad

    def later(self, seconds: int) -> None:
        self.world.clock.advance(seconds)

    # --- reading it back --- #

    def graph(self) -> DelegationGraph:
        """The graph of the audit log alone."""
        return load([str(self.log)], registry=self.world.registry)

    def chain_graph(self) -> DelegationGraph:
        """The graph of the chains handed out (one chain per line), no audit log."""
        path = self.tmp / "chains.txt"
        path.write_text("".join(f"{c}\n" for c in self.chains))
        return load([str(path)], registry=self.world.registry)

    def combined_graph(self) -> DelegationGraph:
        """The graph of the audit log and the chains together."""
        self.chain_graph()
        return load([str(self.log), str(self.tmp / "chains.txt")], registry=self.world.registry)

    def findings(self, rule: str, graph: DelegationGraph | None = None, **options: Any) -> list:
        g = graph if graph is not None else self.graph()
        return g.findings(rules=[rule], options=Options(**options))
