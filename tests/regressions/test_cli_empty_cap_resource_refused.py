"""Regression (hardening item 6): ``--cap 'crm.read:'`` granted every resource.

An empty resource (say, from an unset shell variable: ``--cap "crm.read:$RES"``) was
read as ``**``. The API refuses ``Capability(resource="")``; the command line refuses
the empty resource too, with ``invalid_capability`` (exit 2), and mints nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegation import AgentKey, Capability, InvalidCapability
from delegation.cli import main

ORCH = "spiffe://acme.example/orchestrator"
PLANNER = "spiffe://acme.example/agent/planner"


@pytest.mark.parametrize("text", ["crm.read:", "crm.read: ", " crm.read:"])
def test_parse_refuses_an_empty_resource(text: str) -> None:
    with pytest.raises(InvalidCapability):
        Capability.parse(text)


def test_parse_without_a_resource_still_means_everything() -> None:
    assert Capability.parse("crm.read").resource == "**"


def test_cli_mint_refuses_an_empty_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    AgentKey.generate(ORCH).save(tmp_path / "o.key")
    AgentKey.generate(PLANNER).save(tmp_path / "p.key", public_path=tmp_path / "p.pub")
    argv = ["--json", "mint", "--key", "o.key", "--to", PLANNER, "--to-key", "p.pub"]
    code = main([*argv, "--cap", "crm.read:", "--ttl", "10m"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["code"]) == (2, "invalid_capability")
    assert not (tmp_path / "delegation-audit.jsonl").exists()  # nothing was minted
