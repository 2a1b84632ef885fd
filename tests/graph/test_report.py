"""Reports: JSON shape, SARIF 2.1.0 valid against the official schema, text that is safe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
from graph_scene import Scene
from rich.console import Console

from delegation.graph import RULES
from delegation.graph.report import printable, render_text, to_json, to_sarif

SCHEMA = Path(__file__).resolve().parents[1] / "vectors" / "sarif" / "sarif-schema-2.1.0.json"


def test_json_report_shape(scene: Scene) -> None:
    """The JSON report: findings (rule, severity, title, message, path, evidence), a summary."""
    scene.plant_escalation()
    graph = scene.graph()
    report = to_json(graph, graph.findings())
    [finding] = [f for f in report["findings"] if f["rule"] == "DLG001"]
    assert set(finding) >= {"rule", "severity", "title", "message", "path", "evidence"}
    assert finding["path"][0]["from"] == scene.orch.agent
    assert report["summary"]["by_rule"]["DLG001"] == 1
    assert report["summary"]["records"] > 0 and report["summary"]["skipped"] == 0
    json.dumps(report)  # serialisable as is


def test_sarif_is_valid_and_locates_the_evidence(scene: Scene) -> None:
    """SARIF validates against the OASIS 2.1.0 schema; results point at the audit line."""
    scene.plant_escalation()
    graph = scene.graph()
    findings = graph.findings()
    sarif = to_sarif(graph, findings)
    jsonschema.validate(sarif, json.loads(SCHEMA.read_text()))
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == sorted(RULES)
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["help"]["markdown"] and rule["shortDescription"]["text"]
        assert "security" in rule["properties"]["tags"]
        assert float(rule["properties"]["security-severity"]) > 0
    result = next(r for r in run["results"] if r["ruleId"] == "DLG001")
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"].endswith("audit.jsonl")
    lines = scene.log.read_text().splitlines()
    assert (
        '"delegate"' in lines[region["region"]["startLine"] - 1]
        or '"verify"' in lines[region["region"]["startLine"] - 1]
    )
    assert result["partialFingerprints"]["delegationFinding/v1"]


def test_fingerprints_are_stable_across_runs(scene: Scene) -> None:
    """The same facts give the same fingerprints, whatever the file or line they came from."""
    scene.plant_escalation()
    first = {f.fingerprint for f in scene.graph().findings()}
    second = {f.fingerprint for f in scene.chain_graph().findings(rules=["DLG001"])}
    assert second <= first


def test_text_report_escapes_hostile_strings(scene: Scene) -> None:
    """Control characters from inputs never reach the terminal; the path is drawn."""
    scene.plant_escalation()
    graph = scene.graph()
    out = io.StringIO()
    render_text(graph, graph.findings(), Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "DLG001" in text and "CRITICAL" in text and "─[" in text
    assert printable("evil\x1b]0;pwned\x07\n") == "evil\\x1b]0;pwned\\x07\\n"


def test_text_report_counts_skipped_lines(tmp_path: Path) -> None:
    """A log with bad lines says how many were skipped and why."""
    from delegation.graph import load

    log = tmp_path / "a.jsonl"
    log.write_text('{"v": 1, "seq": 0\nnot json\n{"v": 9, "seq": 0, "ts": 1, "event": "x"}\n')
    graph = load([str(log)])
    out = io.StringIO()
    render_text(graph, graph.findings(), Console(file=out, width=120, color_system=None))
    assert "3 input lines skipped" in out.getvalue()
    assert "unknown schema version 9" in out.getvalue()
