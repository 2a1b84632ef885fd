"""``JsonlAudit(durability=...)``: fsync per record, group commit, or flush only."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from delegation import ConfigurationError, JsonlAudit, verify_log
from delegation.audit import TaskCloseEvent


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        original(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_unknown_durability_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        JsonlAudit(tmp_path / "a.jsonl", durability="never")  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "per_record"), [("fsync", 1), ("group", 1), ("flush", 0)])
def test_one_writer(tmp_path: Path, fsyncs: list[int], mode: str, per_record: int) -> None:
    log = JsonlAudit(tmp_path / "a.jsonl", durability=mode)  # type: ignore[arg-type]
    for i in range(5):
        log.append(TaskCloseEvent(task=f"T-{i}"))
    assert len(fsyncs) == 5 * per_record
    report = verify_log(tmp_path / "a.jsonl")
    assert report.ok and report.records == 5


def test_group_commit_shares_fsyncs_and_keeps_the_chain(tmp_path: Path, fsyncs: list[int]) -> None:
    """Many threads appending at once: every record is in, the chain intact, and no
    append returned before an fsync that began after its write (no more fsyncs than
    records)."""
    log = JsonlAudit(tmp_path / "a.jsonl", durability="group")
    start = threading.Barrier(8)

    def writer(k: int) -> None:
        start.wait()
        for i in range(25):
            log.append(TaskCloseEvent(task=f"T-{k}-{i}"))
            assert log._synced >= 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify_log(tmp_path / "a.jsonl")
    assert report.ok and report.records == 200
    assert 1 <= len(fsyncs) <= 200
    assert log._synced == log._written == 200


def test_group_append_waits_for_its_own_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append returns only after an fsync that started after its record was written."""
    log = JsonlAudit(tmp_path / "a.jsonl", durability="group")
    written_at_fsync: list[int] = []
    original = os.fsync

    def recording(fd: int) -> None:
        written_at_fsync.append(log._written)
        original(fd)

    monkeypatch.setattr(os, "fsync", recording)
    for i in range(3):
        log.append(TaskCloseEvent(task=f"T-{i}"))
        assert written_at_fsync[-1] == i + 1


def test_group_fsync_failure_is_store_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from delegation import StoreUnavailable

    log = JsonlAudit(tmp_path / "a.jsonl", durability="group")

    def failing(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(StoreUnavailable):
        log.append(TaskCloseEvent(task="T-1"))
    monkeypatch.undo()
    log.append(TaskCloseEvent(task="T-2"))  # a later fsync covers both
    assert log._synced == 2
