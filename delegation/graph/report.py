"""Reports of an analysis: a summary, JSON, SARIF 2.1.0, and text for a terminal (rich).

JSON schema (``graph analyze --format json``, one object)::

    {"findings": [{"rule", "severity", "title", "message",
                   "path": [{"kind", "from", "to", "token"?}],
                   "evidence": {...}, "locations": [{"source", "line"}],
                   "fingerprint"}],
     "summary": {"findings", "by_severity", "by_rule", "records", "tokens", "agents",
                 "tools", "invocations", "skipped", "skipped_reasons": [...],
                 "span": [first, last] | null, "rules_run"}}

Every string in a report that came from a token (agent ids, purposes, tool names) is
shown with control characters escaped: an input cannot write to the analyst's terminal.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .. import __version__
from .._text import printable
from .detectors import RULES
from .findings import SECURITY_SEVERITY, SEVERITIES, Finding, Location

if TYPE_CHECKING:
    from rich.console import Console

    from .model import DelegationGraph

__all__ = ["SARIF_SCHEMA", "printable", "render_text", "summary", "to_json", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_MAX_REASONS = 10


def summary(
    graph: DelegationGraph, findings: Sequence[Finding], rules: Iterable[str] | None = None
) -> dict[str, Any]:
    """Counts an analyst reads first: findings by severity and rule, what was read, what not."""
    by_severity = Counter(f.severity for f in findings)
    reasons = Counter(reason for _, reason in graph.skipped)
    times = [h.iat for h in graph.tokens.values()] + [i.ts for i in graph.invocations]
    agents = sum(1 for _, d in graph.graph.nodes(data=True) if d["kind"] == "agent")
    tools = sum(1 for _, d in graph.graph.nodes(data=True) if d["kind"] == "tool")
    return {
        "findings": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "records": graph.records,
        "tokens": len(graph.tokens),
        "agents": agents,
        "tools": tools,
        "invocations": len(graph.invocations),
        "skipped": len(graph.skipped),
        "skipped_reasons": [
            {"reason": r, "lines": n} for r, n in reasons.most_common(_MAX_REASONS)
        ],
        "span": [min(times), max(times)] if times else None,
        "rules_run": sorted(rules) if rules is not None else sorted(RULES),
    }


def to_json(
    graph: DelegationGraph, findings: Sequence[Finding], rules: Iterable[str] | None = None
) -> dict[str, Any]:
    """The JSON report: ``{"findings": [...], "summary": {...}}``."""
    return {
        "findings": [f.to_dict() for f in findings],
        "summary": summary(graph, findings, rules),
    }


# --- SARIF --- #


def _uri(source: str) -> str:
    if source.startswith("<"):  # in-memory input: name it, relative, without brackets
        return source.strip("<>") or "input"
    path = os.path.relpath(source) if os.path.isabs(source) else source
    return path.replace(os.sep, "/")


def _physical(loc: Location) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(loc.source)},
            "region": {"startLine": max(loc.line, 1)},
        }
    }


def to_sarif(
    graph: DelegationGraph, findings: Sequence[Finding], rules: Iterable[str] | None = None
) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, the rules with help and severities, one result a finding.

    Every result has a physical location (the input line of its evidence), related
    locations for the other hops of its witness, and a ``partialFingerprints`` entry that
    is stable across runs (rule + what it is about, never times or lines).
    """
    selected = sorted(rules) if rules is not None else sorted(RULES)
    index = {rule_id: i for i, rule_id in enumerate(selected)}
    driver_rules = []
    for rule_id in selected:
        rule = RULES[rule_id]
        driver_rules.append(
            {
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.help},
                "help": {"text": rule.help, "markdown": f"**{rule.summary}**\n\n{rule.help}"},
                "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                "properties": {
                    "tags": list(rule.tags),
                    "security-severity": rule.security_severity,
                    "precision": "high",
                    "problem.severity": _LEVEL[rule.severity],
                },
            }
        )
    results = []
    artifacts: dict[str, None] = {}
    for f in findings:
        locs = f.locations or (Location("input", 1),)
        for loc in locs:
            artifacts.setdefault(_uri(loc.source))
        digest = hashlib.sha256(f.fingerprint.encode("utf-8")).hexdigest()
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f.message},
            "locations": [_physical(locs[0])],
            "partialFingerprints": {"delegationFinding/v1": digest},
            "properties": {
                "severity": f.severity,
                "security-severity": SECURITY_SEVERITY[f.severity],
                "path": [s.to_dict() for s in f.path],
                "evidence": dict(f.evidence),
            },
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if len(locs) > 1:
            result["relatedLocations"] = [
                {"id": i, **_physical(loc), "message": {"text": "another hop of the witness path"}}
                for i, loc in enumerate(locs[1:], 1)
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "delegation",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://pypi.org/project/delegation/",
                        "rules": driver_rules,
                    }
                },
                "artifacts": [{"location": {"uri": uri}} for uri in artifacts],
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


# --- text --- #


def _path_text(f: Finding) -> str:
    if not f.path:
        return ""
    parts = [printable(_short(f.path[0].source))]
    for step in f.path:
        label = step.token[:8] if step.token else step.kind
        parts.append(f" ─[{printable(label)}]→ {printable(_short(step.target))}")
    return "".join(parts)


def _short(name: str) -> str:
    """An agent id without the SPIFFE prefix, for narrow terminals."""
    return name.split("://", 1)[1].split("/", 1)[-1] if "://" in name else name


def render_text(
    graph: DelegationGraph,
    findings: Sequence[Finding],
    console: Console,
    rules: Iterable[str] | None = None,
) -> None:
    """Print the findings as a table, each with its witness path drawn hop by hop."""
    from rich.table import Table
    from rich.text import Text

    s = summary(graph, findings, rules)
    console.print(
        Text(
            f"{s['records']} input records, {s['tokens']} tokens, {s['agents']} agents, "
            f"{s['tools']} tools, {s['invocations']} decisions; "
            f"{len(s['rules_run'])} rules run",
            style="bold",
        )
    )
    if s["skipped"]:
        console.print(Text(f"{s['skipped']} input lines skipped:", style="yellow"))
        for item in s["skipped_reasons"]:
            console.print(Text(f"  {item['lines']} x {printable(item['reason'])}"))
        first = graph.skipped[0][0]
        console.print(Text(f"  (first at {printable(first.source)}:{first.line})", style="dim"))
    if not findings:
        console.print(Text("no findings", style="green"))
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("finding", ratio=3, overflow="fold")
    table.add_column("witness path", ratio=2, overflow="fold")
    for f in findings:
        finding = Text(printable(f.title), style="bold")
        finding.append("\n" + printable(f.message), style="")
        if f.locations:
            loc = f.locations[0]
            finding.append(f"\n{printable(loc.source)}:{loc.line}", style="dim")
        table.add_row(
            Text(f.severity.upper(), style=_STYLE[f.severity]),
            Text(f.rule),
            finding,
            Text(_path_text(f)),
        )
    console.print(table)
    counts = ", ".join(f"{n} {sev}" for sev, n in s["by_severity"].items() if n)
    console.print(Text(f"{len(findings)} findings: {counts}", style="bold"))
