"""The ``delegation`` command, run for real in a subprocess, plus error paths in-process.

Subprocesses cost ~0.3 s each, so the happy path is one shared flow (keygen -> registry ->
mint -> delegate) and each test adds only the calls it is about. Error paths run through
``main([...])`` with capsys, which exercises the same code without the start-up cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from delegation import AgentKey, JsonlAudit, Registry
from delegation.audit import VerifyEvent
from delegation.cli import main, parse_args_kv, parse_duration, parse_time

ORG = "spiffe://acme.example"
ORCH = f"{ORG}/orchestrator"
PLANNER = f"{ORG}/agent/planner"
RESEARCHER = f"{ORG}/agent/researcher"
TOOL = f"{ORG}/tool/crm"
GRANT = (
    '{"tool": "crm.read", "resource": "customers/**", "constraints": {"max_rows": {"max": 100}}}'
)
SLICE = (
    '{"tool": "crm.read", "resource": "customers/eu/**", "constraints": {"max_rows": {"max": 50}}}'
)
REQUEST = ["--tool", "crm.read", "--resource", "customers/eu/42", "--arg", "max_rows=10"]


def run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "delegation.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )


def ok(cwd: Path, *args: str, stdin: str | None = None) -> str:
    """Run the command, require exit 0 and a quiet stderr; return stdout."""
    proc = run(cwd, *args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def assert_one_error_line(proc: subprocess.CompletedProcess[str], code: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {code}: ")


@dataclass
class Flow:
    """Keys, a registry and a two-hop chain made with the real command."""

    dir: Path

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def prove(self, name: str) -> str:
        proof = ok(
            self.dir, "prove", "--chain", "c2.txt", "--key", "r.key", "--aud", TOOL, *REQUEST
        )
        (self.dir / name).write_text(proof)
        return name

    def verify(self, proof: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run(
            self.dir,
            "verify",
            "--chain",
            "c2.txt",
            "--proof",
            proof,
            "--registry",
            "reg.json",
            "--aud",
            TOOL,
            *REQUEST,
            *extra,
        )


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """keygen -> registry add-root/add-agent -> mint -> delegate (stdin), checked as it goes."""
    d = tmp_path_factory.mktemp("cli")
    out = ok(d, "keygen", "--agent", ORCH, "--out", "o.key", "--public-out", "o.pub")
    assert "o.key" in out
    info = json.loads(
        ok(d, "keygen", "--agent", PLANNER, "--out", "p.key", "--public-out", "p.pub", "--json")
    )
    assert (info["ok"], info["alg"], info["agent"]) == (True, "EdDSA", PLANNER)
    ok(
        d,
        "--json",
        "keygen",
        "--agent",
        RESEARCHER,
        "--alg",
        "ES256",
        "--out",
        "r.key",
        "--public-out",
        "r.pub",
    )
    assert (d / "o.key").stat().st_mode & 0o077 == 0  # private key files are 0600

    ok(d, "registry", "add-root", "--registry", "reg.json", "--agent", ORCH, "--key", "o.pub")
    ok(
        d,
        "registry",
        "add-agent",
        "--registry",
        "reg.json",
        "--agent",
        PLANNER,
        "--key",
        "p.pub",
        "--role",
        "planner",
        "--baseline",
        "crm.read:customers/**",
    )
    added = json.loads(
        ok(
            d,
            "registry",
            "add-agent",
            "--registry",
            "reg.json",
            "--agent",
            RESEARCHER,
            "--key",
            "r.pub",
            "--json",
        )
    )
    assert added == {
        "ok": True,
        "registry": "reg.json",
        "kind": "agent",
        "agent": RESEARCHER,
        "kid": added["kid"],
    }
    reg = json.loads((d / "reg.json").read_text())
    assert list(reg["roots"]) == [ORCH]
    assert reg["agents"][PLANNER]["baseline"] == [{"tool": "crm.read", "resource": "customers/**"}]

    c1 = ok(
        d,
        "mint",
        "--key",
        "o.key",
        "--to",
        PLANNER,
        "--to-key",
        "p.pub",
        "--cap",
        GRANT,
        "--ttl",
        "10m",
        "--depth",
        "2",
        "--task",
        "T-42",
        "--obo",
        "user:alice",
    )
    assert (len(c1.splitlines()), c1.count(".")) == (1, 2)  # one compact token
    hop2 = json.loads(
        ok(
            d,
            "delegate",
            "--chain",
            "-",
            "--key",
            "p.key",
            "--to",
            RESEARCHER,
            "--to-key",
            "r.pub",
            "--cap",
            SLICE,
            "--ttl",
            "300",
            "--json",
            stdin=c1,
        )
    )
    assert (hop2["hops"], hop2["holder"], hop2["depth"]) == (2, RESEARCHER, 1)
    assert hop2["chain"].startswith(c1.strip() + "~")
    (d / "c2.txt").write_text(hop2["chain"] + "\n")
    return Flow(d)


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
    argv = _verify(files, "--store", f"sqlite:///{store}", "--audit", str(tmp_path / "a.jsonl"))
    assert main([*argv, "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert (body["ok"], body["code"]) == (False, "store_unavailable")
    assert store.read_bytes() == b"not a database" * 64


def test_demo_text_and_json(tmp_path: Path) -> None:
    """demo tells the story (exit 0) and --json prints one parseable summary."""
    text = ok(tmp_path, "demo", "--out", "story")
    for code in ("allowed", "scope_escalation", "proof_replayed", "bad_signature", "revoked"):
        assert code in text
    assert (tmp_path / "story" / "chain.txt").exists()
    assert (tmp_path / "story" / "audit.jsonl").exists()

    body = json.loads(ok(tmp_path, "demo", "--json", "--out", "summary"))
    assert body["ok"] is True
    assert body["out"].endswith("summary")
    outcomes = [s["outcome"] for s in body["steps"]]
    assert {"allow", "scope_escalation", "proof_replayed", "bad_signature", "revoked"} <= set(
        outcomes
    )
    assert all(s["ok"] for s in body["steps"])
    assert body["audit"]["ok"] is True


def test_real_process_errors_are_one_line(tmp_path: Path) -> None:
    """In the real process too: an unknown command and a garbage chain exit 2, one line."""
    assert_one_error_line(run(tmp_path, "frobnicate"), "usage_error")
    (tmp_path / "g.txt").write_text("garbage\n")
    assert_one_error_line(run(tmp_path, "inspect", "--chain", "g.txt"), "malformed")


def test_closed_stdout_exits_141_quietly(tmp_path: Path) -> None:
    """A reader that goes away (``| head``) ends the command with 141 and no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "delegation.cli", "demo", "--out", "d"],
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
        out(
            "registry",
            "add-agent",
            "--registry",
            "reg.json",
            "--agent",
            agent,
            "--key",
            f"{name}.pub",
            "--baseline",
            "crm.read",
        )
    c1 = out(
        "mint",
        "--key",
        "o.key",
        "--to",
        PLANNER,
        "--to-key",
        "p.pub",
        "--cap",
        GRANT,
        "--ttl",
        "1h",
        "--depth",
        "1",
        "--obo",
        "user:bob",
        "--purpose",
        "audit prep",
    )
    (tmp_path / "c1.txt").write_text(c1)
    c2 = out(
        "delegate",
        "--chain",
        "c1.txt",
        "--key",
        "p.key",
        "--to",
        RESEARCHER,
        "--to-key",
        "r.pub",
        "--cap",
        SLICE,
        "--ttl",
        "90s",
    )
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
    assert "3 records" in out("audit", "verify", "delegation-audit.jsonl")  # 2 verify + revoke

    text = out("demo", "--out", "story")
    assert "every step behaved as it must" in text
    assert json.loads(out("demo", "--json", "--out", "story"))["ok"] is True


# --- error paths, in-process --- #


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Key files, a chain and junk, made with the library (no subprocess)."""
    d = tmp_path_factory.mktemp("err")
    orch = AgentKey.generate(ORCH)
    orch.save(d / "o.key", public_path=d / "o.pub")
    registry = Registry()
    registry.add_root(orch.agent, orch.public)
    registry.save(d / "reg.json")
    AgentKey.generate(PLANNER).save(d / "p.key", public_path=d / "p.pub")
    (d / "bad.key").write_text("{not json")
    (d / "g.txt").write_text("garbage.chain\n")
    (d / "empty.txt").write_text("\n")
    names = ("o.key", "o.pub", "p.key", "p.pub", "reg.json", "bad.key", "g.txt", "empty.txt")
    out = {n: str(d / n) for n in names}
    out["missing"] = str(d / "missing.key")
    out["dir"] = str(d)
    return out


def _mint(
    f: dict[str, str],
    *,
    key: str = "o.key",
    to_key: str = "p.pub",
    cap: str = "crm.read",
    ttl: str = "10m",
) -> list[str]:
    return [
        "mint",
        "--key",
        f.get(key, key),
        "--to",
        PLANNER,
        "--to-key",
        f.get(to_key, to_key),
        "--cap",
        cap,
        "--ttl",
        ttl,
    ]


ERROR_CASES: list[tuple[str, Callable[[dict[str, str]], list[str]], str]] = [
    ("missing key file", lambda f: _mint(f, key="missing"), "file_error"),
    ("malformed key file", lambda f: _mint(f, key="bad.key"), "invalid_key"),
    ("public file as private key", lambda f: _mint(f, key="o.pub"), "invalid_key"),
    ("private file as public key", lambda f: _mint(f, to_key="p.key"), "invalid_key"),
    ("key of another agent", lambda f: _mint(f, to_key="o.pub"), "invalid_key"),
    ("bad duration", lambda f: _mint(f, ttl="10x"), "invalid_input"),
    ("zero duration", lambda f: _mint(f, ttl="0s"), "invalid_input"),
    ("ttl over the maximum", lambda f: _mint(f, ttl="2h"), "lifetime_exceeded"),
    ("bad capability pattern", lambda f: _mint(f, cap="crm..read"), "invalid_capability"),
    ("bad capability JSON", lambda f: _mint(f, cap="{bad"), "invalid_capability"),
    ("garbage chain", lambda f: ["inspect", "--chain", f["g.txt"]], "malformed"),
    ("empty chain file", lambda f: ["inspect", "--chain", f["empty.txt"]], "file_error"),
    ("missing chain file", lambda f: ["inspect", "--chain", f["missing"]], "file_error"),
    (
        "garbage chain to delegate",
        lambda f: [
            "delegate",
            "--chain",
            f["g.txt"],
            "--key",
            f["p.key"],
            "--to",
            RESEARCHER,
            "--to-key",
            f["p.pub"],
            "--cap",
            "crm.read",
            "--ttl",
            "1m",
        ],
        "malformed",
    ),
    (
        "bad --arg",
        lambda f: [
            "prove",
            "--chain",
            f["g.txt"],
            "--key",
            f["p.key"],
            "--aud",
            TOOL,
            "--tool",
            "crm.read",
            "--resource",
            "x",
            "--arg",
            "novalue",
        ],
        "invalid_request",
    ),
    ("unknown command", lambda f: ["frobnicate"], "usage_error"),
    ("no command", lambda f: [], "usage_error"),
    ("missing required flags", lambda f: ["mint", "--key", f["o.key"]], "usage_error"),
    ("bad --depth", lambda f: [*_mint(f), "--depth", "two"], "usage_error"),
    ("two revocation kinds", lambda f: ["revoke", "--task", "T", "--jti", "J"], "usage_error"),
    ("empty revocation value", lambda f: ["revoke", "--task", " "], "invalid_input"),
    (
        "unknown store URL",
        lambda f: ["revoke", "--task", "T", "--store", "ftp://x"],
        "configuration_error",
    ),
    ("missing audit log", lambda f: ["audit", "verify", f["missing"]], "file_error"),
    (
        "keygen will not overwrite",
        lambda f: ["keygen", "--agent", ORCH, "--out", f["o.key"]],
        "file_error",
    ),
    (
        "registry key of another agent",
        lambda f: [
            "registry",
            "add-root",
            "--registry",
            f["dir"] + "/r.json",
            "--agent",
            ORCH,
            "--key",
            f["p.pub"],
        ],
        "invalid_key",
    ),
    (
        "malformed registry",
        lambda f: [
            "registry",
            "add-root",
            "--registry",
            f["bad.key"],
            "--agent",
            ORCH,
            "--key",
            f["o.pub"],
        ],
        "invalid_registry",
    ),
]


def _verify(f: dict[str, str], *extra: str, registry: str = "reg.json") -> list[str]:
    return [
        "verify",
        "--chain",
        f["g.txt"],
        "--proof",
        f["g.txt"],
        "--registry",
        f[registry],
        "--aud",
        TOOL,
        *REQUEST,
        *extra,
    ]


ERROR_CASES += [
    ("verify --policy missing", lambda f: _verify(f, "--policy", "p.yaml"), "file_error"),
    ("verify bad --at", lambda f: _verify(f, "--at", "yesterday"), "invalid_input"),
    ("verify bad request", lambda f: _verify(f, "--resource", "a/../b"), "invalid_request"),
    (
        "verify non-registry",
        lambda f: _verify(f, registry="o.pub"),
        "invalid_registry",
    ),
    (
        "verify stdin twice",
        lambda f: [
            "verify",
            "--chain",
            "-",
            "--proof",
            "-",
            "--registry",
            "r",
            "--aud",
            TOOL,
            *REQUEST,
        ],
        "invalid_input",
    ),
]


@pytest.mark.parametrize(
    ("args", "code"), [(c[1], c[2]) for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_bad_input_exits_2_with_one_line(
    args: Callable[[dict[str, str]], list[str]],
    code: str,
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Every bad input: exit 2, one ``error: <code>: ...`` line on stderr, nothing on stdout;
    with --json, one JSON object on stdout instead."""
    monkeypatch.chdir(tmp_path)
    argv = args(files)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {code}: ")

    assert main([*argv, "--json"] if argv else ["--json"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    body = json.loads(out)
    assert (body["ok"], body["code"]) == (False, code)
    assert list(tmp_path.iterdir()) == []  # an input error leaves no store or log behind


def test_security_warning_is_one_stderr_line(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A risky but allowed mint succeeds and prints ``warning: ...`` on stderr."""
    assert main([*_mint(files, cap="**"), "--depth", "1"]) == 0
    out, err = capsys.readouterr()
    assert (out.count("~"), out.count(".")) == (0, 2)  # one token on stdout
    assert err.startswith("warning: ")
    assert len(err.splitlines()) == 1


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
    import delegation.cli as cli

    def interrupted(ns: object) -> int:
        raise KeyboardInterrupt

    def buggy(ns: object) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.delenv("DELEGATION_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_cmd_inspect", interrupted)
    assert main(["inspect", "--chain", "x"]) == 130
    monkeypatch.setattr(cli, "_cmd_inspect", buggy)
    assert main(["inspect", "--chain", "x"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "error: internal_error: unexpected ZeroDivisionError: boom"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("2d", 172800), ("45", 45), (" 5M ", 300)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    """Durations take s, m, h, d or plain seconds."""
    assert parse_duration(text) == seconds


def test_parse_time_and_args() -> None:
    """Times are POSIX or ISO (UTC when no zone); --arg values are JSON when they parse."""
    assert parse_time("1800000000") == parse_time("2027-01-15T08:00:00") == 1_800_000_000
    assert parse_time("2027-01-15T09:00:00+01:00") == 1_800_000_000
    assert parse_args_kv(["n=10", "b=true", 's="x"', "l=[1,2]", "w=eu", "e=", "nan=NaN"]) == {
        "n": 10,
        "b": True,
        "s": "x",
        "l": [1, 2],
        "w": "eu",
        "e": "",
        "nan": "NaN",
    }


def test_task_open_close_and_audited_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """task open/close and revoke write the store and the audit log; reopening is refused."""
    monkeypatch.chdir(tmp_path)
    assert main(["task", "open", "--task", "T-1", "--deadline", "10m", "--json"]) == 0
    opened = json.loads(capsys.readouterr().out)
    assert opened["task"]["deadline"] - opened["task"]["opened_at"] == 600
    assert main(["revoke", "--jti", "J-1", "--reason", "leaked"]) == 0
    assert main(["revoke", "--token", "TOK", "--ttl", "1h", "--json"]) == 0
    revoked = json.loads(capsys.readouterr().out.splitlines()[-1])["revoked"]
    assert 3500 < revoked["until"] - time.time() <= 3600
    assert main(["task", "close", "--task", "T-1", "--reason", "done"]) == 0
    capsys.readouterr()
    assert main(["task", "open", "--task", "T-1", "--deadline", "10m"]) == 2
    assert capsys.readouterr().err.startswith("error: task_not_open: ")
    lines = (tmp_path / "delegation-audit.jsonl").read_text().splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events == ["task_open", "revoke", "revoke", "task_close"]
    assert main(["audit", "verify", "delegation-audit.jsonl"]) == 0
    from delegation import open_store

    store = open_store("sqlite:///delegation-store.sqlite")
    try:
        assert store.first_revoked([("task", "T-1")], now=time.time()) == ("task", "T-1")
        assert store.first_revoked([("jti", "J-1")], now=time.time()) == ("jti", "J-1")
    finally:
        store.close()


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


def test_mint_with_a_task_store(
    files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mint --store needs an open task and ends the token at its deadline; --audit records it."""
    store = f"sqlite:///{tmp_path}/s.sqlite"
    audit = str(tmp_path / "a.jsonl")
    mint = ["mint", "--key", files["o.key"], "--to", PLANNER, "--to-key", files["p.pub"],
            "--cap", "crm.read", "--ttl", "10m", "--task", "T-77", "--store", store,
            "--audit", audit, "--json"]  # fmt: skip
    assert main(mint) == 2
    assert json.loads(capsys.readouterr().out)["code"] == "task_not_open"
    assert main(["task", "open", "--task", "T-77", "--deadline", "2m", "--store", store,
                 "--audit", audit]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(mint) == 0
    minted = json.loads(capsys.readouterr().out)
    assert minted["expires_at"] - time.time() <= 120  # clipped to the task deadline
    events = [json.loads(line)["event"] for line in Path(audit).read_text().splitlines()]
    assert events == ["task_open", "mint"]
