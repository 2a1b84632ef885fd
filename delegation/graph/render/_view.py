"""The renderers' common view: the graph as plain, sorted, JSON-ready records.

Every format reads this view, never the networkx graph directly, so that all of them
agree on what a node, an edge and a finding's witness are, and so that output order is
fixed (same input, same bytes). Untrusted strings are kept verbatim here; each format
escapes them for its own syntax.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..facts import TokenHop
from ..findings import SEVERITIES, Finding
from ..model import DelegationGraph

__all__ = ["VEdge", "VFinding", "VNode", "View", "iso", "short_label", "view_of"]

EDGE_KINDS = ("delegates", "on_behalf", "invokes", "denied")
NODE_KINDS = ("principal", "agent", "tool")
_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


def iso(ts: float | None) -> str | None:
    """A POSIX time as ISO 8601 UTC (``Z``), or None.

    >>> iso(1800000000)
    '2027-01-15T08:00:00Z'
    """
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def short_label(kind: str, name: str, limit: int = 21) -> str:
    """A node's drawn label: the tail of a SPIFFE/URI id, cut to ``limit`` characters.

    >>> short_label("agent", "spiffe://acme.example/agent/a0")
    'agent/a0'
    """
    label = name
    if kind == "agent" and "://" in name:
        path = name.split("://", 1)[1].split("/", 1)
        label = path[1] if len(path) > 1 and path[1] else path[0]
    label = " ".join(label.split())  # newlines and tabs never reach a drawn label
    if len(label) > limit:
        label = label[: limit - 1] + "\u2026"
    return label


@dataclass
class VNode:
    idx: int
    id: str
    kind: str
    name: str
    label: str
    facts: dict[str, Any]
    group: str = ""
    col: int = 0
    x: float = 0.0
    y: float = 0.0
    findings: list[int] = field(default_factory=list)
    t0: float | None = None
    t1: float | None = None


@dataclass
class VEdge:
    idx: int
    u: int
    v: int
    key: str
    kind: str
    task: str | None
    obo: str | None
    t0: float | None
    t1: float | None
    facts: dict[str, Any]
    leaf: str | None = None
    lane: int = 0  # index among the parallel edges of the same (u, v)
    findings: list[int] = field(default_factory=list)


@dataclass
class VFinding:
    idx: int
    finding: Finding
    nodes: list[int]
    edges: list[int]
    anchor_edge: int | None
    anchor_node: int | None

    @property
    def severity(self) -> str:
        return self.finding.severity


@dataclass
class View:
    nodes: list[VNode]
    edges: list[VEdge]
    findings: list[VFinding]
    span: tuple[float | None, float | None]
    index: dict[str, int]  # graph node id -> node idx
    groups: list[str] = field(default_factory=list)
    grouped_by: str | None = None

    def worst(self, finding_ids: Iterable[int]) -> str | None:
        sev = [self.findings[i].severity for i in finding_ids]
        return min(sev, key=lambda s: _RANK[s]) if sev else None

    @property
    def tasks(self) -> list[str]:
        return sorted({e.task for e in self.edges if e.task is not None})

    @property
    def principals(self) -> list[str]:
        return sorted(n.name for n in self.nodes if n.kind == "principal")

    @property
    def title(self) -> str:
        t0, t1 = self.span
        span = f"{iso(t0)} \u2192 {iso(t1)}" if t0 is not None else "no times"
        return f"Delegation graph, {span}"


def _caps(caps: Sequence[Any]) -> list[str]:
    return [str(c) for c in caps]


def _hop_facts(graph: DelegationGraph, hop: TokenHop) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "token": hop.token_id,
        "jti": hop.jti,
        "iss": hop.iss,
        "sub": hop.sub,
        "prf": hop.prf,
        "task": hop.task,
        "obo": hop.obo,
        "iat": iso(hop.iat),
        "nbf": iso(hop.nbf),
        "exp": iso(hop.exp),
        "lifetime_s": hop.exp - hop.iat,
        "dpth": hop.dpth,
        "depth": graph.depth(hop.token_id),
        "caps": _caps(hop.caps),
        "receipt": hop.receipt,
        "receipt_ok": hop.receipt_ok,
        "signature": hop.signature,
        "verified": hop.verified,
        "act_ok": hop.act_ok,
        "kid": hop.kid,
        "cnf_kid": hop.cnf_kid,
        "elevation": hop.elevation,
        "minted": hop.minted,
        "seen_in": [f"{loc.source}:{loc.line}" for loc in hop.seen_in],
    }
    accepts = graph.acceptances.get(hop.token_id, [])
    facts["acceptances"] = [
        f"{'accepted' if a.allowed else 'refused'} by {a.audience} ({a.code}) at {iso(a.ts)}"
        for a in sorted(accepts, key=lambda a: (a.ts, a.audience, a.code))
    ]
    return {k: v for k, v in facts.items() if v is not None}


def _node_facts(data: dict[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {"id": data.get("name", ""), "kind": data.get("kind", "")}
    for name in ("domain", "role", "registered", "root"):
        if data.get(name) is not None:
            facts[name] = data[name]
    if data.get("baseline") is not None:
        facts["baseline"] = _caps(data["baseline"])
    if data.get("labels"):
        facts["labels"] = list(data["labels"])
    return facts


def view_of(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> View:
    """The sorted view of ``graph`` with ``findings`` attached to the nodes and edges."""
    g = graph.graph
    order = sorted(g.nodes, key=lambda n: (NODE_KINDS.index(g.nodes[n]["kind"]), n))
    index = {n: i for i, n in enumerate(order)}
    nodes = [
        VNode(
            idx=i,
            id=n,
            kind=g.nodes[n]["kind"],
            name=g.nodes[n].get("name", n),
            label=short_label(g.nodes[n]["kind"], g.nodes[n].get("name", n)),
            facts=_node_facts(g.nodes[n]),
        )
        for i, n in enumerate(order)
    ]
    root_tasks: dict[str, set[str]] = defaultdict(set)  # principal -> tasks of its roots
    for hop in graph.tokens.values():
        if hop.prf is None and hop.obo is not None:
            root_tasks[hop.obo].add(hop.task)
    raw = sorted(
        g.edges(keys=True, data=True),
        key=lambda e: (index[e[0]], index[e[1]], EDGE_KINDS.index(e[3]["kind"]), e[2]),
    )
    edges: list[VEdge] = []
    lanes: dict[tuple[int, int], int] = defaultdict(int)
    for u, v, key, data in raw:
        kind = data["kind"]
        iu, iv = index[u], index[v]
        task = obo = leaf = None
        t0 = t1 = None
        facts: dict[str, Any]
        if kind == "delegates":
            token: TokenHop = data["hop"]
            task, obo, t0, t1 = token.task, token.obo, float(token.iat), float(token.exp)
            facts = _hop_facts(graph, token)
        elif kind == "on_behalf":
            obo = g.nodes[u].get("name")
            tasks = sorted(root_tasks.get(obo or "", ()))
            task = tasks[0] if len(tasks) == 1 else None
            facts = {"principal": obo, "agent": g.nodes[v].get("name"), "tasks": tasks}
        else:
            task, leaf = data.get("task"), data.get("leaf")
            t0, t1 = data.get("first"), data.get("last")
            facts = {
                "code": data.get("code"),
                "count": data.get("count", 1),
                "leaf": leaf,
                "task": task,
                "first": iso(t0),
                "last": iso(t1),
            }
            facts = {k: val for k, val in facts.items() if val is not None}
        lane = lanes[(iu, iv)]
        lanes[(iu, iv)] += 1
        edges.append(
            VEdge(len(edges), iu, iv, str(key), kind, task, obo, t0, t1, facts, leaf, lane)
        )
    for e in edges:  # a node's time span: the union of its edges'
        for n in (nodes[e.u], nodes[e.v]):
            if e.t0 is not None:
                n.t0 = e.t0 if n.t0 is None else min(n.t0, e.t0)
            if e.t1 is not None:
                n.t1 = e.t1 if n.t1 is None else max(n.t1, e.t1)
    times = [t for e in edges for t in (e.t0, e.t1) if t is not None]
    span = (min(times), max(times)) if times else (None, None)
    view = View(nodes, edges, [], span, index)
    _attach(view, sorted(findings, key=Finding.sort_key))
    return view


def _attach(view: View, findings: Sequence[Finding]) -> None:
    """Resolve each finding's witness path to nodes and edges of the view."""
    by_pair: dict[tuple[int, int], list[VEdge]] = defaultdict(list)
    for e in view.edges:
        by_pair[(e.u, e.v)].append(e)
    by_token = {e.key: e for e in view.edges if e.kind == "delegates"}

    def node(*candidates: str) -> int | None:
        for c in candidates:
            if c in view.index:
                return view.index[c]
        return None

    for i, f in enumerate(findings):
        nodes: dict[int, None] = {}
        edges: dict[int, None] = {}
        for step in f.path:
            src = node(f"agent|{step.source}", f"principal|{step.source}", f"tool|{step.source}")
            if step.kind in ("invokes", "denied"):
                dst = node(f"tool|{step.target}", f"agent|{step.target}")
            else:
                dst = node(f"agent|{step.target}", f"tool|{step.target}")
            for n in (src, dst):
                if n is not None:
                    nodes.setdefault(n)
            if step.token is not None and step.token in by_token and step.kind == "delegates":
                edges.setdefault(by_token[step.token].idx)
            elif src is not None and dst is not None:
                for e in by_pair.get((src, dst), []):
                    if e.kind == step.kind and (step.token is None or e.leaf == step.token):
                        edges.setdefault(e.idx)
        if not f.path:  # no witness: the key names the tokens or agents it is about
            for k in f.key:
                if k in by_token:
                    hit = by_token[k]
                    edges.setdefault(hit.idx)
                    nodes.setdefault(hit.u)
                    nodes.setdefault(hit.v)
                n = node(f"agent|{k}", f"tool|{k}", f"principal|{k}")
                if n is not None:
                    nodes.setdefault(n)
        edge_list, node_list = list(edges), list(nodes)
        anchor_edge = edge_list[-1] if edge_list else None
        anchor_node = None if anchor_edge is not None or not node_list else node_list[-1]
        vf = VFinding(i, f, node_list, edge_list, anchor_edge, anchor_node)
        view.findings.append(vf)
        for n in node_list:
            view.nodes[n].findings.append(i)
        for j in edge_list:
            view.edges[j].findings.append(i)
