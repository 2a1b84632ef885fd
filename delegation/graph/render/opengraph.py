"""BloodHound OpenGraph JSON: nodes and edges under ``graph``, kinds declared, paths walkable.

The payload is what BloodHound CE's file upload ingests (``metadata.source_kind``,
``graph.nodes`` with ``id``/``kinds``/``properties``, ``graph.edges`` with ``kind``,
``start``/``end`` matched by id). ``schema`` beside it declares the node and relationship
kinds (the extension definition, installed with ``PUT /api/v2/extensions``):
``DLG_DelegatesTo``, ``DLG_ActsFor`` and ``DLG_Invokes`` are traversable, so pathfinding
follows authority from a principal through its agents to a tool; ``DLG_Denied`` is not.
Properties are scalars or lists of strings, as OpenGraph allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..findings import Finding
from ..model import DelegationGraph
from ._view import view_of

__all__ = ["EDGE_KINDS", "NODE_KINDS", "render"]

SOURCE_KIND = "DLG"
NODE_KINDS = {"principal": "DLG_Principal", "agent": "DLG_Agent", "tool": "DLG_Tool"}
EDGE_KINDS = {
    "delegates": ("DLG_DelegatesTo", True, "issuer delegated capabilities to the subject"),
    "on_behalf": ("DLG_ActsFor", True, "a chain's root issuer acts for this principal"),
    "invokes": ("DLG_Invokes", True, "the agent called the tool and was allowed"),
    "denied": ("DLG_Denied", False, "the agent was refused (call or acceptance)"),
}
_ICONS = {
    "principal": ("user", "#FFF6E0"),
    "agent": ("robot", "#EAF3FB"),
    "tool": ("wrench", "#EAF7F1"),
}


def _props(facts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in facts.items():
        if v is None:
            continue
        if isinstance(v, list | tuple):
            out[k] = [str(x) for x in v]
        elif isinstance(v, str | int | float | bool):
            out[k] = v
        else:
            out[k] = str(v)
    return out


def schema() -> dict[str, Any]:
    """The extension definition declaring every node and relationship kind."""
    return {
        "schema": {
            "name": "delegation",
            "display_name": "Delegation tokens",
            "version": "1.0.0",
            "namespace": SOURCE_KIND,
        },
        "node_kinds": [
            {
                "name": NODE_KINDS[k],
                "display_name": k.capitalize(),
                "description": f"a {k} of the delegation graph",
                "is_display_kind": True,
                "icon": _ICONS[k][0],
                "color": _ICONS[k][1],
            }
            for k in ("principal", "agent", "tool")
        ],
        "relationship_kinds": [
            {"name": name, "description": text, "is_traversable": walk}
            for name, walk, text in EDGE_KINDS.values()
        ],
    }


def render(graph: DelegationGraph, findings: Sequence[Finding] = ()) -> str:
    """OpenGraph JSON text of ``graph`` (findings as properties of what they involve)."""
    view = view_of(graph, findings)
    nodes = []
    for n in view.nodes:
        props = _props(n.facts)
        props.update(name=n.name, displayname=n.label, objectid=n.id, kind=n.kind)
        _findings(view, n.findings, props)
        nodes.append({"id": n.id, "kinds": [NODE_KINDS[n.kind]], "properties": props})
    edges = []
    for e in view.edges:
        props = _props(e.facts)
        props.update(key=e.key)
        if e.task is not None:
            props["task"] = e.task
        _findings(view, e.findings, props)
        edges.append(
            {
                "kind": EDGE_KINDS[e.kind][0],
                "start": {"value": view.nodes[e.u].id, "match_by": "id"},
                "end": {"value": view.nodes[e.v].id, "match_by": "id"},
                "properties": props,
            }
        )
    doc = {
        "metadata": {"source_kind": SOURCE_KIND},
        "graph": {"nodes": nodes, "edges": edges},
        "schema": schema(),
    }
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _findings(view: Any, fids: list[int], props: dict[str, Any]) -> None:
    if fids:
        props["severity"] = view.worst(fids)
        props["findings"] = sorted({view.findings[i].finding.fingerprint for i in fids})
