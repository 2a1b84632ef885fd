"""The view as a networkx MultiDiGraph whose attributes are all scalars.

GraphML, GEXF, node-link and Cytoscape exports are written by networkx's own writers
from this graph. Lists (capabilities, baselines, labels, rules) become ``"; "``-joined
strings; None values are left out (GraphML has no null).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from ._view import View

__all__ = ["scalar_graph"]

_Scalar = str | int | float | bool


def _flat(facts: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, _Scalar]:
    out: dict[str, _Scalar] = {}
    for k, v in facts.items():
        if k in skip or v is None:
            continue
        if isinstance(v, list | tuple):
            out[k] = "; ".join(str(x) for x in v)
        elif isinstance(v, str | int | float | bool):
            out[k] = v
        else:
            out[k] = str(v)
    return out


def scalar_graph(view: View, *, times: bool = True) -> nx.MultiDiGraph[str]:
    """Nodes keyed by graph node id, edges by their key (token id for ``delegates``)."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    t0, t1 = view.span
    g.graph.update({"title": view.title})
    if t0 is not None and t1 is not None:
        g.graph.update({"start": t0, "end": t1})
    for n in view.nodes:
        attrs = _flat(n.facts, skip=("id",))
        attrs.update(kind=n.kind, name=n.name, label=n.label, x=n.x, y=n.y)
        if n.group:
            attrs["group"] = n.group
        _findings(view, n.findings, attrs)
        if times and n.t0 is not None and n.t1 is not None:
            attrs.update(start=n.t0, end=n.t1)
        g.add_node(n.id, **attrs)
    for e in view.edges:
        attrs = _flat(e.facts)
        attrs.update(kind=e.kind, id=f"e{e.idx}")
        for name, value in (("task", e.task), ("obo", e.obo)):
            if value is not None:
                attrs[name] = value
        _findings(view, e.findings, attrs)
        if times and e.t0 is not None and e.t1 is not None:
            attrs.update(start=e.t0, end=e.t1)
        g.add_edge(view.nodes[e.u].id, view.nodes[e.v].id, key=e.key, **attrs)
    return g


def _findings(view: View, fids: list[int], attrs: dict[str, _Scalar]) -> None:
    attrs["findings"] = len(fids)
    if fids:
        attrs["severity"] = view.worst(fids) or ""
        attrs["rules"] = "; ".join(sorted({view.findings[i].finding.rule for i in fids}))
