"""Error paths, in-process: every bad input is exit 2 and one line (or one JSON object)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import (
    ORCH,
    PLANNER,
    REQUEST,
    TOOL,
    add_agent_argv,
    delegate_argv,
    mint_argv,
    prove_argv,
    verify_argv,
)

from delegation.cli import main

ERROR_CASES: list[tuple[str, Callable[[dict[str, str]], list[str]], str]] = [
    ("missing key file", lambda f: mint_argv(f, key="missing"), "file_error"),
    ("malformed key file", lambda f: mint_argv(f, key="bad.key"), "invalid_key"),
    ("public file as private key", lambda f: mint_argv(f, key="o.pub"), "invalid_key"),
    ("private file as public key", lambda f: mint_argv(f, to_key="p.key"), "invalid_key"),
    ("key of another agent", lambda f: mint_argv(f, to_key="o.pub"), "invalid_key"),
    ("bad duration", lambda f: mint_argv(f, ttl="10x"), "invalid_input"),
    ("zero duration", lambda f: mint_argv(f, ttl="0s"), "invalid_input"),
    ("ttl over the maximum", lambda f: mint_argv(f, ttl="2h"), "lifetime_exceeded"),
    ("bad capability pattern", lambda f: mint_argv(f, cap="crm..read"), "invalid_capability"),
    ("bad capability JSON", lambda f: mint_argv(f, cap="{bad"), "invalid_capability"),
    ("garbage chain", lambda f: ["inspect", "--chain", f["g.txt"]], "malformed"),
    ("empty chain file", lambda f: ["inspect", "--chain", f["empty.txt"]], "file_error"),
    ("missing chain file", lambda f: ["inspect", "--chain", f["missing"]], "file_error"),
    (
        "garbage chain to delegate",
        lambda f: delegate_argv(f, to_key="p.pub", cap="crm.read", ttl="1m"),
        "malformed",
    ),
    (
        "bad --arg",
        lambda f: prove_argv(f, "--tool", "crm.read", "--resource", "x", "--arg", "novalue"),
        "invalid_request",
    ),
    ("unknown command", lambda f: ["frobnicate"], "usage_error"),
    ("no command", lambda f: [], "usage_error"),
    ("missing required flags", lambda f: ["mint", "--key", f["o.key"]], "usage_error"),
    ("bad --depth", lambda f: [*mint_argv(f), "--depth", "two"], "usage_error"),
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


ERROR_CASES += [
    ("verify --policy missing", lambda f: verify_argv(f, "--policy", "p.yaml"), "file_error"),
    ("verify bad --at", lambda f: verify_argv(f, "--at", "yesterday"), "invalid_input"),
    ("verify bad request", lambda f: verify_argv(f, "--resource", "a/../b"), "invalid_request"),
    (
        "verify non-registry",
        lambda f: verify_argv(f, registry="o.pub"),
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
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A risky but allowed mint succeeds and prints ``warning: ...`` on stderr."""
    (tmp_path / "log.jsonl").touch()  # an existing log (from $DELEGATION_AUDIT): no note
    monkeypatch.setenv("DELEGATION_AUDIT", str(tmp_path / "log.jsonl"))
    assert main([*mint_argv(files, cap="**"), "--depth", "1"]) == 0
    out, err = capsys.readouterr()
    assert (out.count("~"), out.count(".")) == (0, 2)  # one token on stdout
    assert err.startswith("warning: ")
    assert len(err.splitlines()) == 1


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


HOMOGLYPH = "spiffe://acme.example/agent/pl\u0430nner"  # a Cyrillic a (U+0430)


@pytest.mark.parametrize(
    ("flag", "argv"),
    [
        ("--agent", lambda f: ["keygen", "--agent", HOMOGLYPH, "--out", f["dir"] + "/h.key"]),
        (
            "--agent",
            lambda f: [
                "registry",
                "add-root",
                "--registry",
                f["dir"] + "/h.json",
                "--agent",
                HOMOGLYPH,
                "--key",
                f["o.pub"],
            ],
        ),
        ("--agent", lambda f: add_agent_argv(f["dir"] + "/h.json", HOMOGLYPH, f["p.pub"])),
        ("--to", lambda f: mint_argv(f, to=HOMOGLYPH)),
        ("--aud", lambda f: prove_argv(f, *REQUEST, aud=HOMOGLYPH)),
        ("--aud", lambda f: verify_argv(f, aud=HOMOGLYPH)),
    ],
    ids=["keygen", "add-root", "add-agent", "mint", "prove", "verify"],
)
def test_a_unicode_agent_id_is_an_invalid_agent_id(
    flag: str,
    argv: Callable[[dict[str, str]], list[str]],
    files: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A homoglyph agent id is named as an invalid agent id, whatever file would be read next."""
    assert main([*argv(files), "--json"]) == 2
    body = json.loads(capsys.readouterr().out)
    assert body["code"] == "invalid_input", body
    assert body["message"].startswith(f"invalid agent id: {flag} "), body


def test_revoking_an_unknown_id_is_allowed_but_noted(capsys: pytest.CaptureFixture[str]) -> None:
    """Revoking ahead of time works, with a note (stderr; "known"/"note" in --json)."""
    assert main(["task", "open", "--task", "T-5", "--deadline", "10m"]) == 0
    capsys.readouterr()
    assert main(["revoke", "--task", "T-5"]) == 0
    assert "note: " not in capsys.readouterr().err  # the store knows the task
    assert main(["revoke", "--token", "no-such-token"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("revoked token no-such-token")
    assert "note: token no-such-token appears neither in the store nor in the audit log" in err
    assert main(["revoke", "--jti", "J-unknown", "--json"]) == 0
    out, err = capsys.readouterr()
    body = json.loads(out)
    assert (body["ok"], body["known"]) == (True, False)
    assert "revoked ahead of time" in body["note"]
    assert err == ""


def test_revoking_a_minted_token_is_not_noted(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A token id, jti or key the audit log has recorded is known: no note."""
    assert main([*mint_argv(files), "--json"]) == 0
    token = json.loads(capsys.readouterr().out)
    facts = [json.loads(x) for x in Path("delegation-audit.jsonl").read_text().splitlines()]
    minted = facts[-1]["token"]
    assert minted["token_id"] == token["token_id"]
    for kind, value in (("token", minted["token_id"]), ("jti", minted["jti"]),
                        ("key", minted["cnf_kid"])):  # fmt: skip
        # --kind=value: a random jti may begin with "-", which argparse would take for an option
        assert main(["revoke", f"--{kind}={value}", "--json"]) == 0
        body = json.loads(capsys.readouterr().out)
        assert body["known"] is True and "note" not in body, (kind, body)


def test_audit_verify_of_an_empty_log_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """An empty log is reported as empty, with the note that only --expect-head detects a
    truncation; exit 0 (there is nothing wrong in it)."""
    Path("empty.jsonl").touch()
    assert main(["audit", "verify", "empty.jsonl"]) == 0
    out, err = capsys.readouterr()
    assert out == "empty.jsonl: empty, 0 records\n"
    assert "only --expect-head" in err
    assert main(["audit", "verify", "empty.jsonl", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["ok"], body["records"], body["empty"]) == (True, 0, True)
    assert "only --expect-head" in body["note"]
