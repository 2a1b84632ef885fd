"""``delegation graph analyze|diff`` in subprocesses: every exit code, every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import assert_one_error_line, ok, run
from graph_scene import Scene


@pytest.fixture
def escalated(tmp_path: Path) -> Scene:
    """A deployment whose log holds one forged widening hop (a DLG001 critical)."""
    scene = Scene(tmp_path)
    scene.plant_escalation()
    scene.chain_graph()  # writes chains.txt
    scene.world.registry.save(tmp_path / "reg.json")
    return scene


def test_analyze_exits_1_on_findings_at_the_gate(escalated: Scene) -> None:
    """A critical finding with the default --fail-on high exits 1 and prints the table."""
    proc = run(escalated.tmp, "graph", "analyze", "audit.jsonl", "--registry", "reg.json")
    assert proc.returncode == 1, proc.stderr
    assert "DLG001" in proc.stdout and "CRITICAL" in proc.stdout


def test_analyze_exits_0_below_the_gate(escalated: Scene) -> None:
    """--fail-on none (or a clean input) exits 0."""
    proc = run(escalated.tmp, "graph", "analyze", "audit.jsonl", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    clean = run(
        escalated.tmp,
        "graph",
        "analyze",
        "audit.jsonl",
        "--rules",
        "DLG001",
        "--task",
        "no-such-task",
    )
    assert clean.returncode == 0 and "no findings" in clean.stdout


def test_analyze_json_is_one_object(escalated: Scene) -> None:
    """--json prints one object with findings and a summary."""
    proc = run(escalated.tmp, "--json", "graph", "analyze", "audit.jsonl", "chains.txt")
    assert proc.returncode == 1
    body = json.loads(proc.stdout)
    assert body["summary"]["by_rule"]["DLG001"] >= 1
    assert {f["rule"] for f in body["findings"]} >= {"DLG001"}


def test_analyze_sarif_to_a_file(escalated: Scene) -> None:
    """--format sarif --out writes a SARIF log and says where."""
    proc = run(
        escalated.tmp,
        "graph",
        "analyze",
        "audit.jsonl",
        "--format",
        "sarif",
        "--out",
        "r.sarif",
        "--fail-on",
        "critical",
    )
    assert proc.returncode == 1 and "r.sarif" in proc.stdout
    sarif = json.loads((escalated.tmp / "r.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_analyze_reads_stdin(escalated: Scene) -> None:
    """- reads the input from stdin."""
    log = (escalated.tmp / "audit.jsonl").read_text()
    proc = run(escalated.tmp, "graph", "analyze", "-", "--fail-on", "none", stdin=log)
    assert proc.returncode == 0 and "DLG001" in proc.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["graph", "analyze", "missing.jsonl"], "file_error"),
        (["graph", "analyze", "audit.jsonl", "--rules", "DLG999"], "invalid_input"),
        (["graph", "analyze", "audit.jsonl", "--config", "bad.yaml"], "invalid_input"),
        (["graph", "analyze", "audit.jsonl", "--since", "yesterday"], "invalid_input"),
        (["graph", "analyze", "audit.jsonl", "--fail-on", "severe"], "usage_error"),
        (["graph", "diff", "audit.jsonl", "broken.snapshot"], "invalid_input"),
    ],
)
def test_bad_input_is_one_error_line(escalated: Scene, args: list[str], code: str) -> None:
    """Bad input exits 2 with one coded error line, never a traceback."""
    (escalated.tmp / "bad.yaml").write_text("max_depth: -3\n")
    (escalated.tmp / "broken.snapshot").write_text('{"delegation_snapshot": 1, "agents": 3}')
    proc = run(escalated.tmp, *args)
    assert_one_error_line(proc, code)


def test_config_errors_name_the_field(escalated: Scene) -> None:
    """A config file error names the file and the option."""
    (escalated.tmp / "bad.yaml").write_text("max_depth: -3\n")
    proc = run(escalated.tmp, "graph", "analyze", "audit.jsonl", "--config", "bad.yaml")
    assert "bad.yaml: max_depth:" in proc.stderr


def test_diff_reports_growth_and_gates(escalated: Scene, tmp_path: Path) -> None:
    """analyze --save then diff against a grown input: new findings listed, exit 1 on growth."""
    scene = escalated
    lines = (scene.tmp / "audit.jsonl").read_text().splitlines(keepends=True)
    (scene.tmp / "old.jsonl").write_text("".join(lines[:2]))
    ok(scene.tmp, "graph", "analyze", "old.jsonl", "--save", "old.snap", "--fail-on", "none")
    same = run(scene.tmp, "graph", "diff", "old.snap", "old.jsonl", "--fail-on-growth")
    assert same.returncode == 0 and "nothing grew" in same.stdout
    grown = run(scene.tmp, "--json", "graph", "diff", "old.snap", "audit.jsonl", "--fail-on-growth")
    assert grown.returncode == 1
    body = json.loads(grown.stdout)
    assert body["grew"] and any(f["rule"] == "DLG001" for f in body["new_findings"])
    text = run(scene.tmp, "graph", "diff", "old.snap", "audit.jsonl")
    assert text.returncode == 0 and "DLG001" in text.stdout


def test_render_html_and_exports(escalated: Scene) -> None:
    """render writes the format its --out suffix names, or --format's; the same bytes twice."""
    render = ("graph", "render", "audit.jsonl", "chains.txt", "--registry", "reg.json", "--out")
    proc = run(escalated.tmp, *render, "g.html")
    assert proc.returncode == 0, proc.stderr
    html = (escalated.tmp / "g.html").read_text()
    assert "Content-Security-Policy" in html and "DLG001" in html
    ok(escalated.tmp, *render, "again.html")
    assert (escalated.tmp / "again.html").read_text() == html
    body = json.loads(
        ok(
            escalated.tmp,
            "--json",
            "graph",
            "render",
            "audit.jsonl",
            "--out",
            "bh.json",
            "--format",
            "opengraph",
        )
    )
    assert body["format"] == "opengraph" and body["edges"] > 0
    assert "graph" in json.loads((escalated.tmp / "bh.json").read_text())


def test_render_refuses_an_unknown_format(escalated: Scene) -> None:
    """An --out suffix that names no format is one coded error line, and nothing is written."""
    assert_one_error_line(
        run(escalated.tmp, "graph", "render", "audit.jsonl", "--out", "g.txt"), "invalid_input"
    )
    assert not (escalated.tmp / "g.txt").exists()
