"""Regression (hardening, robustness): a deeply nested ``--cap`` JSON was ``internal_error``.

``json`` raises ``RecursionError`` (not ``ValueError``) on deep nesting, which escaped
``Capability.parse`` and reached the command's catch-all. Deep JSON in a capability or
a public key file is now a coded input error (exit 2), like any other bad value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegation import AgentKey, Capability, InvalidCapability
from delegation.cli import main

ORCH = "spiffe://acme.example/orchestrator"
PLANNER = "spiffe://acme.example/agent/planner"
DEEP = "[" * 100_000 + "]" * 100_000


def _deep_cap() -> str:
    return '{"tool":"crm.read","resource":"a","constraints":{"x":{"one_of":[' + DEEP + "]}}}"


def test_parse_refuses_deep_json_with_a_code() -> None:
    with pytest.raises(InvalidCapability):
        Capability.parse(_deep_cap())


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    AgentKey.generate(ORCH).save(tmp_path / "o.key")
    AgentKey.generate(PLANNER).save(tmp_path / "p.key", public_path=tmp_path / "p.pub")
    return tmp_path


def _mint(to_key: str = "p.pub") -> list[str]:
    return ["--json", "mint", "--key", "o.key", "--to", PLANNER, "--to-key", to_key]


def test_cli_mint_deep_cap_is_invalid_capability(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*_mint(), "--cap", _deep_cap(), "--ttl", "10m"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["code"]) == (2, "invalid_capability")


def test_cli_deep_public_key_file_is_invalid_key(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (keys / "deep.pub").write_text('{"x":' + DEEP + "}")
    code = main([*_mint(to_key="deep.pub"), "--cap", "crm.read", "--ttl", "10m"])
    out = json.loads(capsys.readouterr().out)
    assert (code, out["code"]) == (2, "invalid_key")
