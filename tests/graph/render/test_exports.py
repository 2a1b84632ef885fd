"""Exports read back by other tools' readers: nodes, edges and key attributes survive."""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import networkx as nx
import pytest
from jsonschema import Draft202012Validator

from delegation import InvalidInput
from delegation.graph import DelegationGraph, Finding
from delegation.graph.render import FORMATS, format_for, render
from delegation.graph.render import mermaid as mermaid_mod

Scene = tuple[DelegationGraph, list[Finding]]


def _edge_set(graph: DelegationGraph) -> set[tuple[str, str, str]]:
    return {(u, v, str(k)) for u, v, k in graph.graph.edges(keys=True)}


def test_graphml_round_trips(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    back = nx.read_graphml(io.StringIO(render(graph, findings, "graphml")), force_multigraph=True)
    assert set(back.nodes) == set(graph.graph.nodes)
    assert {(u, v) for u, v, _ in back.edges(keys=True)} == {(u, v) for u, v, _ in _edge_set(graph)}
    assert back.number_of_edges() == graph.graph.number_of_edges()
    delegates = [d for _, _, d in back.edges(data=True) if d["kind"] == "delegates"]
    assert {d["jti"] for d in delegates} == {h.jti for h in graph.tokens.values()}
    bad = [d for d in delegates if d.get("severity") == "critical"]
    assert len(bad) == 3 and {d["rules"] for d in bad} == {"DLG001"}  # the witness path
    assert sum("crm.*:**" in d["caps"] for d in bad) == 1
    for _, data in back.nodes(data=True):
        assert all(isinstance(v, str | int | float | bool) for v in data.values())
    agent = back.nodes["agent|spiffe://acme.example/agent/a0"]
    assert agent["kind"] == "agent" and agent["domain"] == "acme.example"


def test_gexf_round_trips_with_timeline(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    text = render(graph, findings, "gexf")
    assert 'mode="dynamic"' in text and 'timeformat="double"' in text
    back = nx.read_gexf(io.StringIO(text))
    assert set(back.nodes) == set(graph.graph.nodes)
    assert back.number_of_edges() == graph.graph.number_of_edges()
    tokens = {d["jti"]: d for _, _, d in back.edges(data=True) if d["kind"] == "delegates"}
    for hop in graph.tokens.values():
        d = tokens[hop.jti]
        assert (float(d["start"]), float(d["end"])) == (hop.iat, hop.exp)


def test_node_link_round_trips(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    data = json.loads(render(graph, findings, "nodelink"))
    back = nx.node_link_graph(data, edges="edges")
    assert back.is_multigraph() and back.is_directed()
    assert set(back.nodes) == set(graph.graph.nodes)
    assert _edge_set(graph) == {(u, v, str(k)) for u, v, k in back.edges(keys=True)}
    [f] = data["graph"]["findings"]
    assert f["rule"] == "DLG001" and f["severity"] == "critical" and len(f["edges"]) == 3
    hop = next(iter(graph.tokens.values()))
    u, v = f"agent|{hop.iss}", f"agent|{hop.sub}"
    assert back.edges[u, v, hop.token_id]["task"] == hop.task


def test_dot_parses_with_findings_bold(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    text = render(graph, findings, "dot")
    with warnings.catch_warnings():  # pydot's parser still calls pyparsing's old names
        warnings.simplefilter("ignore", DeprecationWarning)
        import pydot

        [dot] = pydot.graph_from_dot_data(text)
    nodes = [n for n in dot.get_nodes() if n.get_name() not in ("graph", "node", "edge")]
    assert len(nodes) == graph.graph.number_of_nodes()
    edges = dot.get_edges()
    assert len(edges) == graph.graph.number_of_edges()
    bold = [e for e in edges if e.get("style") == "bold"]
    assert len(bold) == 3  # the witness path: orchestrator -> a0 -> a1 -> a2
    assert all(e.get("color") == '"#D55E00"' for e in bold)
    labels = {n.get("tooltip").strip('"') for n in nodes}
    assert {f"spiffe://acme.example/agent/a{i}" for i in range(6)} <= labels


def _obj(required: list[str], properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A JSON Schema object with these required members and member schemas."""
    return {"type": "object", "required": required, "properties": properties, **more}


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_STR = {"type": "string"}
_KIND = {"type": "string", "pattern": "^[A-Za-z0-9_]+$"}

# Written from the Cytoscape.js "elements JSON" docs: a node has data.id; an edge has
# data.id, data.source and data.target naming nodes.
CYTOSCAPE_SCHEMA = _obj(
    ["data", "directed", "multigraph", "elements"],
    {
        "data": {"type": "object"},
        "elements": _obj(
            ["nodes", "edges"],
            {
                "nodes": _list_of(
                    _obj(["data"], {"data": _obj(["id", "name", "kind"], {"id": _STR})})
                ),
                "edges": _list_of(
                    _obj(
                        ["data"],
                        {
                            "data": _obj(
                                ["id", "source", "target", "kind"],
                                {"id": _STR, "source": _STR, "target": _STR},
                            )
                        },
                    )
                ),
            },
        ),
    },
)

# Written from BloodHound's OpenGraph schema docs: metadata.source_kind; nodes with id,
# kinds (1-3 strings) and primitive (or primitive-array) properties; edges with kind and
# start/end node references matched by id or name.
_PRIMITIVE = {"type": ["string", "number", "boolean"]}
OPENGRAPH_SCHEMA = _obj(
    ["graph"],
    {
        "metadata": {"type": "object", "properties": {"source_kind": _KIND}},
        "graph": _obj(
            ["nodes", "edges"],
            {
                "nodes": _list_of(
                    _obj(
                        ["id", "kinds"],
                        {
                            "id": {"type": "string", "minLength": 1},
                            "kinds": {"type": "array", "minItems": 1, "maxItems": 3, "items": _STR},
                            "properties": {
                                "type": "object",
                                "additionalProperties": {
                                    "anyOf": [_PRIMITIVE, _list_of(_PRIMITIVE)]
                                },
                            },
                        },
                        additionalProperties=False,
                    )
                ),
                "edges": _list_of(
                    _obj(
                        ["kind", "start", "end"],
                        {
                            "kind": _KIND,
                            "start": {"$ref": "#/$defs/ref"},
                            "end": {"$ref": "#/$defs/ref"},
                            "properties": {"type": "object"},
                        },
                        additionalProperties=False,
                    )
                ),
            },
        ),
    },
    **{"$defs": {"ref": _obj(["value"], {"value": _STR, "match_by": {"enum": ["id", "name"]}})}},
)


def test_cytoscape_matches_schema_and_round_trips(scene_graph: Scene) -> None:
    graph, findings = scene_graph
    data = json.loads(render(graph, findings, "cytoscape"))
    Draft202012Validator(CYTOSCAPE_SCHEMA).validate(data)
    ids = {n["data"]["id"] for n in data["elements"]["nodes"]}
    assert ids == set(graph.graph.nodes)
    edges = data["elements"]["edges"]
    assert len({e["data"]["id"] for e in edges}) == len(edges) == graph.graph.number_of_edges()
    assert all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in edges)
    assert {(e["data"]["source"], e["data"]["target"], e["data"]["key"]) for e in edges} == (
        _edge_set(graph)
    )


def test_opengraph_matches_schema_kinds_declared_delegation_traversable(
    scene_graph: Scene,
) -> None:
    graph, findings = scene_graph
    data = json.loads(render(graph, findings, "opengraph"))
    Draft202012Validator(OPENGRAPH_SCHEMA).validate(data)
    ids = {n["id"] for n in data["graph"]["nodes"]}
    assert ids == set(graph.graph.nodes)
    schema = data["schema"]
    declared_nodes = {k["name"] for k in schema["node_kinds"]}
    declared_edges = {k["name"]: k["is_traversable"] for k in schema["relationship_kinds"]}
    assert {k for n in data["graph"]["nodes"] for k in n["kinds"]} <= declared_nodes
    assert {e["kind"] for e in data["graph"]["edges"]} <= set(declared_edges)
    assert declared_edges["DLG_DelegatesTo"] is True and declared_edges["DLG_Denied"] is False
    assert all(k.startswith(schema["schema"]["namespace"] + "_") for k in declared_edges)
    delegations = [e for e in data["graph"]["edges"] if e["kind"] == "DLG_DelegatesTo"]
    assert len(delegations) == len(graph.tokens)
    assert all(e["start"]["value"] in ids and e["end"]["value"] in ids for e in delegations)
    assert sum(1 for e in delegations if e["properties"].get("severity") == "critical") == 3


def test_mermaid_renders_and_caps(scene_graph: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    graph, findings = scene_graph
    text = render(graph, findings, "mermaid")
    assert text.startswith("flowchart LR\n")
    assert text.count(" ==>|") == 3  # the witness path, thick
    monkeypatch.setattr(mermaid_mod, "MAX_EDGES", 3)
    with pytest.raises(InvalidInput, match="capped at 3") as err:
        render(graph, findings, "mermaid")
    assert err.value.code == "invalid_input"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_deterministic(scene_graph: Scene, fmt: str) -> None:
    graph, findings = scene_graph
    first = render(graph, findings, fmt)
    assert first == render(graph, list(reversed(findings)), fmt)
    assert first.encode() == render(graph, findings, fmt).encode()


@pytest.mark.parametrize(
    ("path", "fmt", "expected"),
    [
        ("g.html", None, "html"),
        ("g.SVG", None, "svg"),
        ("g.dot", None, "dot"),
        ("g.mmd", None, "mermaid"),
        ("g.graphml", None, "graphml"),
        ("g.gexf", None, "gexf"),
        ("g.json", None, "nodelink"),
        ("g.json", "cytoscape", "cytoscape"),
        ("g.json", "opengraph", "opengraph"),
        (None, "dot", "dot"),
    ],
)
def test_format_for(path: str | None, fmt: str | None, expected: str) -> None:
    assert format_for(path, fmt) == expected


@pytest.mark.parametrize(("path", "fmt"), [("g.png", None), ("g", None), ("g.html", "pdf")])
def test_unknown_format_is_a_coded_error(path: str, fmt: str | None) -> None:
    with pytest.raises(InvalidInput) as err:
        format_for(path, fmt)
    assert err.value.code == "invalid_input" and err.value.claim == "format"
    with pytest.raises(InvalidInput):
        render(DelegationGraph(), [], fmt or "png")


def test_empty_graph_renders_everywhere() -> None:
    for fmt in FORMATS:
        assert render(DelegationGraph(), [], fmt)
