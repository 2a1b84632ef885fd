"""The examples run as written: each is a separate process, bounded in time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from http_support import require, require_http

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("orchestrator.py", ["accepted, receipt:", "'status': 200", "action_not_granted"]),
        (
            "mcp_tool_server.py",
            ["read for spiffe://acme.example/agent/planner", "without: refused"],
        ),
    ],
)
def test_example_runs(example: str, expected: list[str]) -> None:
    require_http()
    if example.startswith("mcp"):
        require("mcp", "httpx2")
    done = run_example(example)
    assert done.returncode == 0, done.stdout + done.stderr
    for text in expected:
        assert text in done.stdout, done.stdout
