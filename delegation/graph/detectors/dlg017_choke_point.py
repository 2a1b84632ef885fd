"""DLG017 choke-point: agents every delegation path from the roots to a sensitive tool goes through.

Definition: the agent-level delegation graph (an edge issuer -> subject per token) gets one
virtual source linked to every entry issuer (the issuer of a root grant, of a token whose
parent the graph does not have, or an issuer that never received a token). For a
sensitive tool (:func:`._util.is_sensitive`) let H be the agents holding tokens whose
capabilities reach it (:mod:`._reach`). An agent X is a choke point of the tool when it
dominates every holder other than itself (every path from the source to them passes
through X) and at least one such holder exists: the roots and gateways every grant of the
tool came through, including a holder that is the only way to all the others, but never a
lone holder of its own grant. One finding per choke-point agent, listing the tools it
guards: info (what to harden and where to enforce policy), medium when the registry does
not know the agent or one of its tokens is bound to a key not registered for it. Key: the
agent.

Complexity: one dominator computation over the A agents and their distinct delegation
edges (networkx ``immediate_dominators``, Cooper-Harvey-Kennedy, near-linear in practice),
then for each sensitive tool an intersection along the dominator tree: O(E x c + A + sum
over sensitive tools of |H| x h) for a dominator tree of height h.

Addresses: OWASP Agentic Top 10 ASI08 (Cascading Failures: one compromised agent exposes
every tool behind it) and ASI10 (Rogue Agents); CSA MAESTRO L7 (Agent Ecosystem) and L4
(Deployment and Infrastructure); OWASP NHI Top 10 NHI5 (Overprivileged NHI) and NHI3
(Vulnerable Third-Party NHI, for an unregistered choke point).
"""

from __future__ import annotations

from collections import defaultdict
from functools import reduce
from typing import Any

import networkx as nx

from ..facts import TokenHop
from ..findings import Finding, Options, PathStep
from ..model import DelegationGraph
from ._meta import rule
from ._reach import Reach
from ._util import LIMIT, listed

TITLE = "Choke point: every path to a sensitive tool goes through one agent"

_SOURCE = "\x00roots"  # the virtual source; no agent id has a control character


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    reach = Reach.of(graph, options)
    if not reach.sensitive:
        return []
    # tool -> holder -> the token (nearest the root) that lets the holder reach it
    holders: dict[str, dict[str, TokenHop]] = defaultdict(dict)
    edges: dict[tuple[str, str], None] = {}  # agent pairs, in first-seen order, each once
    receivers = {hop.sub for hop in graph.tokens.values()}
    tokens, sensitive = graph.tokens, reach.sensitive
    for hop in graph.hops():
        edges[hop.iss, hop.sub] = None
        if hop.prf is None or hop.prf not in tokens or hop.iss not in receivers:
            edges[_SOURCE, hop.iss] = None
        for tool in reach.token_tools(hop):
            if tool in sensitive:
                best = holders[tool].get(hop.sub)
                if best is None or _rank(graph, hop) < _rank(graph, best):
                    holders[tool][hop.sub] = hop
    if not holders:
        return []
    flow: nx.DiGraph[str] = nx.DiGraph()
    flow.add_node(_SOURCE)
    flow.add_edges_from(edges)
    idom: dict[str, str] = dict(nx.immediate_dominators(flow, _SOURCE))
    idom.pop(_SOURCE, None)  # networkx < 3.5 maps the start to itself
    depth = _depths(idom)

    def meet(u: str, v: str) -> str:  # lowest common ancestor in the dominator tree
        while depth[u] > depth[v]:
            u = idom[u]
        while depth[v] > depth[u]:
            v = idom[v]
        while u != v:
            u, v = idom[u], idom[v]
        return u

    guarded: dict[str, dict[str, tuple[str, TokenHop]]] = defaultdict(dict)
    for tool in sorted(holders):
        held = holders[tool]
        reached = sorted(a for a in held if a in idom)  # unreachable holders: no path at all
        if not reached:
            continue
        lowest = reduce(meet, reached)
        # The lowest common dominator counts unless it is a lone holder of its own grant.
        chokes = [lowest] if lowest not in held or len(reached) > 1 else []
        node = lowest
        while node in idom:
            node = idom[node]
            if node != _SOURCE:
                chokes.append(node)
        for agent in chokes:  # witness: the holder nearest the root, other than the agent
            via = min((a for a in reached if a != agent), key=lambda a: (_rank(graph, held[a]), a))
            guarded[agent][tool] = (via, held[via])
    return [_finding(graph, agent, guarded[agent], holders) for agent in sorted(guarded)]


def _rank(graph: DelegationGraph, hop: TokenHop) -> tuple[int, str]:
    return graph.depth(hop.token_id), hop.token_id


def _depths(idom: dict[str, str]) -> dict[str, int]:
    """Depth of each node in the dominator tree (the source at 0), without recursion."""
    depth = {_SOURCE: 0}
    for node in idom:
        trail = []
        while node not in depth:
            trail.append(node)
            node = idom[node]
        base = depth[node]
        for i, n in enumerate(reversed(trail), 1):
            depth[n] = base + i
    return depth


def _unregistered(graph: DelegationGraph, agent: str) -> str | None:
    """Why the registry does not vouch for ``agent`` (None when it does, or has no say)."""
    reg = graph.registry
    if reg is None:
        return None
    if agent not in reg.agents and not reg.is_root(agent):
        return "it is not in the registry"
    if reg.knows_agents:
        for hop in graph.held_tokens(agent):
            if hop.cnf_kid is not None and not reg.agent_has_key(agent, hop.cnf_kid):
                return f"its token {hop.token_id[:12]} is bound to a key not registered for it"
    return None


def _finding(
    graph: DelegationGraph,
    agent: str,
    tools: dict[str, tuple[str, TokenHop]],
    holders: dict[str, dict[str, TokenHop]],
) -> Finding:
    names = sorted(tools)
    first = names[0]
    via, hop = tools[first]
    path, cut = graph.witness(hop.token_id), graph.witness_cut(hop.token_id)
    why = _unregistered(graph, agent)
    per_tool: dict[str, Any] = {
        t: {"holders": len(holders[t]), "via": tools[t][0], "token_id": tools[t][1].token_id}
        for t in names[:LIMIT]
    }
    message = (
        f"every delegation path from the roots to {listed(names)} passes through {agent} "
        f"(e.g. to {via}, holding {first}): compromising it exposes "
        f"{'them' if len(names) > 1 else 'it'}, and it is where to enforce policy"
    )
    if why is not None:
        message += f"; {why}"
    return Finding(
        rule="DLG017",
        severity="medium" if why is not None else "info",
        title=TITLE,
        message=message,
        key=(agent,),
        path=(*path, PathStep("holds", via, first)),
        evidence={
            "agent": agent,
            "tools": per_tool,
            "tools_total": len(names),
            "registered": why is None,
            "path_cut": cut,
        },
        locations=tuple(hop.seen_in[:1]),
    )


RULE = rule("DLG017", TITLE, detect)
