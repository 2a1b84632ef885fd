"""Regression (hardening item 4): the audit log could be rewritten undetectably.

The hash chain has no key: whoever could write the file could turn a deny into an allow
(or delete a record) and recompute ``seq``/``prev`` for the rest, and ``audit verify``
reported the chain intact. A writer given an audit key now signs every record, and
``verify_log(path, key=...)`` / ``audit verify --key`` detect the rewrite. What stays
undetected is pinned here too: without the key a rewrite passes; truncation passes even
with the key, and only a shipped head catches it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from delegation import AgentKey, JsonlAudit, read_log, verify_log
from delegation.audit import TaskCloseEvent, TaskOpenEvent, VerifyEvent, parse_record
from delegation.cli import main

AUDITOR = "spiffe://acme.example/audit/writer"
AUD = "spiffe://acme.example/tool/crm"


def _write_log(path: Path, key: AgentKey | None) -> None:
    log = JsonlAudit(path, key=key)
    log.append(TaskOpenEvent(task="T-1", deadline=2e9))
    log.append(VerifyEvent(decision="deny", code="scope_escalation", audience=AUD))
    log.append(VerifyEvent(decision="allow", code="allowed", audience=AUD))
    log.append(TaskCloseEvent(task="T-1"))


def _rewrite(path: Path, *, edit: int | None = None, delete: int | None = None) -> None:
    """What an attacker who can write the file does: change records, recompute the chain."""
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    if edit is not None:
        records[edit].update(decision="allow", code="allowed")
    if delete is not None:
        del records[delete]
    prev, lines = "0" * 64, []
    for seq, r in enumerate(records):
        r.update(seq=seq, prev=prev)
        line = json.dumps(r, separators=(",", ":"))
        prev = hashlib.sha256(line.encode()).hexdigest()
        lines.append(line + "\n")
    path.write_text("".join(lines))


@pytest.fixture
def key() -> AgentKey:
    return AgentKey.generate(AUDITOR)


@pytest.mark.parametrize(
    ("change", "line"),
    [({"edit": 1}, 2), ({"delete": 1}, 2), ({"edit": 3}, 4), ({"delete": 3}, None)],
    ids=["deny-to-allow", "delete-middle", "edit-last", "truncate-last"],
)
def test_rewrite_with_and_without_key(
    tmp_path: Path, key: AgentKey, change: dict[str, int], line: int | None
) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, key)
    head = verify_log(path, key=key.public).head
    _rewrite(path, **change)

    assert verify_log(path).ok  # without the key: the recomputed hash chain looks intact
    with_key = verify_log(path, key=key.public)
    if line is None:  # truncation: every remaining record is genuinely signed
        assert with_key.ok
    else:
        assert (with_key.ok, with_key.bad_line) == (False, line), with_key
    # A head shipped elsewhere catches every one of them, key or not.
    assert not verify_log(path, expect_head=head).ok
    assert not verify_log(path, expect_head=head, key=key.public).ok


def test_intact_signed_log_verifies_and_reads_as_schema_v1(tmp_path: Path, key: AgentKey) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, key)
    report = verify_log(path, key=key.public)
    assert (report.ok, report.signed, report.records) == (True, True, 4)
    assert verify_log(path).ok  # readers without the key still check the chain
    first = path.read_bytes().splitlines()[0]
    assert b'"sig":' in first
    assert parse_record(first).event.event == "task_open"
    assert [r.event.event for r in read_log(path)][-1] == "task_close"


def test_unsigned_log_or_other_key_fails_with_key(tmp_path: Path, key: AgentKey) -> None:
    unsigned, other = tmp_path / "u.jsonl", tmp_path / "o.jsonl"
    _write_log(unsigned, None)
    _write_log(other, AgentKey.generate(AUDITOR))
    for path in (unsigned, other):
        report = verify_log(path, key=key.public)
        assert (report.ok, report.bad_line) == (False, 1)


def test_cli_audit_key_and_verify_key(
    tmp_path: Path,
    key: AgentKey,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    key.save(tmp_path / "audit.key", public_path=tmp_path / "audit.pub")
    store = ["--store", "sqlite:///s.sqlite", "--audit", "a.jsonl"]
    assert (
        main(
            [
                "task",
                "open",
                "--task",
                "T-1",
                "--deadline",
                "1h",
                *store,
                "--audit-key",
                "audit.key",
            ]
        )
        == 0
    )
    monkeypatch.setenv("DELEGATION_AUDIT_KEY", "audit.key")
    assert main(["revoke", "--jti", "j-1", *store]) == 0  # the key from the environment
    assert main(["task", "close", "--task", "T-1", *store]) == 0
    capsys.readouterr()

    assert main(["--json", "audit", "verify", "a.jsonl", "--key", "audit.pub"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["ok"], out["signed"], out["records"]) == (True, True, 3)

    _rewrite(tmp_path / "a.jsonl", edit=1)
    assert main(["--json", "audit", "verify", "a.jsonl"]) == 0  # no key: not seen
    capsys.readouterr()
    assert main(["--json", "audit", "verify", "a.jsonl", "--key", "audit.pub"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["code"], out["line"]) == ("audit_tampered", 2)
