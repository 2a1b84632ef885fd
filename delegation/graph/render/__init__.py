"""Renderers: the delegation graph as one interactive HTML file, a static SVG, and exports.

One entry point, :func:`render`, and :func:`format_for` to choose a format from an output
path's suffix. Formats (one module each): ``html`` (self-contained, no network), ``svg``,
``dot`` (Graphviz), ``mermaid``, ``graphml``, ``gexf`` (Gephi, with a timeline),
``cytoscape``, ``nodelink`` (networkx node-link JSON) and ``opengraph`` (BloodHound).
Every format is deterministic: the same graph and findings give the same text.

>>> from delegation.graph import DelegationGraph
>>> format_for("out/graph.mmd"), format_for("x.json"), format_for("x.json", "opengraph")
('mermaid', 'nodelink', 'opengraph')
>>> render(DelegationGraph(), [], "dot").splitlines()[0]
'digraph delegation {'
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import PurePath

from ...errors import InvalidInput
from ..findings import Finding
from ..model import DelegationGraph

__all__ = ["FORMATS", "SUFFIXES", "format_for", "render"]

FORMATS: tuple[str, ...] = (
    "html",
    "svg",
    "dot",
    "mermaid",
    "graphml",
    "gexf",
    "cytoscape",
    "nodelink",
    "opengraph",
)
SUFFIXES: dict[str, str] = {
    ".html": "html",
    ".htm": "html",
    ".svg": "svg",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".graphml": "graphml",
    ".gexf": "gexf",
    ".json": "nodelink",
}


def format_for(path: str | PurePath | None, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` when given, else the one the path's suffix names.

    Raises:
        InvalidInput: an unknown format, or a suffix that names none (code ``invalid_input``).
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInput(
                f"unknown graph format {fmt!r}; known: {', '.join(FORMATS)}", claim="format"
            )
        return fmt
    suffix = PurePath(str(path or "")).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            f"cannot tell the graph format from {str(path)!r}: use a suffix "
            f"({', '.join(sorted(SUFFIXES))}) or --format ({', '.join(FORMATS)})",
            claim="format",
        )
    return SUFFIXES[suffix]


def render(graph: DelegationGraph, findings: Sequence[Finding] = (), fmt: str = "html") -> str:
    """``graph`` with ``findings`` drawn or exported in format ``fmt`` (see ``FORMATS``).

    Raises:
        InvalidInput: unknown format; Mermaid output over its size cap.
    """
    module = importlib.import_module(f"{__name__}.{format_for(None, fmt)}")
    text: str = module.render(graph, findings)
    return text
