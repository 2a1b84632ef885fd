"""DLG012 blast-radius: a ranking of what each agent exposes, and of who reaches sensitive tools.

Definition: a ranking, not an alarm. For each agent holding at least one token: the known
tools its capabilities reach (:mod:`._reach`: registry tools, tools seen in calls, concrete
tool names granted), which of them are sensitive (:func:`._util.is_sensitive`), which it
may still re-delegate (held through a token with ``dpth`` > 0), and the downstream agents
(those that received a token derived from one of its own). For each sensitive tool: how
many agents reach it, found backwards from the tool through the tokens whose capabilities
reach it. Severity info; low for an agent reaching a sensitive tool it may still
re-delegate; medium for a sensitive tool more than ``Options.max_reach`` (default 10)
agents reach. Each finding's evidence carries the numbers and its ``rank`` (1 = widest) in
its ranking (``agents`` or ``tools``); keys ``("agent", id)`` and ``("tool", name)``.

This is :meth:`DelegationGraph.blast_radius` computed for every agent at once, in one pass:
``downstream`` here follows token lineage (agents that received authority derived from
this agent's tokens) rather than any delegation edge, which keeps it linear and precise.
Each token is counted downstream of the agents of its last 20 ancestors (as far up as a
witness shows), so a hostile million-hop chain costs O(E x 20), not O(E x d).

Complexity: O(E x (c + 20) + P x T) for E tokens of at most c capabilities, P distinct
tool patterns and T known tools; sorting O(A log A + T log T).

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse) and ASI08 (Cascading
Failures); CSA MAESTRO L5 (Evaluation and Observability) and L7 (Agent Ecosystem); OWASP
NHI Top 10 NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..facts import TokenHop
from ..findings import Finding, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._reach import Reach
from ._util import LIMIT, WITNESS_STEPS, listed, locations

TITLE = "Blast radius: what an agent exposes if compromised"
TOOL_TITLE = "Blast radius: how many agents reach a sensitive tool"


@dataclass
class _Radius:
    agent: str
    tokens: list[TokenHop] = field(default_factory=list)
    tools: set[str] = field(default_factory=set)
    patterns: set[str] = field(default_factory=set)
    redelegable: set[str] = field(default_factory=set)
    downstream: set[str] = field(default_factory=set)
    via: dict[str, TokenHop] = field(default_factory=dict)  # tool -> token nearest the root
    rank: dict[str, tuple[int, str]] = field(default_factory=dict)  # tool -> its via's rank


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    reach = Reach.of(graph, options)
    radii: dict[str, _Radius] = {}
    reached_by: dict[str, dict[str, TokenHop]] = defaultdict(dict)  # sensitive tool -> holders
    sensitive = reach.sensitive
    tokens, depth = graph.tokens, graph.depth
    patterns: dict[int, frozenset[str]] = {}  # per held capability tuple: its tool patterns
    for hop in graph.hops():
        sub = hop.sub
        r = radii.get(sub)
        if r is None:
            r = radii[sub] = _Radius(sub)
        r.tokens.append(hop)
        held = reach.held(hop)
        names = patterns.get(id(held))
        if names is None:  # reach pins the tuples it memoises: ids stay theirs meanwhile
            names = patterns[id(held)] = frozenset(c.tool for c in held)
        r.patterns |= names
        tools = reach.token_tools(hop, held)
        if tools:
            r.tools.update(tools)
            if hop.dpth > 0:
                r.redelegable.update(tools)
            rank = (depth(hop.token_id), hop.token_id)
            via, ranks = r.via, r.rank
            for tool in tools:
                best = ranks.get(tool)
                if best is None or rank < best:
                    via[tool] = hop
                    ranks[tool] = rank
                if tool in sensitive:
                    reached_by[tool][sub] = via[tool]
        prf = hop.prf
        above = tokens.get(prf) if prf is not None else None
        for _ in range(WITNESS_STEPS):  # as far up as a witness shows: linear on any chain
            if above is None:
                break
            if above.sub != sub:
                up = radii.get(above.sub)
                if up is None:
                    up = radii[above.sub] = _Radius(above.sub)
                up.downstream.add(sub)
            prf = above.prf
            above = tokens.get(prf) if prf is not None else None
    out = _agent_findings(graph, reach, radii)
    out.extend(_tool_findings(graph, reach, reached_by, radii, options))
    return out


def _rank(graph: DelegationGraph, hop: TokenHop) -> tuple[int, str]:
    return graph.depth(hop.token_id), hop.token_id


def _agent_findings(
    graph: DelegationGraph, reach: Reach, radii: dict[str, _Radius]
) -> list[Finding]:
    def order(r: _Radius) -> tuple[int, int, int, int, int, str]:
        sensitive = r.tools & reach.sensitive
        return (
            -len(sensitive),
            -len(sensitive & r.redelegable),
            -len(r.tools),
            -len(r.downstream),
            -len(r.redelegable),
            r.agent,
        )

    ranked = sorted((r for r in radii.values() if r.tokens), key=order)
    out: list[Finding] = []
    for rank, r in enumerate(ranked, 1):
        tools = sorted(r.tools)
        sensitive = sorted(r.tools & reach.sensitive)
        handed = sorted(r.tools & reach.sensitive & r.redelegable)
        downstream = sorted(r.downstream)
        severity: Severity = "low" if handed else "info"
        shown = handed[0] if handed else sensitive[0] if sensitive else tools[0] if tools else None
        hop = r.via[shown] if shown is not None else min(r.tokens, key=lambda h: _rank(graph, h))
        path, cut = graph.witness(hop.token_id), graph.witness_cut(hop.token_id)
        if shown is not None:
            path = (*path, PathStep("holds", r.agent, shown))
        message = (
            f"rank {rank}: {r.agent} reaches {len(tools)} tool(s)"
            + (f" ({listed(tools, 5)})" if tools else "")
            + f", {len(sensitive)} sensitive"
            + (f" ({listed(sensitive, 5)})" if sensitive else "")
            + f"; it may re-delegate {len(r.redelegable)}"
            + (f", sensitive among them {listed(handed, 5)}" if handed else "")
            + f"; {len(downstream)} agent(s) received authority derived from its tokens"
        )
        out.append(
            Finding(
                rule="DLG012",
                severity=severity,
                title=TITLE,
                message=message,
                key=("agent", r.agent),
                path=path,
                evidence={
                    "ranking": "agents",
                    "rank": rank,
                    "agent": r.agent,
                    "tokens": len(r.tokens),
                    "tool_patterns": sorted(r.patterns)[:LIMIT],
                    "tools": tools[:LIMIT],
                    "tools_total": len(tools),
                    "sensitive": sensitive[:LIMIT],
                    "sensitive_total": len(sensitive),
                    "redelegable_total": len(r.redelegable),
                    "redelegable_sensitive": handed[:LIMIT],
                    "downstream": downstream[:LIMIT],
                    "downstream_total": len(downstream),
                    "path_cut": cut,
                },
                locations=locations([hop]),
            )
        )
    return out


def _tool_findings(
    graph: DelegationGraph,
    reach: Reach,
    reached_by: dict[str, dict[str, TokenHop]],
    radii: dict[str, _Radius],
    options: Options,
) -> list[Finding]:
    ranked = sorted(reached_by, key=lambda t: (-len(reached_by[t]), t))
    out: list[Finding] = []
    for rank, tool in enumerate(ranked, 1):
        agents = sorted(reached_by[tool])
        handing = [a for a in agents if tool in radii[a].redelegable]
        many = len(agents) > options.max_reach
        hops = [reached_by[tool][a] for a in agents[:LIMIT]]
        out.append(
            Finding(
                rule="DLG012",
                severity="medium" if many else "info",
                title=TOOL_TITLE,
                message=(
                    f"rank {rank}: sensitive tool {tool} is reachable by {len(agents)} "
                    f"agent(s) ({listed(agents, 5)}), {len(handing)} of which may re-delegate it"
                    + (f"; more than the {options.max_reach} allowed" if many else "")
                ),
                key=("tool", tool),
                path=tuple(
                    PathStep("holds", a, tool, reached_by[tool][a].token_id) for a in agents[:LIMIT]
                ),
                evidence={
                    "ranking": "tools",
                    "rank": rank,
                    "tool": tool,
                    "labels": sorted(reach.labels[tool]),
                    "agents": agents[:LIMIT],
                    "agents_total": len(agents),
                    "redelegating_agents": len(handing),
                    "max_reach": options.max_reach,
                },
                locations=locations(hops),
            )
        )
    return out


RULE = rule("DLG012", TITLE, detect)
