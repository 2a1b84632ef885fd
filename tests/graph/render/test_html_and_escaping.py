"""The HTML page: no network, escaped hostile strings in every format, layout properties."""

from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from render_scenes import HOSTILE, hostile, planted, synthetic

from delegation.graph import DelegationGraph, Finding
from delegation.graph.render import render
from delegation.graph.render._layout import (
    BADGE,
    GROUP_THRESHOLD,
    NODE_H,
    NODE_W,
    crossings,
    layout,
)
from delegation.graph.render._view import view_of
from delegation.graph.render.mermaid import label

Scene = tuple[DelegationGraph, list[Finding]]


def test_page_is_self_contained(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    page = render(graph, findings, "html")
    [csp] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert page.count("<script") == 2  # our JSON data and our script, nothing else
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    assert "<title>Delegation graph, 2027-01-15T08:00:00Z" in page


def test_hostile_strings_are_escaped_in_html_and_svg() -> None:
    graph, findings = hostile()
    page = render(graph, findings, "html")
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page and "<!-- x" not in page and "<b>title</b>" not in page
    data = page.split('<script type="application/json" id="data">', 1)[1].split("</script>")[0]
    decoded = json.loads(data)
    assert {n["n"] for n in decoded["N"]} >= set(HOSTILE)
    svg = render(graph, findings, "svg")
    root = ET.fromstring(svg.split("\n", 1)[1])  # noqa: S314 (our own output, under test)
    titles = {t.text for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert HOSTILE[0] in titles and HOSTILE[3] in titles
    assert not root.findall(".//{http://www.w3.org/2000/svg}script")


def test_hostile_strings_cannot_break_dot_or_mermaid() -> None:
    graph, findings = hostile()
    dot = render(graph, findings, "dot")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import pydot

        [parsed] = pydot.graph_from_dot_data(dot)
    nodes = [n for n in parsed.get_nodes() if n.get_name() not in ("graph", "node", "edge")]
    assert len(nodes) == graph.graph.number_of_nodes()
    assert len(parsed.get_edges()) == graph.graph.number_of_edges()
    tips = {n.get("tooltip") for n in nodes}
    assert '"spiffe://evil.example/a\\"b\'c\\\\N\\\\G"' in tips
    mmd = render(graph, findings, "mermaid")
    body = [line for line in mmd.splitlines()[1:] if not line.lstrip().startswith(("%%", "class"))]
    for line in body:
        assert re.fullmatch(
            r'  (n\d+(\(\["|\["|\{\{")[A-Za-z0-9 _.,:/@*+=#;\-]*("\]\)|"\]|"\}\})'
            r'|n\d+ (-->|-\.->|==>)\|"[A-Za-z0-9 _.,:/@*+=#;\-]*"\| n\d+'
            r"|linkStyle \d+ .*)",
            line,
        ), line
    assert label("a --> b") == "a --#62; b"


def test_layout_is_layered_with_roots_left(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    view = view_of(graph, findings)
    layout(view)
    col = {n.name: n.col for n in view.nodes}
    assert col["user:alice"] == 0
    assert col["spiffe://acme.example/orchestrator"] == 1
    assert col["spiffe://acme.example/agent/a0"] == 2 < col["spiffe://acme.example/agent/a1"]
    assert col["crm.read"] == max(col.values())
    xs = {n.name: n.x for n in view.nodes}
    assert xs["spiffe://acme.example/orchestrator"] < xs["spiffe://acme.example/agent/a2"]


def test_barycenter_sweeps_remove_crossings() -> None:
    graph = synthetic(400, tasks=1, agents=1000)
    view = view_of(graph)
    layout(view)
    after = crossings(view)
    for n in view.nodes:  # the order before any sweep: by name within each column
        n.y = 0.0
    by_col: dict[int, list[int]] = {}
    for n in sorted(view.nodes, key=lambda n: n.name):
        by_col.setdefault(n.col, []).append(n.idx)
    for members in by_col.values():
        for k, i in enumerate(members):
            view.nodes[i].y = float(k)
    assert after < crossings(view) / 2


def test_big_graphs_are_grouped() -> None:
    graph = synthetic(5000)
    assert graph.graph.number_of_edges() >= 5000 and graph.graph.number_of_nodes() > GROUP_THRESHOLD
    view = view_of(graph)
    lay = layout(view)
    assert lay.grouped and view.grouped_by == "task" and len(lay.bands) == 40
    page = render(graph, [], "html")
    assert page.count('class="band collapsed"') == 40


def _badges_and_boxes(graph: DelegationGraph, findings: list[Finding]) -> tuple[list, list]:
    """Badge centres and node boxes of the static SVG (one band: no band offsets)."""
    svg = render(graph, findings, "svg")
    badges = [
        (float(x), float(y))
        for x, y in re.findall(
            r'class="badge[^"]*"[^>]*transform="translate\(([-\d.]+) ([-\d.]+)\)', svg
        )
    ]
    view = view_of(graph, findings)
    lay = layout(view)
    assert not lay.grouped
    boxes = [(n.x, n.y) for n in view.nodes]
    return badges, boxes


@pytest.mark.parametrize("scene", ["planted", "synthetic"])
def test_badges_neither_overlap_nor_cover_nodes(scene: str, tmp_path: Path) -> None:
    """Many findings on the edges of one column gap (the demo's shape): each badge has a
    place of its own, and none covers a node's box, so every label stays readable."""
    graph = planted(tmp_path)[1] if scene == "planted" else synthetic(150, tasks=2, agents=40)
    findings = graph.findings()
    badges, boxes = _badges_and_boxes(graph, findings)
    assert len(badges) >= 10
    near = BADGE - 1
    for i, (x, y) in enumerate(badges):
        for ox, oy in badges[i + 1 :]:
            assert abs(x - ox) >= near or abs(y - oy) >= near, (x, y, ox, oy)
        for bx, by in boxes:
            inside = abs(x - bx) < NODE_W / 2 - 6 and abs(y - by) < NODE_H / 2 - 6
            assert not inside, ("badge on a node", x, y, bx, by)
