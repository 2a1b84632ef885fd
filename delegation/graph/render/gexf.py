"""GEXF 1.2 for Gephi, with ``start``/``end`` on nodes and edges for its timeline.

Written by networkx's GEXF writer (dynamic mode, times as POSIX seconds, ``double``).
networkx stamps the file with today's date; it is replaced by the input's last time so
the output depends on the input alone.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import networkx as nx

from ..findings import Finding
from ..model import DelegationGraph
from ._scalar import scalar_graph
from ._view import iso, view_of

__all__ = ["render"]


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """GEXF text of ``graph``; read it back with ``networkx.read_gexf``."""
    view = view_of(graph, findings)
    g = scalar_graph(view)
    g.graph.pop("start", None)
    g.graph.pop("end", None)
    g.graph["mode"] = "dynamic"
    buf = io.BytesIO()
    nx.write_gexf(g, buf)
    text = buf.getvalue().decode("utf-8")
    stamp = (iso(view.span[1]) or "1970-01-01T")[:10]
    return re.sub(r'lastmodifieddate="[^"]*"', f'lastmodifieddate="{stamp}"', text, count=1)
