"""GraphML (scalar attributes only), written by networkx's GraphML writer.

Edge ids are ``e<n>``, keys the token id (``delegates``) or the decision group; nodes keep
the graph's ``kind|name`` ids. Times are POSIX seconds (``start``, ``end``).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from ..findings import Finding
from ..model import DelegationGraph
from ._scalar import scalar_graph
from ._view import view_of

__all__ = ["render"]


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """GraphML text of ``graph``; read it back with ``networkx.read_graphml``."""
    g = scalar_graph(view_of(graph, findings))
    return "\n".join(nx.generate_graphml(g, edge_id_from_attribute="id")) + "\n"
