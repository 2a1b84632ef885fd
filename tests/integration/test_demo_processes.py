"""``delegation demo`` between real processes: it runs, leaves evidence, leaves nothing running.

The multi-process demo starts four agent processes (uvicorn on loopback ports). Checked:
a whole run (exit 0, every step as it must, the audit log verifies, the reports hold the
planted findings, no process left); an agent killed mid-way (one coded line, exit 2,
everything stopped); Ctrl-C while the agents start (exit 130, everything stopped); and
the demo itself killed with SIGKILL (the agents notice and exit by themselves).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from http_support import require_http

from delegation.cli import main

ROOT = Path(__file__).resolve().parents[2]
PLANTED = {"DLG001", "DLG016", "DLG018"}  # the widened hop, the replay, the re-rooting


@pytest.fixture(autouse=True)
def _http() -> None:
    require_http()


def _env() -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": pythonpath}


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "delegation.cli", *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _alive(pid: int) -> bool:
    """Running (a zombie, exited but not yet reaped, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone(pids: list[int], within: float = 10.0) -> list[int]:
    """The pids still running after ``within`` seconds (an exited child of an exited
    parent is reaped by init)."""
    deadline = time.monotonic() + within
    while (left := [p for p in pids if _alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _pids(out: Path, within: float = 30.0) -> list[int]:
    """The agents' pids, as soon as the demo has written them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            pids: dict[str, int] = json.loads((out / "agents.json").read_text())["pids"]
            return list(pids.values())
        except (OSError, ValueError, KeyError):
            time.sleep(0.02)
    pytest.fail("the demo did not start its agents", pytrace=False)


def test_the_demo_between_processes(tmp_path: Path) -> None:
    """A whole run: exit 0, every step ok, the log verifies, the findings are there."""
    started = time.monotonic()
    proc = _cli("--json", "demo", "--out", "demo", cwd=tmp_path)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert time.monotonic() - started < 30, "the demo should take well under a minute"
    body: dict[str, Any] = json.loads(stdout)
    assert (body["ok"], body["mode"]) == (True, "processes")
    steps = {s["expected"]: s for s in body["steps"] if s["expected"] not in ("ok", "allow")}
    assert set(steps) == {
        "scope_escalation",
        "proof_replayed",
        "bad_signature",
        "untrusted_root",
        "action_not_granted",
        "revoked",
    }
    assert all(s["ok"] for s in body["steps"]), [s for s in body["steps"] if not s["ok"]]
    assert sum(s["outcome"] == "allow" for s in body["steps"]) == 3  # 2 acceptances, 1 call

    out = tmp_path / "demo"
    audit = subprocess.run(
        [sys.executable, "-m", "delegation.cli", "audit", "verify", str(out / "audit.jsonl")],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads((out / "report.json").read_text())
    assert {f["rule"] for f in report["findings"]} >= PLANTED
    sarif = json.loads((out / "report.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= PLANTED
    assert "</html>" in (out / "graph.html").read_text()
    pids = list(json.loads((out / "agents.json").read_text())["pids"].values())
    assert len(pids) == 4
    assert _gone(pids, within=0) == []


def test_an_agent_dying_mid_way_stops_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The researcher is killed once every agent is up: one coded line, exit 2, no process."""
    from delegation.demo.processes import Agents

    start = Agents.start
    pids: list[int] = []

    def start_then_kill(self: Agents, *args: Any) -> None:
        start(self, *args)
        pids.extend(p.pid for p in self.processes.values())
        os.kill(self.processes["researcher"].pid, signal.SIGKILL)
        self.processes["researcher"].popen.wait(timeout=10)

    monkeypatch.setattr(Agents, "start", start_then_kill)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: internal_error: the researcher process")
    assert "signal 9" in err[0]
    assert len(pids) == 4
    assert _gone(pids, within=0) == []


def test_ctrl_c_while_the_agents_start_stops_them(tmp_path: Path) -> None:
    """SIGINT (what Ctrl-C sends) before the agents are up: exit 130, none left running."""
    proc = _cli("demo", "--out", "demo", cwd=tmp_path)
    pids = _pids(tmp_path / "demo")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    # 130, as a shell shows it: the status 130, or (once in a CI run, cause not found; the
    # command now ignores SIGINT while it exits) death by that SIGINT after the clean-up
    assert proc.returncode in (130, -signal.SIGINT), stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in stderr
    assert _gone(pids, within=1) == []


def test_the_agents_exit_when_the_demo_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves the demo no chance to clean up: the agents see it gone and exit."""
    proc = _cli("demo", "--out", "demo", cwd=tmp_path)
    pids = _pids(tmp_path / "demo")
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone(pids, within=10) == []
