"""Graphviz DOT: node kinds by shape, findings coloured by severity, witness paths bold.

Hand-written rather than through pydot or pygraphviz (neither is a dependency); every
identifier is ``n<i>``/quoted and every label a quoted, escaped string, so an agent id
cannot break out of its label (``\\`` and ``"`` escaped, control characters replaced).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..findings import Finding
from ..model import DelegationGraph
from ._view import view_of
from .svg import BADGES, EDGE_STYLE

__all__ = ["quote", "render"]

_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_SHAPE = {"principal": "ellipse", "agent": "box", "tool": "hexagon"}
_FILL = {"principal": "#FFF6E0", "agent": "#EAF3FB", "tool": "#EAF7F1"}


def quote(text: object) -> str:
    """A DOT quoted string.

    >>> quote('a"b\\\\c\\n')
    '"a\\\\"b\\\\\\\\c "'
    """
    s = _CONTROL.sub(" ", str(text)).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """DOT text of ``graph`` with ``findings``."""
    view = view_of(graph, findings)
    out = [
        "digraph delegation {",
        f"  graph [rankdir=LR, label={quote(view.title)}, labelloc=t, fontname=Helvetica];",
        "  node [fontname=Helvetica, fontsize=10, style=filled];",
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    for n in view.nodes:
        worst = view.worst(n.findings)
        attrs = [
            f"label={quote(n.label)}",
            f"tooltip={quote(n.name)}",
            f"shape={_SHAPE[n.kind]}",
            f'fillcolor="{_FILL[n.kind]}"',
        ]
        if n.kind == "agent":
            attrs.append('style="rounded,filled"' if not n.facts.get("root") else "peripheries=2")
        if worst is not None:
            attrs += [
                f'color="{BADGES[worst][2]}"',
                "penwidth=3",
                f"xlabel={quote(worst.upper())}",
            ]
        out.append(f"  n{n.idx} [{', '.join(attrs)}];")
    for e in view.edges:
        colour, _dash, width = EDGE_STYLE[e.kind]
        attrs = [f"class={quote(e.kind)}", f"id={quote(f'e{e.idx}')}"]
        style = {"on_behalf": "dotted", "denied": "dashed"}.get(e.kind, "solid")
        label = e.kind if e.kind != "denied" else f"denied: {e.facts.get('code', '')}"
        if e.kind == "invokes" and e.facts.get("count", 1) > 1:
            label += f" x{e.facts['count']}"
        worst = view.worst(e.findings)
        if worst is not None:
            colour, style, width = BADGES[worst][2], "bold", 3.0
            rules = sorted({view.findings[i].finding.rule for i in e.findings})
            label += f" [{worst.upper()} {', '.join(rules)}]"
        attrs += [
            f"label={quote(label)}",
            f'color="{colour}"',
            f"style={style}",
            f"penwidth={width}",
        ]
        if e.kind == "delegates":
            attrs.append(f"tooltip={quote(e.key)}")
        out.append(f"  n{e.u} -> n{e.v} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"
