"""DLG008 delegation-cycle: agents that delegate to each other in a loop.

Definition: a strongly connected component of the agent-level ``delegates`` graph (an
edge issuer -> subject for every token) with at least two agents, or one agent delegating
to itself. High when a loop closes within one task (authority handed round and back
inside the same piece of work), medium when only tokens of different tasks close it.
The witness is one cycle of the component (:func:`networkx.find_cycle`), each step
naming a real token, at most 20 steps.

Complexity: O(E + A) for the components (Tarjan), plus O(E) for the per-task loop check
(every token belongs to one task) and the witness searches.

Addresses: OWASP Agentic Top 10 ASI08 (Cascading Failures: feedback loops between agents)
and ASI07 (Insecure Inter-Agent Communication); CSA MAESTRO L7 (Agent Ecosystem:
circular trust between agents); OWASP NHI Top 10 NHI5 (Overprivileged NHI: an agent
re-granting itself authority through others).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from ..facts import TokenHop
from ..findings import Finding, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import LIMIT, listed, locations, set_key

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Delegation cycle: agents delegate to each other in a loop"


def _agent_graph(hops: Iterable[TokenHop]) -> nx.DiGraph[str]:
    """Issuer -> subject, one edge per pair, carrying the pair's first token: ``hops`` come
    in :meth:`DelegationGraph.hops` order (issue time, token id), so the first seen."""
    first: dict[tuple[str, str], TokenHop] = {}
    for hop in hops:
        first.setdefault((hop.iss, hop.sub), hop)
    g: nx.DiGraph[str] = nx.DiGraph()
    g.add_edges_from((u, v, {"hop": hop}) for (u, v), hop in first.items())
    return g


def _cycle(g: nx.DiGraph[str], members: set[str]) -> list[TokenHop]:
    """One cycle within ``members``, as the tokens of its steps, from the least agent."""
    sub = g.subgraph(members)
    start = min(members)
    try:
        edges = nx.find_cycle(sub, source=start)
    except nx.NetworkXNoCycle:
        edges = nx.find_cycle(sub)
    return [sub.edges[u, v]["hop"] for u, v, *_ in edges]


def _has_cycle(pairs: set[tuple[str, str]]) -> bool:
    """Whether the edges ``pairs`` close a cycle (Kahn's peeling; cheaper than building a
    networkx graph for each of many small tasks)."""
    indegree: dict[str, int] = {}
    successors: dict[str, list[str]] = {}
    for u, v in pairs:
        if u == v:
            return True
        indegree[v] = indegree.get(v, 0) + 1
        indegree.setdefault(u, 0)
        successors.setdefault(u, []).append(v)
    ready = [n for n, d in indegree.items() if d == 0]
    peeled = 0
    while ready:
        n = ready.pop()
        peeled += 1
        for m in successors.get(n, ()):
            indegree[m] -= 1
            if indegree[m] == 0:
                ready.append(m)
    return peeled < len(indegree)


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    hops = list(graph.hops())
    g = _agent_graph(hops)
    component: dict[str, int] = {}
    cyclic: list[set[str]] = []
    for members in nx.strongly_connected_components(g):
        if len(members) > 1 or any(g.has_edge(a, a) for a in members):
            for a in members:
                component[a] = len(cyclic)
            cyclic.append(set(members))
    if not cyclic:
        return []
    # per component, per task: the tokens of that task inside the component
    inside: list[dict[str, list[TokenHop]]] = [{} for _ in cyclic]
    for hop in hops:
        c = component.get(hop.iss)
        if c is not None and component.get(hop.sub) == c:
            inside[c].setdefault(hop.task, []).append(hop)
    out: list[Finding] = []
    for c, members in enumerate(cyclic):
        looping: list[str] = []
        witness: list[TokenHop] | None = None
        for task in sorted(inside[c]):
            if not _has_cycle({(h.iss, h.sub) for h in inside[c][task]}):
                continue
            looping.append(task)
            if witness is None:  # the first looping task's cycle is the witness
                tg = _agent_graph(inside[c][task])
                loop = [
                    m
                    for m in nx.strongly_connected_components(tg)
                    if len(m) > 1 or any(tg.has_edge(a, a) for a in m)
                ]
                witness = _cycle(tg, min(loop, key=min))
        severity: Severity = "high" if looping else "medium"
        steps = witness if witness is not None else _cycle(g, members)
        shown = steps[:LIMIT]
        agents = sorted(members)
        tasks = sorted(inside[c])
        where = f"within task {looping[0]}" if looping else f"only across tasks ({listed(tasks)})"
        ring = " -> ".join([*(h.iss for h in shown), shown[-1].sub])
        more = f" ({len(steps) - LIMIT} more steps)" if len(steps) > LIMIT else ""
        out.append(
            Finding(
                rule="DLG008",
                severity=severity,
                title=TITLE,
                message=(
                    f"{len(agents)} agent(s) delegate to each other in a loop {where}: "
                    f"{ring}{more}; members: {listed(agents)}"
                ),
                key=set_key(agents),
                path=tuple(PathStep("delegates", h.iss, h.sub, h.token_id) for h in shown),
                evidence={
                    "agents": agents[:LIMIT],
                    "size": len(agents),
                    "tasks": tasks[:LIMIT],
                    "looping_tasks": looping[:LIMIT],
                    "cycle": [h.token_id for h in shown],
                    "cycle_length": len(steps),
                    "seq": [h.seq for h in shown if h.seq is not None],
                },
                locations=locations(shown),
            )
        )
    return out


RULE = rule("DLG008", TITLE, detect)
