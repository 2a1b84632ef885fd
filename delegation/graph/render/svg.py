"""SVG: the drawing itself (static), also the body of the interactive HTML.

Node kinds differ by shape (principal: ellipse, agent: rounded box, root agent: double
border, tool: hexagon), edge kinds by colour *and* stroke (delegates: solid blue with an
arrow, on_behalf: dotted grey, invokes: thin green, denied: dashed purple with a bar).
Findings are badges whose shape, letter and colour all tell the severity (critical:
octagon C, high: triangle H, medium: diamond M, low: circle L, info: square i), so the
drawing reads without colour. Every untrusted string is XML-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..findings import Finding
from ..model import DelegationGraph
from ._layout import (
    BADGE,
    BAND_GAP,
    COLLAPSED_H,
    MARGIN,
    NODE_H,
    NODE_W,
    Band,
    Layout,
    layout,
)
from ._view import VEdge, View, view_of

_OPEN = {True: "\u25be", False: "\u25b8"}

__all__ = ["BADGES", "CSS", "draw", "edge_path", "esc", "render"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

#: severity -> (shape path centred on 0,0, letter, fill, text colour); Okabe-Ito colours
BADGES: dict[str, tuple[str, str, str, str]] = {
    "critical": ("M-4.6-11H4.6L11-4.6V4.6L4.6 11H-4.6L-11 4.6V-4.6Z", "C", "#D55E00", "#fff"),
    "high": ("M0-12L12 10H-12Z", "H", "#E69F00", "#000"),
    "medium": ("M0-12L12 0L0 12L-12 0Z", "M", "#F0E442", "#000"),
    "low": ("M-10 0A10 10 0 1 0 10 0A10 10 0 1 0-10 0Z", "L", "#56B4E9", "#000"),
    "info": ("M-9-9H9V9H-9Z", "i", "#BBBBBB", "#000"),
}
EDGE_STYLE = {  # kind -> (colour, dash, width)
    "delegates": ("#0072B2", "", 1.6),
    "on_behalf": ("#777777", "2 3", 1.2),
    "invokes": ("#009E73", "", 1.1),
    "denied": ("#CC79A7", "6 3", 1.3),
}

CSS = """
svg.dg{font:12px system-ui,-apple-system,'Segoe UI',sans-serif;background:#fff}
.dg .edge{fill:none}
.dg .k-delegates{stroke:#0072B2;stroke-width:1.6}
.dg .k-on_behalf{stroke:#777;stroke-width:1.2;stroke-dasharray:2 3}
.dg .k-invokes{stroke:#009E73;stroke-width:1.1}
.dg .k-denied{stroke:#CC79A7;stroke-width:1.3;stroke-dasharray:6 3}
.dg .node{cursor:pointer}
.dg .node .shape{fill:#fff;stroke:#333;stroke-width:1.2}
.dg .node.k-principal .shape{fill:#FFF6E0}
.dg .node.k-agent .shape{fill:#EAF3FB}
.dg .node.k-tool .shape{fill:#EAF7F1}
.dg .node .ring{fill:none;stroke:#333;stroke-width:.8}
.dg .node text{fill:#111;text-anchor:middle;dominant-baseline:central;pointer-events:none}
.dg .badge{cursor:pointer}
.dg .badge text{font-weight:700;font-size:11px;text-anchor:middle;dominant-baseline:central;
  pointer-events:none}
.dg .bandbg{fill:#F7F7F7;stroke:#DDD}
.dg .bandlabel{font-weight:600;fill:#333;cursor:pointer}
.dg .band.collapsed .bandbody{display:none}
.dg .band:not(.collapsed) .bandsum{display:none}
.dg .hid{display:none}
.dg.dim .edge,.dg.dim .node,.dg.dim .badge{opacity:.13}
.dg.dim .hl{opacity:1}
.dg .edge.hl{stroke-width:4}
.dg .node.hl .shape{stroke-width:3;stroke:#000}
.dg .node.sel .shape{stroke:#000;stroke-width:3}
.dg .edge.sel{stroke-width:4}
.dg .node.match .shape{stroke:#D55E00;stroke-width:3;stroke-dasharray:4 2}
.dg .node:focus{outline:none}
.dg .node:focus .shape{stroke:#000;stroke-width:3}
"""


def esc(text: object) -> str:
    """XML-escape a string for text or a quoted attribute (control characters replaced).

    >>> esc('<script>"x"</script>\\x00')
    '&lt;script&gt;&quot;x&quot;&lt;/script&gt;\\ufffd'
    """
    return html.escape(_CONTROL.sub("\ufffd", str(text)), quote=True)


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def edge_path(x1: float, y1: float, x2: float, y2: float, lane: int) -> str:
    """The cubic Bezier of an edge between two node centres (the HTML script mirrors it)."""
    half = NODE_W / 2
    bend = ((lane + 1) // 2) * 7 * (1 if lane % 2 else -1)
    if x1 == x2 and y1 == y2:  # a self loop, above the box
        sx, sy = x1 + half - 20, y1 - NODE_H / 2
        return (
            f"M{_n(sx)} {_n(sy)}C{_n(sx)} {_n(sy - 30 - bend)} {_n(sx + 40)} "
            f"{_n(sy - 30 - bend)} {_n(sx + 20)} {_n(sy)}"
        )
    if x2 > x1:
        sx, tx = x1 + half, x2 - half
        mx = (sx + tx) / 2
        return (
            f"M{_n(sx)} {_n(y1)}C{_n(mx)} {_n(y1 + bend)} {_n(mx)} {_n(y2 + bend)} "
            f"{_n(tx)} {_n(y2)}"
        )
    sx, tx = x1 + half, x2 + half  # same column or backwards: loop out on the right
    out = 60 + abs(bend)
    return (
        f"M{_n(sx)} {_n(y1)}C{_n(sx + out)} {_n(y1 + bend)} {_n(tx + out)} {_n(y2 + bend)} "
        f"{_n(tx)} {_n(y2)}"
    )


def _midpoint(view: View, e: VEdge) -> tuple[float, float]:
    a, b = view.nodes[e.u], view.nodes[e.v]
    half = NODE_W / 2
    if a.idx == b.idx:
        return a.x + half, a.y - NODE_H / 2 - 22
    if b.x > a.x:
        return (a.x + b.x) / 2, (a.y + b.y) / 2
    return max(a.x, b.x) + half + 45, (a.y + b.y) / 2


def _badge(view: View, fid: int, x: float, y: float, dx: float, dy: float = 0.0) -> str:
    f = view.findings[fid].finding
    shape, letter, fill, ink = BADGES[f.severity]
    tip = f"{f.severity.upper()} {f.rule}: {f.title}"
    return (
        f'<g class="badge s-{f.severity}" id="f{fid}" data-f="{fid}" '
        f'transform="translate({_n(x + dx)} {_n(y + dy)})"><title>{esc(tip)}</title>'
        f'<path d="{shape}" fill="{fill}" stroke="#000" stroke-width="1"/>'
        f'<text fill="{ink}" y="{"2" if f.severity == "high" else "0"}">{letter}</text></g>'
    )


def _node(view: View, i: int) -> str:
    n = view.nodes[i]
    w, h = NODE_W, NODE_H
    if n.kind == "principal":
        shape = f'<ellipse class="shape" rx="{_n(w / 2)}" ry="{_n(h / 2 + 2)}"/>'
    elif n.kind == "tool":
        a, b = w / 2, h / 2
        shape = (
            f'<path class="shape" d="M{_n(-a)} 0L{_n(-a + 10)} {_n(-b)}H{_n(a - 10)}'
            f'L{_n(a)} 0L{_n(a - 10)} {_n(b)}H{_n(-a + 10)}Z"/>'
        )
    else:
        shape = (
            f'<rect class="shape" x="{_n(-w / 2)}" y="{_n(-h / 2)}" width="{_n(w)}" '
            f'height="{_n(h)}" rx="6"/>'
        )
        if n.facts.get("root"):
            shape += (
                f'<rect class="ring" x="{_n(-w / 2 + 3)}" y="{_n(-h / 2 + 3)}" '
                f'width="{_n(w - 6)}" height="{_n(h - 6)}" rx="4"/>'
            )
    return (
        f'<g class="node k-{n.kind}" id="n{i}" data-i="{i}" tabindex="0" role="button" '
        f'aria-label="{esc(n.kind + " " + n.name)}" '
        f'transform="translate({_n(n.x)} {_n(n.y)})"><title>{esc(n.name)}</title>{shape}'
        f"<text>{esc(n.label)}</text></g>"
    )


def _edge(view: View, e: VEdge) -> str:
    a, b = view.nodes[e.u], view.nodes[e.v]
    d = edge_path(a.x, a.y, b.x, b.y, e.lane)
    return (
        f'<path class="edge k-{e.kind}" id="e{e.idx}" data-e="{e.idx}" d="{d}" '
        f'marker-end="url(#m-{e.kind})"/>'
    )


def _badges_for(view: View, edges: Sequence[VEdge], nodes: Sequence[int]) -> list[str]:
    by_edge: dict[int, list[int]] = {}
    by_node: dict[int, list[int]] = {}
    for f in view.findings:
        if f.anchor_edge is not None:
            by_edge.setdefault(f.anchor_edge, []).append(f.idx)
        elif f.anchor_node is not None:
            by_node.setdefault(f.anchor_node, []).append(f.idx)
    out: list[str] = []
    free = _Room()
    for i in nodes:  # on the node's top-right corner, leftwards
        n = view.nodes[i]
        for k, fid in enumerate(by_node.get(i, [])):
            x = n.x + NODE_W / 2 - 4 - k * BADGE
            x, y = free.take(("node", i, k), x, n.y - NODE_H / 2, x, x)
            out.append(_badge(view, fid, x, y, 0))
    for e in edges:
        if e.idx in by_edge:
            # Near the edge's midpoint, in the gap it crosses (the layout widens a gap to
            # fit its badges), on the nearest place no other badge took.
            x, y = _midpoint(view, e)
            lo, hi = _gap_bounds(view, e, x)
            for fid in by_edge[e.idx]:
                bx, by = free.take(e.idx, x, y, lo, hi)
                out.append(_badge(view, fid, bx, by, 0))
    return out


def _gap_bounds(view: View, e: VEdge, x: float) -> tuple[float, float]:
    """How far left and right a badge of edge ``e`` may stand without covering a node."""
    a, b = view.nodes[e.u], view.nodes[e.v]
    inset = NODE_W / 2 + BADGE / 2 + 2
    if b.x > a.x:
        lo, hi = a.x + inset, b.x - inset
    else:  # loops out right of the two columns
        lo = max(a.x, b.x) + inset
        hi = lo + 3 * BADGE
    return (lo, hi) if lo <= hi else (x, x)


class _Room:
    """Where badges already stand, so that a new one does not cover another."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
        self._next: dict[object, int] = {}  # per anchor: where its search goes on in _NEAR
        self._below: dict[object, float] = {}  # per anchor: its lowest overflow badge

    def _clear(self, x: float, y: float) -> bool:
        cells, near = self._cells, BADGE - 1
        cx, cy = int(x // BADGE), int(y // BADGE)
        for i in (cx - 1, cx, cx + 1):
            for j in (cy - 1, cy, cy + 1):
                for ox, oy in cells.get((i, j), ()):
                    if -near < x - ox < near and -near < y - oy < near:
                        return False
        return True

    def take(self, anchor: object, x: float, y: float, lo: float, hi: float) -> tuple[float, float]:
        """The free place nearest (x, y) on a grid of badges, between ``lo`` and ``hi``
        across; when all of the nearest are taken, the next free one further below.

        Places are never given back, so the search for one ``anchor`` (an edge, a node)
        goes on from where its last badge stopped: linear in its badges, however many."""
        start = self._next.get(anchor, 0)
        for k in range(start, len(_NEAR)):
            dx, dy = _NEAR[k]
            px, py = x + dx * BADGE, y + dy * BADGE
            if lo - 0.5 <= px <= hi + 0.5 and self._clear(px, py):
                self._next[anchor] = k + 1
                return self._put(px, py)
        self._next[anchor] = len(_NEAR)
        py = self._below.get(anchor, y + _ROWS * BADGE) + BADGE
        while not self._clear(x, py):
            py += BADGE
        self._below[anchor] = py
        return self._put(x, py)

    def _put(self, x: float, y: float) -> tuple[float, float]:
        self._cells.setdefault((int(x // BADGE), int(y // BADGE)), []).append((x, y))
        return x, y


# places around a badge's own, nearest first (ties: below before above, left before right)
_ROWS = 5
_NEAR = sorted(
    ((dx, dy) for dx in range(-3, 4) for dy in range(-_ROWS, _ROWS + 1)),
    key=lambda d: (d[0] ** 2 + d[1] ** 2, d[1] < 0, d[1], d[0]),
)


def collapsed_offsets(lay: Layout, expanded: Sequence[bool]) -> list[float]:
    """Each band's vertical shift when the bands marked False are collapsed."""
    y, out = MARGIN, []
    for band, open_ in zip(lay.bands, expanded, strict=True):
        out.append(y - band.y0)
        y += (band.height if open_ else COLLAPSED_H) + BAND_GAP
    return out


def _band_summary(view: View, band: Band) -> str:
    members = set(band.nodes)
    kinds = {k: sum(1 for i in band.nodes if view.nodes[i].kind == k) for k in ("agent", "tool")}
    edges = sum(1 for e in view.edges if e.u in members or e.v in members)
    fids = sorted({f for i in band.nodes for f in view.nodes[i].findings})
    worst = view.worst(fids)
    text = f"{kinds['agent']} agents, {kinds['tool']} tools, {edges} edges, {len(fids)} findings"
    badge = ""
    if worst is not None:
        shape, letter, fill, ink = BADGES[worst]
        badge = (
            f'<g transform="translate({_n(MARGIN + 14)} {_n(band.y0 + 30)})">'
            f'<path d="{shape}" fill="{fill}" stroke="#000"/>'
            f'<text fill="{ink}" font-weight="700" text-anchor="middle" '
            f'dominant-baseline="central">{letter}</text></g>'
        )
    return (
        f'<g class="bandsum">{badge}<text x="{_n(MARGIN + 32)}" y="{_n(band.y0 + 30)}" '
        f'dominant-baseline="central">{esc(text)} (Enter or click to expand)</text></g>'
    )


def draw(
    view: View,
    lay: Layout,
    *,
    standalone: bool = True,
    collapsed: bool = False,
    title: str | None = None,
) -> str:
    """The SVG element of the drawing (``collapsed``: grouped bands start closed)."""
    grouped = lay.grouped
    expanded = [not (collapsed and grouped)] * len(lay.bands)
    offsets = collapsed_offsets(lay, expanded)
    height = MARGIN + sum(
        (b.height if o else COLLAPSED_H) + BAND_GAP
        for b, o in zip(lay.bands, expanded, strict=True)
    )
    height = max(height - BAND_GAP + MARGIN, 2 * MARGIN)
    band_of = {i: b.idx for b in lay.bands for i in b.nodes}
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    parts = [
        f'{head}<svg xmlns="http://www.w3.org/2000/svg" class="dg" id="graph" role="img" '
        f'aria-label="{esc(title or view.title)}" width="{_n(lay.width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(lay.width)} {_n(height)}">'
    ]
    if standalone:
        parts.append(f"<title>{esc(title or view.title)}</title><style>{CSS}</style>")
    parts.append("<defs>")
    for kind, (colour, _, _) in EDGE_STYLE.items():
        tip = "M0 0L8 4L0 8Z" if kind != "denied" else "M0 0L8 4L0 8ZM9 0V8"
        parts.append(
            f'<marker id="m-{kind}" viewBox="0 0 10 8" refX="8" refY="4" markerWidth="9" '
            f'markerHeight="7" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="{tip}" fill="{colour}" stroke="{colour}"/></marker>'
        )
    parts.append('</defs><g id="vp">')
    cross = [e for e in view.edges if band_of[e.u] != band_of[e.v]]
    parts.append('<g id="xedges">')
    parts.extend(
        _edge(view, e).replace('class="edge', 'class="edge xe' + (" hid" if collapsed else ""), 1)
        for e in cross
    )
    parts.extend(_badges_for(view, cross, []))
    parts.append("</g>")
    for band, off, open_ in zip(lay.bands, offsets, expanded, strict=True):
        members = set(band.nodes)
        inner = [e for e in view.edges if e.u in members and band_of[e.v] == band.idx]
        cls = "band" if open_ else "band collapsed"
        parts.append(
            f'<g class="{cls}" id="b{band.idx}" data-b="{band.idx}" '
            f'transform="translate(0 {_n(off)})">'
        )
        if grouped:
            h = band.height if open_ else COLLAPSED_H
            label = f"{view.grouped_by} {band.name}"
            parts.append(
                f'<rect class="bandbg" x="{_n(MARGIN / 2)}" y="{_n(band.y0 - 4)}" '
                f'width="{_n(lay.width - MARGIN)}" height="{_n(h)}" rx="6"/>'
                f'<text class="bandlabel" tabindex="0" role="button" data-b="{band.idx}" '
                f'x="{_n(MARGIN)}" y="{_n(band.y0 + 10)}">{_OPEN[open_]} '
                f"{esc(label)}</text>"
            )
            parts.append(_band_summary(view, band))
        parts.append('<g class="bandbody"><g class="edges">')
        parts.extend(_edge(view, e) for e in inner)
        parts.append('</g><g class="nodes">')
        parts.extend(_node(view, i) for i in sorted(band.nodes))
        parts.append('</g><g class="badges">')
        parts.extend(_badges_for(view, inner, sorted(band.nodes)))
        parts.append("</g></g></g>")
    parts.append("</g></svg>\n")
    return "".join(parts)


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """The static SVG of ``graph`` with ``findings`` as badges (every band expanded)."""
    view = view_of(graph, findings)
    return draw(view, layout(view))
