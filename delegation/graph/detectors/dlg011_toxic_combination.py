"""DLG011 toxic-combination: a task's agents together hold a configured toxic set of tool labels.

Definition: for each task and each label set of ``Options.toxic_sets`` (default
``untrusted_input`` + ``sensitive_read`` + ``egress``), the agents holding tokens of that
task whose capabilities reach known tools carrying the labels (tool labels from the
registry; see :mod:`._reach` for known tools and reach). When the agents cover the whole
set together though no single one does: high, one finding per task and set (key: task,
set), the witness being for each label one agent's delegation path to a token reaching a
tool with that label, followed by ``holds`` (agent, tool). When one agent holds the whole
set alone: critical, one finding per task, agent and set. The classic lethal trifecta
(untrusted content, private data, a way out) split over several agents is still one
exfiltration path once they pass messages to each other.

Complexity: O(E x c + P x T + E x S) for E tokens of at most c capabilities, P distinct tool
patterns, T known tools and S labels in the toxic sets.

Addresses: OWASP Agentic Top 10 ASI02 (Tool Misuse and Exploitation), ASI01 (Agent Goal
Hijack: untrusted input steering an agent) and ASI08 (Cascading Failures); CSA MAESTRO L7
(Agent Ecosystem) and L3 (Agent Frameworks); OWASP NHI Top 10 NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..facts import TokenHop
from ..findings import Finding, Options, PathStep
from ..model import DelegationGraph
from ._meta import rule
from ._reach import Reach
from ._util import LIMIT, evidence, listed, locations

TITLE = "Toxic combination: a task's agents together hold a dangerous set of tools"

# (task, agent) -> label -> the (token, tool) pairs delivering it
_Holdings = dict[tuple[str, str], dict[str, list[tuple[TokenHop, str]]]]


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    wanted = {label for s in options.toxic_sets for label in s}
    if not wanted:
        return []
    reach = Reach.of(graph, options)
    holdings: _Holdings = defaultdict(lambda: defaultdict(list))
    # (label, tool) pairs of a token's tools, once per distinct tuple of tools
    labelled: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    task_labels: dict[str, set[str]] = defaultdict(set)
    for hop in graph.hops():
        tools = reach.token_tools(hop)
        pairs = labelled.get(tools)
        if pairs is None:
            pairs = labelled[tools] = [
                (label, tool) for tool in tools for label in sorted(reach.labels[tool] & wanted)
            ]
        if pairs:
            task_labels[hop.task].update(label for label, _ in pairs)
    # Only a task whose tokens hold every label of a toxic set can combine one: the
    # holdings (who holds which label through which token) are gathered for those alone.
    toxics = sorted({tuple(sorted(set(s))) for s in options.toxic_sets if s})
    hot = {t for t, labels in task_labels.items() if any(labels.issuperset(x) for x in toxics)}
    for hop in graph.hops() if hot else ():
        if hop.task in hot:
            pairs = labelled[reach.token_tools(hop)]
            if pairs:
                held = holdings[hop.task, hop.sub]
                for label, tool in pairs:
                    held[label].append((hop, tool))
    by_task: dict[str, list[str]] = defaultdict(list)
    for task, agent in holdings:
        by_task[task].append(agent)
    out: list[Finding] = []
    for task in sorted(by_task):
        agents = sorted(by_task[task])
        for toxic in toxics:
            alone = [a for a in agents if all(holdings[task, a].get(lb) for lb in toxic)]
            if alone:
                out.extend(_alone(graph, task, a, toxic, holdings[task, a]) for a in alone)
                continue
            if all(any(holdings[task, a].get(lb) for a in agents) for lb in toxic):
                out.append(_together(graph, task, agents, toxic, holdings))
    return out


def _pick(graph: DelegationGraph, delivered: list[tuple[TokenHop, str]]) -> tuple[TokenHop, str]:
    """The evidence with the shortest path: the token nearest the root, then by ids."""
    return min(delivered, key=lambda d: (graph.depth(d[0].token_id), d[0].token_id, d[1]))


def _holds_path(graph: DelegationGraph, hop: TokenHop, tool: str) -> list[PathStep]:
    path = graph.witness(hop.token_id)
    return [*path, PathStep("holds", hop.sub, tool)]


def _alone(
    graph: DelegationGraph,
    task: str,
    agent: str,
    toxic: tuple[str, ...],
    held: dict[str, list[tuple[TokenHop, str]]],
) -> Finding:
    path: list[PathStep] = []
    hops: list[TokenHop] = []
    per_label: dict[str, Any] = {}
    for label in toxic:
        hop, tool = _pick(graph, held[label])
        hops.append(hop)
        per_label[label] = {"tool": tool, "token_id": hop.token_id, "jti": hop.jti}
        for step in _holds_path(graph, hop, tool):
            if step not in path:
                path.append(step)
    tools = sorted({str(v["tool"]) for v in per_label.values()})
    return Finding(
        rule="DLG011",
        severity="critical",
        title=TITLE,
        message=(
            f"{agent} alone holds {' + '.join(toxic)} in task {task} "
            f"(through {listed(tools)}): one agent can read untrusted input, reach sensitive "
            f"data and send it out"
        ),
        key=(task, agent, "+".join(toxic)),
        path=tuple(path),
        evidence=evidence(hops[0], agent=agent, toxic_set=list(toxic), labels=per_label),
        locations=locations(hops),
    )


def _together(
    graph: DelegationGraph,
    task: str,
    agents: list[str],
    toxic: tuple[str, ...],
    holdings: _Holdings,
) -> Finding:
    chosen: list[str] = []
    path: list[PathStep] = []
    hops: list[TokenHop] = []
    per_label: dict[str, Any] = {}
    for label in toxic:
        able = [a for a in agents if holdings[task, a].get(label)]
        # Prefer an agent already in the witness, so that it names as few agents as it can.
        agent = next((a for a in chosen if a in able), able[0])
        if agent not in chosen:
            chosen.append(agent)
        hop, tool = _pick(graph, holdings[task, agent][label])
        hops.append(hop)
        per_label[label] = {
            "agent": agent,
            "tool": tool,
            "token_id": hop.token_id,
            "jti": hop.jti,
            "agents_holding": len(able),
        }
        for step in _holds_path(graph, hop, tool):
            if step not in path:
                path.append(step)
    involved = sorted({a for a in agents if any(holdings[task, a].get(lb) for lb in toxic)})
    parts = "; ".join(
        f"{lb} via {per_label[lb]['agent']} ({per_label[lb]['tool']})" for lb in toxic
    )
    return Finding(
        rule="DLG011",
        severity="high",
        title=TITLE,
        message=(
            f"in task {task} no single agent holds {' + '.join(toxic)}, but together "
            f"{listed(chosen)} do: {parts}; any of them passing messages to another "
            f"completes the set"
        ),
        key=(task, "+".join(toxic)),
        path=tuple(path),
        evidence={
            "task": task,
            "toxic_set": list(toxic),
            "labels": per_label,
            "agents": involved[:LIMIT],
            "agents_total": len(involved),
        },
        locations=locations(hops),
    )


RULE = rule("DLG011", TITLE, detect)
