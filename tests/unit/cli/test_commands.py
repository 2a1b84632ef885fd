"""The ``delegation`` command run for real in a subprocess (~0.3 s each), and the same
flow in-process (what coverage measures).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import (
    GRANT,
    ORCH,
    PLANNER,
    REQUEST,
    RESEARCHER,
    TOOL,
    Flow,
    add_agent_argv,
    assert_one_error_line,
    delegate_argv,
    mint_argv,
    ok,
    run,
    verify_argv,
)

from delegation import JsonlAudit
from delegation.audit import VerifyEvent
from delegation.cli import main


def test_verify_allows_then_refuses_the_replayed_proof(flow: Flow) -> None:
    """A fresh proof is allowed (exit 0, JSON shape); the same proof again is proof_replayed."""
    proof = flow.prove("proof-a.txt")
    store = ["--store", "sqlite:///replay.sqlite", "--audit", "replay.jsonl"]
    proc = flow.verify(proof, "--json", *store)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = json.loads(proc.stdout)
    assert body["ok"] is True
    assert body["holder"] == RESEARCHER
    assert body["path"] == [ORCH, PLANNER, RESEARCHER]
    assert (body["task"], body["obo"], body["depth"]) == ("T-42", "user:alice", 2)
    assert body["policy"] == "chain-grants-only"
    assert body["decision"]["effect"] == "allow"

    again = flow.verify(proof, *store)
    assert again.returncode == 1
    assert again.stdout == ""
    assert "policy: chain-grants-only" in again.stderr
    assert "denied: proof_replayed: " in again.stderr
    assert "Traceback" not in again.stderr
    assert [
        json.loads(x)["code"] for x in (flow.dir / "replay.jsonl").read_text().splitlines()
    ] == ["allowed", "proof_replayed"]


def test_revoked_task_denies(flow: Flow) -> None:
    """revoke --task, then verify: exit 1, code revoked; the default store is in the cwd."""
    proof = flow.prove("proof-r.txt")
    assert ok(flow.dir, "revoke", "--task", "T-42").startswith("revoked task T-42")
    proc = flow.verify(proof, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {
        "ok": False,
        "code": "revoked",
        "message": "task T-42 is revoked",
        "policy": "chain-grants-only",
    }
    assert (flow.dir / "delegation-store.sqlite").exists()
    assert (flow.dir / "delegation-audit.jsonl").exists()


def test_verify_at_past_and_future(flow: Flow) -> None:
    """--at before issue is not_yet_valid; --at after expiry is expired (ISO or POSIX)."""
    proof = flow.prove("proof-t.txt")
    store = ["--store", "sqlite:///at.sqlite", "--audit", "at.jsonl"]
    past = flow.verify(proof, "--json", "--at", "2000-01-01T00:00:00Z", *store)
    assert (past.returncode, json.loads(past.stdout)["code"]) == (1, "not_yet_valid")
    future = flow.verify(proof, "--json", "--at", str(int(time.time()) + 2 * 86400), *store)
    assert (future.returncode, json.loads(future.stdout)["code"]) == (1, "expired")


def test_verify_clock_skew(flow: Flow) -> None:
    """--clock-skew (default 30 s) is the tolerance on exp: 10 s after a proof's exp is
    allowed by default and expired with --clock-skew 0; a bad value is a usage error."""
    proof = flow.prove("proof-skew.txt")
    payload = (flow.dir / proof).read_text().split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
    at = ["--at", str(exp + 10), "--json"]
    late = flow.verify(proof, *at, "--store", "sqlite:///skew1.sqlite", "--audit", "skew1.jsonl")
    assert late.returncode == 0, late.stdout + late.stderr
    strict = flow.verify(
        proof, *at, "--clock-skew", "0", "--store", "sqlite:///skew2.sqlite", "--audit", "s2.jsonl"
    )
    assert (strict.returncode, json.loads(strict.stdout)["code"]) == (1, "expired")
    for bad in ("-1", "601", "1.5", "ten"):
        proc = flow.verify(proof, "--json", "--clock-skew", bad)
        assert proc.returncode == 2, bad
        body = json.loads(proc.stdout)
        assert body["code"] == "invalid_input" and "--clock-skew" in body["message"], body


def test_inspect_text_and_json(flow: Flow) -> None:
    """inspect draws every hop with an UNVERIFIED note; --json gives the claims per hop."""
    text = ok(flow.dir, "inspect", "--chain", "c2.txt")
    for needle in (
        "UNVERIFIED",
        "hop 0",
        "hop 1",
        ORCH,
        PLANNER,
        RESEARCHER,
        "T-42",
        "user:alice",
        "customers/eu/**",
        "receipt",
    ):
        assert needle in text
    body = json.loads(
        ok(flow.dir, "inspect", "--json", "--chain", "-", stdin=(flow.dir / "c2.txt").read_text())
    )
    assert (body["ok"], body["verified"]) == (True, False)
    assert [h["claims"]["sub"] for h in body["hops"]] == [PLANNER, RESEARCHER]
    assert body["hops"][1]["claims"]["prf"] == body["hops"][0]["token_id"]
    assert body["hops"][0]["header"]["typ"] == "deleg+jwt"


def test_audit_verify_then_tamper(tmp_path: Path) -> None:
    """audit verify: exit 0 on an intact log, exit 1 naming the first bad line after an edit."""
    log = tmp_path / "audit.jsonl"
    sink = JsonlAudit(log)
    for code in ("allowed", "expired", "revoked"):
        sink.append(VerifyEvent(audience="x:tool", decision="deny", code=code))
    assert "3 records" in ok(tmp_path, "audit", "verify", str(log))

    lines = log.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"allowed"', '"ALLOWED"')
    log.write_text("".join(lines))
    proc = run(tmp_path, "audit", "verify", "--json", str(log))
    assert proc.returncode == 1
    body = json.loads(proc.stdout)
    assert (body["ok"], body["code"], body["line"]) == (False, "audit_tampered", 1)
    text = run(tmp_path, "audit", "verify", str(log))
    assert text.returncode == 1
    assert "TAMPERED at line 1" in text.stdout


def test_audit_verify_expect_head_catches_the_last_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--expect-head finds an edit of the final record, which the chain alone cannot."""
    log = tmp_path / "audit.jsonl"
    sink = JsonlAudit(log)
    for code in ("allowed", "expired"):
        sink.append(VerifyEvent(audience="x:tool", decision="deny", code=code))
    assert main(["audit", "verify", str(log), "--json"]) == 0
    head = json.loads(capsys.readouterr().out)["head"]
    log.write_text(log.read_text().replace('"expired"', '"allowed"'))
    assert main(["audit", "verify", str(log)]) == 0  # invisible without the head...
    capsys.readouterr()
    assert main(["audit", "verify", str(log), "--expect-head", head]) == 1  # ...found with it
    assert "TAMPERED" in capsys.readouterr().out


def test_corrupt_store_is_a_denial_not_a_crash(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store file that is not a database denies (exit 1, store_unavailable), untouched."""
    store = tmp_path / "store.sqlite"
    store.write_bytes(b"not a database" * 64)
    argv = verify_argv(files, "--store", f"sqlite:///{store}", "--audit", str(tmp_path / "a.jsonl"))
    assert main([*argv, "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert (body["ok"], body["code"]) == (False, "store_unavailable")
    assert store.read_bytes() == b"not a database" * 64


def test_demo_text_and_json(tmp_path: Path) -> None:
    """demo tells the story (exit 0) and --json prints one parseable summary."""
    text = ok(tmp_path, "demo", "--in-process", "--out", "story")
    for code in ("allowed", "scope_escalation", "proof_replayed", "bad_signature", "revoked"):
        assert code in text
    assert (tmp_path / "story" / "chain.txt").exists()
    assert (tmp_path / "story" / "audit.jsonl").exists()

    body = json.loads(ok(tmp_path, "demo", "--in-process", "--json", "--out", "summary"))
    assert body["ok"] is True
    assert body["out"].endswith("summary")
    outcomes = [s["outcome"] for s in body["steps"]]
    assert {"allow", "scope_escalation", "proof_replayed", "bad_signature", "revoked"} <= set(
        outcomes
    )
    assert all(s["ok"] for s in body["steps"])
    assert body["audit"]["ok"] is True


def test_demo_without_the_http_extra_plays_in_one_process(tmp_path: Path) -> None:
    """No uvicorn: one line says so (and how to get the rest), the story still plays."""
    blocked = (
        "import sys; sys.modules['uvicorn'] = None; from delegation.cli import main; "
        "sys.exit(main(['--json', 'demo', '--out', 'd']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (note,) = done.stderr.strip().splitlines()
    assert note.startswith("note: the http extra is not installed (uvicorn missing)")
    assert "pip install 'delegation[http]'" in note
    body = json.loads(done.stdout)
    assert (body["ok"], body["mode"]) == (True, "in-process")
    assert not (tmp_path / "d" / "agents.json").exists()


def test_real_process_errors_are_one_line(tmp_path: Path) -> None:
    """In the real process too: an unknown command and a garbage chain exit 2, one line."""
    assert_one_error_line(run(tmp_path, "frobnicate"), "usage_error")
    (tmp_path / "g.txt").write_text("garbage\n")
    assert_one_error_line(run(tmp_path, "inspect", "--chain", "g.txt"), "malformed")


def test_closed_stdout_exits_141_quietly(tmp_path: Path) -> None:
    """A reader that goes away (``| head``) ends the command with 141 and no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "delegation.cli", "demo", "--in-process", "--out", "d"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # before the child has written anything
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert b"Traceback" not in err


def test_same_flow_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same commands through ``main`` (what coverage measures), outputs checked lightly."""
    monkeypatch.chdir(tmp_path)

    def out(*argv: str, code: int = 0) -> str:
        assert main(list(argv)) == code
        return capsys.readouterr().out

    for name, agent in (("o", ORCH), ("p", PLANNER), ("r", RESEARCHER)):
        out("keygen", "--agent", agent, "--out", f"{name}.key", "--public-out", f"{name}.pub")
    out("registry", "add-root", "--registry", "reg.json", "--agent", ORCH, "--key", "o.pub")
    for name, agent in (("p", PLANNER), ("r", RESEARCHER)):
        out(*add_agent_argv("reg.json", agent, f"{name}.pub", "--baseline", "crm.read"))
    c1 = out(
        *mint_argv(
            {}, "--depth", "1", "--obo", "user:bob", "--purpose", "audit prep", cap=GRANT, ttl="1h"
        )
    )
    (tmp_path / "c1.txt").write_text(c1)
    c2 = out(*delegate_argv({}, chain="c1.txt", ttl="90s"))
    (tmp_path / "c2.txt").write_text(c2)
    (tmp_path / "proof.txt").write_text(
        out("prove", "--chain", "c2.txt", "--key", "r.key", "--aud", TOOL, *REQUEST)
    )
    verify = [
        "verify",
        "--chain",
        "c2.txt",
        "--proof",
        "proof.txt",
        "--registry",
        "reg.json",
        "--aud",
        TOOL,
        *REQUEST,
    ]
    assert out(*verify).startswith(f"allowed: {RESEARCHER} may crm.read customers/eu/42")
    assert json.loads(out(*verify, "--json", code=1))["code"] == "proof_replayed"
    assert "purpose  audit prep" in out("inspect", "--chain", "c1.txt")
    assert "revoked key" in out("revoke", "--key", "some-kid")
    # mint + delegate (the default audit log records them too) + 2 verify + revoke
    assert "5 records" in out("audit", "verify", "delegation-audit.jsonl")

    text = out("demo", "--in-process", "--out", "story")
    assert "every step behaved as it must" in text
    assert json.loads(out("demo", "--in-process", "--json", "--out", "story"))["ok"] is True


def test_verify_with_a_rules_policy_and_labels(flow: Flow, tmp_path: Path) -> None:
    """verify --policy applies the verifier's own rules; --label feeds them; both audited."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\n"
        "rules:\n"
        "  - id: crm-eu\n"
        "    effect: allow\n"
        "    tool: crm.read\n"
        '    resource: "customers/eu/**"\n'
        "  - id: no-restricted\n"
        "    effect: deny\n"
        '    tool: "**"\n'
        "    when: {labels: {sensitivity: [restricted]}}\n"
    )
    store = ("--store", f"sqlite:///{tmp_path}/own.sqlite")  # untouched by other tests' revocations
    ok_proc = flow.verify(flow.prove("p-pol-1.txt"), "--policy", str(policy), "--json", *store)
    assert ok_proc.returncode == 0, ok_proc.stderr
    body = json.loads(ok_proc.stdout)
    assert body["decision"]["rules"] == ["crm-eu"]
    assert body["policy"].startswith("rules:")
    denied = flow.verify(
        flow.prove("p-pol-2.txt"),
        "--policy",
        str(policy),
        "--label",
        "sensitivity=restricted",
        *store,
    )
    assert denied.returncode == 1
    assert "denied: policy_denied" in denied.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: x\n    effect: maybe\n")
    proc = flow.verify(flow.prove("p-pol-3.txt"), "--policy", str(bad))
    assert_one_error_line(proc, "invalid_policy")
    assert ":4:" in proc.stderr  # the line of the bad field


def test_verify_denial_explains_itself(flow: Flow, tmp_path: Path) -> None:
    """A policy denial names each rule tried and the condition it missed: indented lines
    under ``denied:`` in text, ``"explanation"`` in --json, and in the audit record."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\n"
        "rules:\n"
        "  - {id: crm-reads-in-short-chains, effect: allow, tool: crm.read,"
        " when: {max_depth: 1}}\n"
        "  - {id: low-sensitivity, effect: allow, tool: crm.read,"
        " when: {labels: {sensitivity: [low]}}}\n"
        "  - {id: mail, effect: allow, tool: mail.send}\n"
    )
    store = ("--store", f"sqlite:///{tmp_path}/own.sqlite")
    audit = ("--audit", str(tmp_path / "audit.jsonl"))
    expected = [
        "crm-reads-in-short-chains: max_depth 1 < depth 2",
        'low-sensitivity: label "sensitivity" = "high" not in ["low"]',
        'mail: tool mail.send does not match "crm.read"',
    ]
    label = ("--label", "sensitivity=high")
    text = flow.verify(flow.prove("p-why-1.txt"), "--policy", str(policy), *label, *store, *audit)
    assert text.returncode == 1
    lines = text.stderr.splitlines()
    at = lines.index("denied: policy_denied: policy denied: no rule allows it")
    assert lines[at + 1 : at + 4] == [f"  {line}" for line in expected]
    as_json = flow.verify(
        flow.prove("p-why-2.txt"), "--policy", str(policy), *label, "--json", *store, *audit
    )
    body = json.loads(as_json.stdout)
    assert (body["code"], body["explanation"]) == ("policy_denied", expected)
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["policy"]["explanation"] for r in records] == [expected, expected]


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--help and --version exit 0."""
    assert main(["--help"]) == 0
    assert "verify" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("delegation ")


def test_interrupt_and_unexpected_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C exits 130; a bug is one internal_error line, exit 2, no traceback."""
    from delegation.cli import tokens as cli

    def interrupted(ns: object) -> int:
        raise KeyboardInterrupt

    def buggy(ns: object) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.delenv("DELEGATION_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_inspect", interrupted)
    assert main(["inspect", "--chain", "x"]) == 130
    monkeypatch.setattr(cli, "cmd_inspect", buggy)
    assert main(["inspect", "--chain", "x"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "error: internal_error: unexpected ZeroDivisionError: boom"
