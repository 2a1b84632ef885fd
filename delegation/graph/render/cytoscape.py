"""Cytoscape JSON (Cytoscape.js ``elements`` and Cytoscape desktop), from networkx.

``networkx.cytoscape_data`` gives the elements; every edge gets an ``id`` (``e<n>``) and
the graph ``data`` is an object, as Cytoscape expects. Findings' witness edges carry
``severity`` and ``rules`` for styling.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import networkx as nx

from ..findings import Finding
from ..model import DelegationGraph
from ._scalar import scalar_graph
from ._view import view_of

__all__ = ["render"]


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """Cytoscape JSON text of ``graph``."""
    view = view_of(graph, findings)
    data = nx.cytoscape_data(scalar_graph(view), name="name", ident="id_")
    data["data"] = dict(data["data"])
    for node in data["elements"]["nodes"]:
        node["data"].pop("value", None)
    data["data"]["findings"] = [
        {**f.finding.to_dict(), "edges": [f"e{i}" for i in f.edges]} for f in view.findings
    ]
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
