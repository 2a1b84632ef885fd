"""Tamper-evident audit log: append-only JSON lines, each carrying the SHA-256 of the last.

Record schema version 1 (one JSON object per line)::

    {"v": 1, "seq": 7, "ts": 1764331200.5, "event": "verify", ...event fields...,
     "prev": "<hex SHA-256 of the previous line's bytes, or 64 zeros>"}

Appends take an exclusive file lock, read the last line, write, flush and fsync, so
several processes can share one log. :func:`verify_log` finds any edited, deleted,
inserted or reordered record (and a truncated last line) and names the first bad one.
An edit of the very last record, or the removal of records at the end, can only be seen
against a copy of the latest hash kept elsewhere (``verify_log(..., expect_head=...)``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from .clock import Clock, SystemClock
from .errors import ConfigurationError, FileError, StoreUnavailable

__all__ = ["AuditReport", "AuditSink", "JsonlAudit", "MemoryAudit", "read_log", "verify_log"]

SCHEMA_VERSION = 1
GENESIS = "0" * 64
RESERVED = frozenset({"v", "seq", "ts", "event", "prev"})


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    clash = RESERVED & fields.keys()
    if clash:
        raise ConfigurationError(f"audit fields may not set {sorted(clash)}")
    return fields


@runtime_checkable
class AuditSink(Protocol):
    """Where decisions go. ``append`` must be durable or raise ``StoreUnavailable``."""

    def append(self, event: str, fields: dict[str, Any]) -> None: ...


class MemoryAudit:
    """Keeps records in a list (tests, examples).

    >>> a = MemoryAudit(); a.append("verify", {"decision": "allow"}); a.records[0]["event"]
    'verify'
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()

    def append(self, event: str, fields: dict[str, Any]) -> None:
        with self._lock:
            self.records.append(
                {
                    "v": SCHEMA_VERSION,
                    "seq": len(self.records),
                    "ts": self._clock.now(),
                    "event": event,
                    **_fields(fields),
                }
            )


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(fh: BinaryIO) -> bytes | None:
    fh.seek(0, os.SEEK_END)
    end = fh.tell()
    if end == 0:
        return None
    pos, chunk, buf = end, 4096, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        fh.seek(pos)
        buf = fh.read(step) + buf
        stripped = buf.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return buf.rstrip(b"\n")


class JsonlAudit:
    """The hash-chained JSONL audit log, safe with several writers.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    >>> log = JsonlAudit(path); log.append("task_open", {"task": "T-1"})
    >>> verify_log(path).ok
    True
    """

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()

    def append(self, event: str, fields: dict[str, Any]) -> None:
        try:
            with self._lock, open(self.path, "a+b") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                try:
                    last = _last_line(fh)
                    if last is None:
                        seq, prev = 0, GENESIS
                    else:
                        try:
                            seq = int(json.loads(last)["seq"]) + 1
                        except (ValueError, KeyError, TypeError):
                            raise StoreUnavailable(
                                f"audit log {self.path} ends in a damaged record; "
                                "run 'delegation audit verify' before appending"
                            ) from None
                        prev = _line_hash(last)
                    record = {
                        "v": SCHEMA_VERSION,
                        "seq": seq,
                        "ts": self._clock.now(),
                        "event": event,
                        **_fields(fields),
                        "prev": prev,
                    }
                    line = json.dumps(record, separators=(",", ":"), sort_keys=False) + "\n"
                    fh.seek(0, os.SEEK_END)
                    fh.write(line.encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        except OSError as exc:
            raise StoreUnavailable(f"cannot append to audit log {self.path}: {exc}") from None


@dataclass(frozen=True)
class AuditReport:
    """The outcome of :func:`verify_log`: ``ok``, how many records, the first bad one."""

    ok: bool
    records: int
    head: str
    bad_line: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "records": self.records, "head": self.head}
        if not self.ok:
            out.update(code="audit_tampered", line=self.bad_line, message=self.reason)
        return out


def read_log(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Stream the records of an audit log (no integrity check; see :func:`verify_log`)."""
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    raise FileError(f"{path}:{number}: not a JSON record") from None
                if isinstance(record, dict):
                    yield record
    except FileNotFoundError:
        raise FileError(f"audit log not found: {path}") from None
    except OSError as exc:
        raise FileError(f"cannot read audit log {path}: {exc.strerror}") from None


def _record_problem(line: bytes, prev: str, seq: int) -> tuple[int, str] | None:
    """What is wrong with ``line`` given the chain so far: (which line, 0 = this one or
    -1 = the one before, and why), or None."""
    if not line.endswith(b"\n"):
        return 0, "the last record is truncated (no end of line)"
    try:
        record = json.loads(line)
    except ValueError:
        return 0, "not a JSON record"
    if not isinstance(record, dict):
        return 0, "not a JSON object"
    if record.get("v") != SCHEMA_VERSION:
        return 0, f"unknown schema version {record.get('v')!r}"
    if record.get("seq") != seq:
        return 0, (
            f"sequence broken: expected seq {seq}, found {record.get('seq')!r} "
            "(a record was deleted, inserted or reordered here)"
        )
    if record.get("prev") != prev:
        # In sequence, yet its hash of the line before does not match: that line was edited.
        return -1, "edited: the next record's hash of this line no longer matches"
    return None


def verify_log(path: str | os.PathLike[str], *, expect_head: str | None = None) -> AuditReport:
    """Check every link of the hash chain; report the first bad record (1-based line).

    ``expect_head``: the hash of the last record as recorded elsewhere, to catch edits of
    the final record or deletions at the end. Raises ``FileError`` for a missing file.
    """
    prev, seq, count, before = GENESIS, 0, 0, GENESIS
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise FileError(f"audit log not found: {path}") from None
    except OSError as exc:
        raise FileError(f"cannot read audit log {path}: {exc.strerror}") from None
    with fh:
        for number, line in enumerate(fh, 1):
            problem = _record_problem(line, prev, seq)
            if problem is not None:
                offset, reason = problem
                if offset:  # the previous line is the bad one: the chain is good up to before it
                    return AuditReport(False, count - 1, before, number - 1, reason)
                return AuditReport(False, count, prev, number, reason)
            before, prev, seq, count = prev, _line_hash(line), seq + 1, count + 1
    if expect_head is not None and expect_head != prev:
        return AuditReport(False, count, prev, count, "the last record is not the expected head")
    return AuditReport(True, count, prev)
