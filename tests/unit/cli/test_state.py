"""One set of defaults for state: every command finds the same store and audit log."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_support import PLANNER, RESEARCHER, TOOL

from delegation import AgentKey, Delegator
from delegation.cli import main

Out = tuple[int, str, str]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Out:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def mint(files: dict[str, str], *extra: str) -> list[str]:
    return ["mint", "--key", files["o.key"], "--to", PLANNER, "--to-key", files["p.pub"],
            "--cap", "crm.read", "--ttl", "10m", "--depth", "1", *extra]  # fmt: skip


def test_mint_honours_the_default_task_store(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Without --store: an open task clips the token; a closed task refuses it."""
    code, _, err = cli(capsys, "task", "open", "--task", "T-9", "--deadline", "2m")
    assert code == 0
    assert err.splitlines() == [
        f"note: created the store {tmp_path / 'delegation-store.sqlite'}",
        f"note: created the audit log {tmp_path / 'delegation-audit.jsonl'}",
    ]
    code, out, err = cli(capsys, *mint(files, "--task", "T-9", "--json"))
    assert (code, err) == (0, "")  # nothing created this time: no note
    assert json.loads(out)["expires_at"] - time.time() <= 120
    assert cli(capsys, "task", "close", "--task", "T-9")[0] == 0
    code, out, _ = cli(capsys, *mint(files, "--task", "T-9", "--json"))
    assert (code, json.loads(out)["code"]) == (2, "task_not_open")
    events = [json.loads(x)["event"] for x in Path("delegation-audit.jsonl").read_text().split()]
    assert events == ["task_open", "mint", "task_close"]


def test_delegate_in_a_closed_task_is_refused(
    files: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """delegate checks the chain's task in the default store (a task it never saw is free)."""
    AgentKey.generate(RESEARCHER).save(tmp_path / "r.key", public_path=tmp_path / "r.pub")
    hand_on = ["delegate", "--chain", "c.txt", "--key", files["p.key"], "--to", RESEARCHER,
               "--to-key", "r.pub", "--cap", "crm.read", "--ttl", "1m"]  # fmt: skip
    code, out, _ = cli(capsys, *mint(files))  # a fresh task id: ungoverned
    assert code == 0
    Path("c.txt").write_text(out)
    assert cli(capsys, *hand_on)[0] == 0

    assert cli(capsys, "task", "open", "--task", "T-5", "--deadline", "1h")[0] == 0
    code, out, _ = cli(capsys, *mint(files, "--task", "T-5"))
    Path("c.txt").write_text(out)
    assert cli(capsys, "task", "close", "--task", "T-5")[0] == 0
    code, _, err = cli(capsys, *hand_on)
    assert code == 2
    assert err.startswith("error: task_not_open: ")


def test_environment_names_the_state(
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """DELEGATION_STORE and DELEGATION_AUDIT replace the defaults; flags beat both."""
    monkeypatch.setenv("DELEGATION_STORE", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("DELEGATION_AUDIT", str(tmp_path / "env.jsonl"))
    assert cli(capsys, "task", "open", "--task", "T-1", "--deadline", "5m")[0] == 0
    assert cli(capsys, *mint(files, "--task", "T-1"))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.jsonl", "env.sqlite"]
    assert cli(capsys, "revoke", "--jti", "J", "--audit", "flag.jsonl")[0] == 0
    assert Path("flag.jsonl").exists()


def test_task_mistakes_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """Closing an unknown task, reopening an open one, a deadline of years: exit 2."""
    code, _, err = cli(capsys, "task", "close", "--task", "nope")
    assert (code, err.splitlines()[-1].split(":")[1].strip()) == (2, "task_unknown")
    assert cli(capsys, "task", "open", "--task", "T", "--deadline", "1h")[0] == 0
    code, _, err = cli(capsys, "task", "open", "--task", "T", "--deadline", "1h")
    assert (code, err.split(":")[1].strip()) == (2, "task_already_open")
    code, out, _ = cli(capsys, "task", "open", "--task", "U", "--deadline", "60d", "--json")
    assert (code, json.loads(out)["code"]) == (2, "task_deadline_too_far")


def test_prove_on_an_expired_chain_is_an_error(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """prove refuses a chain whose leaf has expired (no verifier would take the proof)."""
    from delegation import FixedClock

    orch, planner = AgentKey.load(files["o.key"]), AgentKey.load(files["p.key"])
    old = Delegator(orch, clock=FixedClock(time.time() - 3600)).mint(
        to=PLANNER, to_key=planner.public, caps=["crm.read"], ttl=60
    )
    Path("old.txt").write_text(str(old))
    argv = ["prove", "--chain", "old.txt", "--key", files["p.key"], "--aud", TOOL,
            "--tool", "crm.read", "--resource", "x", "--json"]  # fmt: skip
    code, out, _ = cli(capsys, *argv)
    body = json.loads(out)
    assert (code, body["code"]) == (2, "expired")
    assert "expired at" in body["message"]
