"""Layered layout computed in Python: columns by delegation depth, barycenter ordering.

Principals stand in column 0, agents in column 1 + the shortest delegation depth at which
they receive a token (a root issuer, which receives none, in column 1), tools in one last
column. Within a column, nodes are ordered by barycenter sweeps (Sugiyama's heuristic:
each node moves to the mean position of its neighbours in the columns already placed,
alternately left to right and right to left), which removes most crossings of a task's
tree. Above ``GROUP_THRESHOLD`` nodes the drawing is split into bands (one per task, or
per trust domain when there is one task), each laid out on its own and stacked, so that
the HTML can collapse and expand them. Everything is sorted: same view, same layout.

Complexity: O(passes x E log V).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ._view import View

__all__ = ["BADGE", "GROUP_THRESHOLD", "Band", "Layout", "crossings", "layout"]

GROUP_THRESHOLD = 300
COL_W = 185.0
ROW_H = 46.0
NODE_W = 140.0
NODE_H = 30.0
BAND_HEAD = 30.0
BAND_GAP = 24.0
COLLAPSED_H = 44.0
MARGIN = 24.0
PASSES = 6
BADGE = 24.0  # a finding badge's box; an edge's badges stand two abreast in its gap


@dataclass
class Band:
    """One group of the drawing: its name, nodes, and where it stands when expanded."""

    idx: int
    name: str
    nodes: list[int]
    y0: float
    height: float


@dataclass
class Layout:
    bands: list[Band]
    width: float
    height: float
    columns: int

    @property
    def grouped(self) -> bool:
        return len(self.bands) > 1


def _group_key(view: View) -> str | None:
    if len(view.nodes) <= GROUP_THRESHOLD:
        return None
    return "task" if len(view.tasks) > 1 else "domain"


def _assign_groups(view: View, by: str | None) -> None:
    if by is None:
        for n in view.nodes:
            n.group = ""
        return
    incoming: dict[int, list[tuple[int, str]]] = defaultdict(list)
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    for e in view.edges:
        if by == "task" and e.kind == "delegates" and e.task is not None:
            incoming[e.v].append((int(e.facts.get("depth", 1)), e.task))
            votes[e.u][e.task] += 1
        elif by == "task" and e.task is not None:
            votes[e.u][e.task] += 1
            votes[e.v][e.task] += 1
    for n in view.nodes:
        if n.kind == "agent" and by == "domain":
            n.group = str(n.facts.get("domain", ""))
        elif n.kind == "agent" and incoming.get(n.idx):
            n.group = min(incoming[n.idx])[1]
        elif n.kind == "agent" and votes.get(n.idx):
            n.group = _top(votes[n.idx])
        elif n.kind == "agent":
            n.group = "(none)"
    near: dict[int, Counter[str]] = defaultdict(Counter)
    for e in view.edges:  # principals and tools join the band of their agents
        a, b = view.nodes[e.u], view.nodes[e.v]
        if a.kind != "agent" and b.kind == "agent":
            near[a.idx][b.group] += 1
        if b.kind != "agent" and a.kind == "agent":
            near[b.idx][a.group] += 1
    for n in view.nodes:
        if n.kind != "agent":
            n.group = _top(near[n.idx]) if near.get(n.idx) else "(none)"


def _top(counter: Counter[str]) -> str:
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _assign_columns(view: View) -> int:
    depth: dict[int, int] = {}
    for e in view.edges:
        if e.kind == "delegates":
            d = int(e.facts.get("depth", 1))
            depth[e.v] = min(depth.get(e.v, d), d)
    top = 1
    for n in view.nodes:
        if n.kind == "principal":
            n.col = 0
        elif n.kind == "agent":
            n.col = 1 + depth.get(n.idx, 0)
            top = max(top, n.col)
    for n in view.nodes:
        if n.kind == "tool":
            n.col = top + 1
    return top + 2


def _order_band(view: View, members: list[int], columns: int) -> list[list[int]]:
    """Order each column of a band by barycenter sweeps; returns the columns."""
    member = set(members)
    cols: list[list[int]] = [[] for _ in range(columns)]
    for i in sorted(members, key=lambda i: (view.nodes[i].name, i)):
        cols[view.nodes[i].col].append(i)
    neighbours: dict[int, Counter[int]] = defaultdict(Counter)
    for e in view.edges:
        if e.u in member and e.v in member and e.u != e.v:
            neighbours[e.u][e.v] += 1
            neighbours[e.v][e.u] += 1
    tallest = max((len(c) for c in cols), default=1)
    column = {i: view.nodes[i].col for i in members}
    pos: dict[int, float] = {}

    def place(c: int) -> None:
        off = (tallest - len(cols[c])) / 2
        for k, i in enumerate(cols[c]):
            pos[i] = off + k

    for c in range(columns):
        place(c)
    for p in range(PASSES):
        forward = p % 2 == 0
        order = range(1, columns) if forward else range(columns - 2, -1, -1)
        for c in order:

            def bary(i: int, forward: bool = forward) -> tuple[float, int]:
                mine = column[i]
                side = [
                    (pos[j], w)
                    for j, w in neighbours[i].items()
                    if column[j] != mine and (column[j] < mine) == forward
                ]
                if not side:
                    return (pos[i], i)
                total = sum(w for _, w in side)
                return (sum(y * w for y, w in side) / total, i)

            cols[c].sort(key=bary)
            place(c)
    return cols


def layout(view: View) -> Layout:
    """Place every node of ``view`` (sets ``col``, ``group``, ``x``, ``y``)."""
    by = _group_key(view)
    view.grouped_by = by
    _assign_groups(view, by)
    columns = _assign_columns(view)
    groups: dict[str, list[int]] = defaultdict(list)
    for n in view.nodes:
        groups[n.group].append(n.idx)
    xs = _column_x(view, columns)
    bands: list[Band] = []
    y = MARGIN
    for k, name in enumerate(sorted(groups)):
        cols = _order_band(view, groups[name], columns)
        tallest = max(len(c) for c in cols)
        head = BAND_HEAD if by is not None else 0.0
        height = head + tallest * ROW_H
        for c, col in enumerate(cols):
            off = (tallest - len(col)) * ROW_H / 2
            for r, i in enumerate(col):
                view.nodes[i].x = xs[c]
                view.nodes[i].y = y + head + off + r * ROW_H + ROW_H / 2
        bands.append(Band(k, name, groups[name], y, height))
        y += height + BAND_GAP
    view.groups = [b.name for b in bands]
    width = xs[-1] + NODE_W / 2 + MARGIN + (BADGE * 3 if _loops_out(view) else 0.0)
    return Layout(bands, width, max(y - BAND_GAP + MARGIN, 2 * MARGIN), columns)


def _gap_of(view: View, u: int, v: int) -> int:
    """The column whose right-hand gap holds the middle of an edge ``u -> v`` (and so its
    badges): the gap between the columns of a forward edge, else right of the two, where
    an edge to the same column or backwards loops out (as ``svg._midpoint`` draws it)."""
    a, b = view.nodes[u].col, view.nodes[v].col
    return a if b > a else max(a, b)


def _column_x(view: View, columns: int) -> list[float]:
    """Each column's centre: a gap that holds badges widens to fit up to five abreast."""
    badges: Counter[int] = Counter()
    for f in view.findings:
        if f.anchor_edge is not None:
            e = view.edges[f.anchor_edge]
            badges[_gap_of(view, e.u, e.v)] += 1
    need = [COL_W - NODE_W] * columns
    for gap, count in badges.items():
        need[gap] = max(need[gap], BADGE * min(count, 5) + 2 * BADGE)
    xs = [MARGIN + NODE_W / 2]
    for c in range(1, columns):
        xs.append(xs[-1] + NODE_W + need[c - 1])
    return xs


def _loops_out(view: View) -> bool:
    """Whether an edge loops out right of the last column (room for it and its badges)."""
    last = max((n.col for n in view.nodes), default=0)
    return any(_gap_of(view, e.u, e.v) == last for e in view.edges)


def crossings(view: View) -> int:
    """Crossings between edges joining adjacent columns (a layout quality measure)."""
    spans = [
        (view.nodes[e.u], view.nodes[e.v])
        for e in view.edges
        if abs(view.nodes[e.u].col - view.nodes[e.v].col) == 1
    ]
    count = 0
    by_col: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for a, b in spans:
        left, right = (a, b) if a.col < b.col else (b, a)
        by_col[left.col].append((left.y, right.y))
    for pairs in by_col.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count
