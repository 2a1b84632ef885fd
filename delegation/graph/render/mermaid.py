"""Mermaid flowchart for Markdown (tickets, pull requests), capped in size.

Mermaid refuses diagrams over 500 edges or 50,000 characters by default, so above
``MAX_EDGES`` or ``MAX_TEXT`` this raises ``InvalidInput`` saying what to do instead
(filter by task or time, or use HTML/DOT). Labels are quoted and every character outside
a small safe set is written as a Mermaid entity code (``#60;``), so ``-->``, quotes,
brackets and newlines in agent ids cannot change the diagram.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ...errors import InvalidInput
from ..findings import Finding
from ..model import DelegationGraph
from ._view import view_of
from .svg import BADGES

__all__ = ["MAX_EDGES", "MAX_TEXT", "label", "render"]

MAX_EDGES = 500
MAX_TEXT = 50_000
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:/@*+=\-]")
_OPEN = {"principal": ('(["', '"])'), "agent": ('["', '"]'), "tool": ('{{"', '"}}')}
_ARROW = {"delegates": "-->", "on_behalf": "-.->", "invokes": "-->", "denied": "-.->"}


def label(text: object) -> str:
    """A Mermaid label body: unsafe characters as entity codes.

    >>> label('a-->"b"<br>')
    'a--#62;#34;b#34;#60;br#62;'
    """
    flat = " ".join(str(text).split())
    return _UNSAFE.sub(lambda m: f"#{ord(m.group())};", flat)


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """Mermaid ``flowchart LR`` text of ``graph``.

    Raises:
        InvalidInput: more than ``MAX_EDGES`` edges or ``MAX_TEXT`` characters.
    """
    view = view_of(graph, findings)
    if len(view.edges) > MAX_EDGES:
        raise InvalidInput(
            f"the graph has {len(view.edges)} edges; Mermaid output is capped at {MAX_EDGES}: "
            "narrow it (--task, --since/--until) or render html, svg or dot",
            claim="format",
        )
    out = ["flowchart LR", f"  %% {label(view.title)}"]
    for sev, (_, _, fill, ink) in BADGES.items():
        out.append(f"  classDef {sev} fill:{fill},color:{ink},stroke:#000,stroke-width:3px")
    for n in view.nodes:
        a, b = _OPEN[n.kind]
        out.append(f"  n{n.idx}{a}{label(n.label)}{b}")
        worst = view.worst(n.findings)
        if worst is not None:
            out.append(f"  class n{n.idx} {worst}")
    styles = []
    for k, e in enumerate(view.edges):
        text = e.kind if e.kind != "denied" else f"denied {e.facts.get('code', '')}"
        worst = view.worst(e.findings)
        arrow = _ARROW[e.kind]
        if worst is not None:
            arrow = "==>"
            text += f" {worst.upper()}"
            styles.append(f"  linkStyle {k} stroke:{BADGES[worst][2]},stroke-width:4px")
        out.append(f'  n{e.u} {arrow}|"{label(text)}"| n{e.v}')
    text = "\n".join([*out, *styles]) + "\n"
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"the Mermaid text would be {len(text)} characters; Mermaid's limit is {MAX_TEXT}: "
            "narrow it (--task, --since/--until) or render html, svg or dot",
            claim="format",
        )
    return text
