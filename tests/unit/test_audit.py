from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from delegation import DelegationError, FixedClock, JsonlAudit, read_log, verify_log
from delegation.audit import TaskCloseEvent, VerifyEvent


def _write(path: Path, n: int) -> None:
    log = JsonlAudit(path, clock=FixedClock(1000))
    for i in range(n):
        log.append(VerifyEvent(audience=f"x:tool/{i}", decision="allow", code="allowed"))


def test_hash_chain_verifies(tmp_path: Path) -> None:
    """An untouched log verifies, counting its records."""
    path = tmp_path / "a.jsonl"
    _write(path, 5)
    report = verify_log(path)
    assert report.ok and report.records == 5
    assert [r.seq for r in read_log(path)] == [0, 1, 2, 3, 4]
    assert verify_log(path, expect_head=report.head).ok


@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "reorder", "truncate", "garbage"])
def test_tampering_is_found_and_named(tmp_path: Path, tamper: str) -> None:
    """Edits, deletions, insertions, reordering and a truncated last line are all found."""
    path = tmp_path / "a.jsonl"
    _write(path, 5)
    lines = path.read_bytes().splitlines(keepends=True)
    if tamper == "edit":
        rec = json.loads(lines[2])
        rec["decision"] = "deny"
        lines[2] = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        expected = 3  # the edited record itself is named
    elif tamper == "delete":
        del lines[1]
        expected = 2
    elif tamper == "insert":
        lines.insert(3, lines[1])
        expected = 4
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
        expected = 2
    elif tamper == "truncate":
        lines[-1] = lines[-1][:20]
        expected = 5
    else:
        lines[0] = b"not json\n"
        expected = 1
    path.write_bytes(b"".join(lines))
    report = verify_log(path)
    assert not report.ok
    assert report.bad_line == expected, report.reason
    assert report.to_dict()["code"] == "audit_tampered"


def test_edit_of_last_record_needs_the_head(tmp_path: Path) -> None:
    """An edit of the final record is found against the head recorded elsewhere."""
    path = tmp_path / "a.jsonl"
    _write(path, 3)
    head = verify_log(path).head
    lines = path.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"allow"', b'"deny"')
    path.write_bytes(b"".join(lines))
    assert not verify_log(path, expect_head=head).ok


def test_append_refuses_a_damaged_tail(tmp_path: Path) -> None:
    """Appending after a damaged last record fails (store_unavailable) and loses nothing."""
    path = tmp_path / "a.jsonl"
    _write(path, 2)
    with path.open("ab") as fh:
        fh.write(b'{"broken')
    before = path.read_bytes()
    with pytest.raises(DelegationError) as ei:
        JsonlAudit(path).append(TaskCloseEvent(task="T-1"))
    assert ei.value.code == "store_unavailable"
    assert path.read_bytes() == before


def test_missing_log_is_file_error(tmp_path: Path) -> None:
    """Verifying a missing log is file_error, not a traceback."""
    with pytest.raises(DelegationError) as ei:
        verify_log(tmp_path / "none.jsonl")
    assert ei.value.code == "file_error"


def _writer(path: str, n: int, who: int) -> None:
    log = JsonlAudit(path)
    for i in range(n):
        log.append(TaskCloseEvent(task=f"T-{who}-{i}"))


def test_several_processes_append_without_loss(tmp_path: Path) -> None:
    """Several writer processes on one log: every record kept, chain intact."""
    path = tmp_path / "shared.jsonl"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), 40, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    report = verify_log(path)
    assert report.ok, report.reason
    assert report.records == 120
    seen = {r.event.task for r in read_log(path) if isinstance(r.event, TaskCloseEvent)}
    assert len(seen) == 120
