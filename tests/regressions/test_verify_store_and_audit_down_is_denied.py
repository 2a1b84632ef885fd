"""Regression (hardening, robustness): ``verify`` with store and audit log both down exited 2.

When the store could not be opened, ``verify`` recorded the denial in the audit log; if
that failed too, the ``store_unavailable`` of the log escaped as an input error (exit 2).
Documented: a store that cannot be used is a denial, exit 1, whatever else fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegation import AgentKey, Registry
from delegation.cli import main

ORCH = "spiffe://acme.example/orchestrator"
TOOL = "spiffe://acme.example/tool/crm"


def test_store_and_audit_unavailable_is_a_denial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg = Registry()
    reg.add_root(ORCH, AgentKey.generate(ORCH).public)
    reg.save(tmp_path / "reg.json")
    (tmp_path / "c.txt").write_text("garbage\n")
    missing = tmp_path / "no" / "such" / "dir"
    code = main(
        [
            "--json",
            "verify",
            "--chain",
            str(tmp_path / "c.txt"),
            "--proof",
            str(tmp_path / "c.txt"),
            "--registry",
            str(tmp_path / "reg.json"),
            "--aud",
            TOOL,
            "--tool",
            "crm.read",
            "--resource",
            "customers/1",
            "--store",
            f"sqlite:///{missing}/store.sqlite",
            "--audit",
            str(missing / "audit.jsonl"),
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (out["ok"], out["code"]) == (False, "store_unavailable")
    assert "audit" in out["message"]  # both failures are named
