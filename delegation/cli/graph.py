"""``delegation graph analyze|render|diff``: find hidden privilege propagation, see it,
and what grew.

``analyze`` reads audit logs and chain files (recognised by content; ``-`` is stdin),
builds the delegation graph, runs the detectors and reports (text, JSON or SARIF). It
gates pipelines: exit 1 when a finding at or above ``--fail-on`` (default ``high``)
exists, 0 when none, 2 on bad input. ``diff OLD NEW`` compares two inputs or snapshots
saved by ``analyze --save``. ``render`` draws the graph with its findings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from delegation.errors import InvalidInput

from ._common import EXIT_DENIED, EXIT_OK, Parser, Subcommands, console, dump, emit, wants_json
from ._values import parse_time

__all__ = ["add_parser"]

_FAIL_ON = ("critical", "high", "medium", "low", "info", "none")


def _graph_inputs(p: Parser) -> None:
    p.add_argument(
        "--registry",
        metavar="FILE",
        help="registry file: roles, baselines, trust domains, tool labels, root keys "
        "(default: none; baselines and root signatures are then unknown)",
    )
    p.add_argument("--task", metavar="T", help="keep one task's facts only (default: all)")
    p.add_argument(
        "--since",
        metavar="TIME",
        help="keep facts from this time on (POSIX seconds or ISO-8601; default: all)",
    )
    p.add_argument(
        "--until",
        metavar="TIME",
        help="keep facts up to this time (POSIX seconds or ISO-8601; default: all)",
    )


def _build(ns: argparse.Namespace, inputs: list[str]) -> Any:
    from delegation.graph import Window, load
    from delegation.registry import Registry

    registry = Registry.load(ns.registry) if ns.registry is not None else None
    window = Window(
        task=ns.task,
        since=parse_time(ns.since) if ns.since is not None else None,
        until=parse_time(ns.until) if ns.until is not None else None,
    )
    if sum(1 for name in inputs if name == "-") > 1:
        raise InvalidInput("stdin ('-') can be given once")
    return load(inputs, registry=registry, window=window)


def _rules(text: str | None) -> list[str] | None:
    if text is None:
        return None
    rules = [r.strip().upper() for r in text.split(",") if r.strip()]
    if not rules:
        raise InvalidInput("--rules needs at least one rule id (DLG001,DLG002,...)")
    return rules


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror}") from None


def cmd_analyze(ns: argparse.Namespace) -> int:
    from delegation.graph import Options
    from delegation.graph.diff import snapshot
    from delegation.graph.findings import load_options, severity_at_least
    from delegation.graph.report import render_text, summary, to_json, to_sarif

    rules = _rules(ns.rules)
    options = load_options(ns.config) if ns.config is not None else Options()
    graph = _build(ns, ns.inputs)
    findings = graph.findings(rules=rules, options=options)
    fmt = "json" if wants_json(ns) and ns.format == "text" and ns.out is None else ns.format
    if ns.save is not None:
        _write(ns.save, dump(snapshot(graph, findings)) + "\n")
    gate = ns.fail_on != "none" and any(severity_at_least(f.severity, ns.fail_on) for f in findings)
    if fmt == "text" and ns.out is None:
        render_text(graph, findings, console(), rules)
    else:
        if fmt == "sarif":
            body = to_sarif(graph, findings, rules)
        elif fmt == "json":
            body = to_json(graph, findings, rules)
        else:
            body = None
        if ns.out is None:
            print(dump(body or {}))
        else:
            if body is None:
                from io import StringIO

                from rich.console import Console

                buffer = StringIO()
                render_text(graph, findings, Console(file=buffer, width=120), rules)
                _write(ns.out, buffer.getvalue())
            else:
                _write(ns.out, json.dumps(body, indent=2, ensure_ascii=False) + "\n")
            s = summary(graph, findings, rules)
            if wants_json(ns):
                print(dump({"ok": not gate, "out": ns.out, "summary": s}))
            else:
                print(f"{len(findings)} findings written to {ns.out} ({ns.format})")
    return EXIT_DENIED if gate else EXIT_OK


def cmd_render(ns: argparse.Namespace) -> int:
    from delegation.graph.render import format_for, render

    fmt = format_for(ns.out, ns.format)  # before any input is read: a bad --out fails fast
    graph = _build(ns, ns.inputs)
    findings = graph.findings()
    text = render(graph, findings, fmt)
    _write(ns.out, text)
    payload = {
        "ok": True,
        "out": ns.out,
        "format": fmt,
        "bytes": len(text.encode("utf-8")),
        "nodes": graph.graph.number_of_nodes(),
        "edges": graph.graph.number_of_edges(),
        "findings": len(findings),
    }
    emit(
        ns,
        payload,
        f"{ns.out}: {fmt}, {payload['nodes']} nodes, {payload['edges']} edges, "
        f"{len(findings)} findings",
    )
    return EXIT_OK


def _side(ns: argparse.Namespace, name: str) -> dict[str, Any]:
    from delegation.graph.diff import is_snapshot, load_snapshot, snapshot

    if is_snapshot(name):
        return load_snapshot(name)
    graph = _build(ns, [name])
    return snapshot(graph, graph.findings())


def cmd_diff(ns: argparse.Namespace) -> int:
    from delegation.graph.diff import diff

    result = diff(_side(ns, ns.old), _side(ns, ns.new))
    if wants_json(ns) or ns.format == "json":
        print(dump({"ok": not (ns.fail_on_growth and result["grew"]), **result}))
    else:
        _print_diff(result)
    return EXIT_DENIED if ns.fail_on_growth and result["grew"] else EXIT_OK


def _print_diff(result: dict[str, Any]) -> None:
    from rich.text import Text

    from delegation.graph.report import printable

    out = console()
    if not result["grew"] and not result["resolved_findings"]:
        out.print(Text("nothing grew"))
        return
    for agent in result["new_agents"]:
        out.print(Text(f"+ new agent {printable(agent)}", style="yellow"))
    for agent, caps in result["grown_agents"].items():
        out.print(Text(f"+ {printable(agent)} now holds {printable(', '.join(caps))}", "yellow"))
    for tool, agents in result["new_paths_to_labelled_tools"].items():
        who = printable(", ".join(agents))
        out.print(Text(f"+ labelled tool {printable(tool)} now reachable by {who}", "yellow"))
    for f in result["new_findings"]:
        line = f"+ {f['severity']} {f['rule']}: {printable(f['message'])}"
        out.print(Text(line, style="red"))
    for f in result["resolved_findings"]:
        out.print(Text(f"- resolved {f['rule']}: {printable(f['message'])}", style="green"))


def add_parser(subparsers: Subcommands) -> None:
    group = subparsers.group("graph", "analyze delegation graphs from audit logs and chains")
    p = group.command(
        "analyze",
        cmd_analyze,
        "find hidden privilege propagation (rules DLG001-DLG018); exit 1 on findings at "
        "or above --fail-on",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="audit logs (JSON lines) and/or chain files (one ~-joined chain per line); - is stdin",
    )
    _graph_inputs(p)
    p.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="report format (default: text; --json alone means json)",
    )
    p.add_argument("--out", metavar="FILE", help="write the report here (default: stdout)")
    p.add_argument(
        "--rules", metavar="DLG001,...", help="run only these rules (default: all eighteen)"
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="detector options, JSON or YAML (thresholds, sensitive labels, toxic sets, "
        "allowed crossings; default: built-in)",
    )
    p.add_argument(
        "--fail-on",
        choices=_FAIL_ON,
        default="high",
        help="exit 1 when a finding at or above this severity exists (default: high; "
        "none never fails)",
    )
    p.add_argument(
        "--save",
        metavar="SNAPSHOT",
        help="also save a snapshot for 'graph diff' (default: none)",
    )
    p = group.command(
        "render",
        cmd_render,
        "draw the graph: one self-contained interactive HTML file, or SVG, DOT, Mermaid, "
        "GraphML, GEXF, Cytoscape, node-link or BloodHound OpenGraph JSON",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="audit logs and/or chain files, as for analyze; - is stdin",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file; its suffix picks the format (.html .svg .dot .mmd .graphml .gexf .json)",
    )
    p.add_argument(
        "--format",
        metavar="F",
        help="html, svg, dot, mermaid, graphml, gexf, cytoscape, nodelink or opengraph, "
        "whatever the suffix (default: from --out; cytoscape and opengraph only this way)",
    )
    _graph_inputs(p)
    p = group.command(
        "diff",
        cmd_diff,
        "what grew between two inputs or snapshots (agents, capabilities, "
        "paths to labelled tools, findings)",
    )
    p.add_argument("old", metavar="OLD", help="an audit log, chain file or saved snapshot")
    p.add_argument("new", metavar="NEW", help="an audit log, chain file or saved snapshot")
    p.add_argument("--registry", metavar="FILE", help="registry file for inputs (default: none)")
    p.set_defaults(task=None, since=None, until=None)
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    p.add_argument(
        "--fail-on-growth",
        action="store_true",
        help="exit 1 when anything grew (default: exit 0 either way)",
    )
