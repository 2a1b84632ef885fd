"""Node-link JSON (networkx's ``node_link_data``), with the findings in ``graph``.

Read it back with ``networkx.node_link_graph(data, edges="edges")``.
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
    """Node-link JSON text of ``graph``."""
    view = view_of(graph, findings)
    g = scalar_graph(view)
    data = nx.node_link_data(g, edges="edges")
    data["graph"]["findings"] = [
        {**f.finding.to_dict(), "edges": [f"e{i}" for i in f.edges]} for f in view.findings
    ]
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
