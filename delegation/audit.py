"""Tamper-evident audit log: append-only JSON lines, each carrying the SHA-256 of the last.

Record schema version 1 (one JSON object per line)::

    {"v": 1, "seq": 7, "ts": 1764331200.5, "event": "verify", ...event fields...,
     "prev": "<hex SHA-256 of the previous line's bytes, or 64 zeros>",
     "sig": "<base64url Ed25519 signature of this record's hash>"}

Appends take an exclusive file lock, read the last line, write, flush and fsync, so
several processes can share one log. :func:`verify_log` finds any edited, deleted,
inserted or reordered record (and a truncated last line) and names the first bad one.

The hash chain alone has no key: whoever can write the file can edit a record and
recompute ``seq``/``prev`` for every later one. A writer given an audit key
(``JsonlAudit(path, key=AgentKey)``, Ed25519) signs every record: ``sig`` is the
signature of ``delegation-audit-v1:`` followed by the hex SHA-256 of the record's line
without its ``sig`` member. ``verify_log(path, key=PublicKey)`` then refuses any record
that is unsigned or whose signature fails, so a rewrite needs the key. Removing records
from the end (truncation) leaves a valid signed log: only a head hash kept elsewhere
(``expect_head``) catches it, key or not.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from ._audit_encode import event_json, line_bytes, reference_fields
from ._audit_events import (
    GENESIS,
    SCHEMA_VERSION,
    AcceptEvent,
    AuditEvent,
    DelegateEvent,
    ElevateEvent,
    MintEvent,
    PolicyFacts,
    ProofFacts,
    RequestFacts,
    RevokeEvent,
    TaskCloseEvent,
    TaskOpenEvent,
    TokenFacts,
    VerifyEvent,
)
from ._audit_read import AuditRecord, RecordReader, parse_record, read_log
from ._jose import b64url_decode, b64url_encode
from .clock import Clock, or_system_clock
from .errors import (
    ConfigurationError,
    FileError,
    MalformedError,
    StoreUnavailable,
)
from .keys import AgentKey, PublicKey

__all__ = [
    "AcceptEvent",
    "AuditEvent",
    "AuditRecord",
    "AuditReport",
    "AuditSink",
    "DelegateEvent",
    "ElevateEvent",
    "JsonlAudit",
    "MemoryAudit",
    "MintEvent",
    "PolicyFacts",
    "ProofFacts",
    "RecordReader",
    "RequestFacts",
    "RevokeEvent",
    "TaskCloseEvent",
    "TaskOpenEvent",
    "TokenFacts",
    "VerifyEvent",
    "parse_record",
    "read_log",
    "verify_log",
]


def _wire(event: AuditEvent) -> dict[str, Any]:
    return reference_fields(event)


# --- sinks --- #


@runtime_checkable
class AuditSink(Protocol):
    """Where decisions go. ``append`` must be durable or raise ``StoreUnavailable``."""

    def append(self, event: AuditEvent) -> None: ...


class MemoryAudit:
    """Keeps records in a list, in their wire form (tests, examples).

    >>> a = MemoryAudit(); a.append(TaskCloseEvent(task="T-1")); a.records[0]["event"]
    'task_close'
    >>> [r.event.task for r in a.events() if isinstance(r.event, TaskCloseEvent)]
    ['T-1']
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.records: list[dict[str, Any]] = []
        self._clock = or_system_clock(clock)
        self._lock = threading.Lock()

    def append(self, event: AuditEvent) -> None:
        fields = _wire(event)
        with self._lock:
            self.records.append(
                {"v": SCHEMA_VERSION, "seq": len(self.records), "ts": self._clock.now(), **fields}
            )

    def events(self) -> Iterator[AuditRecord]:
        """The records read back as typed events."""
        for number, record in enumerate(list(self.records), 1):
            yield parse_record(json.dumps(record), where=f"record {number}")


def _line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def _file_state(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_dev, st.st_ino, st.st_size


def _last_line_of(fd: int, end: int) -> bytes | None:
    """The last non-empty line of the first ``end`` bytes of the file ``fd``."""
    if end == 0:
        return None
    pos, chunk, buf = end, 4096, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        stripped = buf.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
    return buf.rstrip(b"\n")


_SIG_CONTEXT = b"delegation-audit-v1:"
# A signed line ends with its signature member; what precedes it, closed, is what was signed.
_SIG_TAIL = re.compile(rb',"sig":"([A-Za-z0-9_-]{86})"}\n?\Z')


def _signed_message(body: bytes) -> bytes:
    return _SIG_CONTEXT + hashlib.sha256(body).hexdigest().encode("ascii")


def _check_audit_key(key: AgentKey | PublicKey) -> None:
    if key.alg != "EdDSA":
        raise ConfigurationError(f"an audit key must be Ed25519 (EdDSA), not {key.alg}")


_DURABILITY = ("fsync", "group", "flush")


class JsonlAudit:
    """The hash-chained JSONL audit log, safe with several writers.

    ``key``: the writer's audit key (Ed25519, an :class:`~delegation.keys.AgentKey`); each
    record is then signed (``sig``), and ``verify_log(path, key=key.public)`` detects a
    rewritten log. Without it the log is unsigned: only its hash chain protects it.

    Warning: the key signs whatever the writer appends, so it protects the log against
    whoever can write the file but cannot read the key (keep it readable by the writer
    only); anyone holding it can rewrite the log undetectably (truncation needs no key).

    ``durability``: ``"fsync"`` (default) makes each record durable before ``append``
    returns; ``"group"`` (group commit) too, but threads appending at once share one
    fsync; ``"flush"`` hands each record to the operating system without fsync: it
    survives a crash of the process, **not** a power loss or a crash of the machine.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    >>> log = JsonlAudit(path); log.append(TaskCloseEvent(task="T-1"))
    >>> verify_log(path).ok
    True
    >>> key = AgentKey.generate("spiffe://acme.example/audit/writer")
    >>> signed = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    >>> JsonlAudit(signed, key=key).append(TaskCloseEvent(task="T-1"))
    >>> verify_log(signed, key=key.public).signed
    True
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Clock | None = None,
        *,
        key: AgentKey | None = None,
        durability: Literal["fsync", "group", "flush"] = "fsync",
    ) -> None:
        if key is not None:
            if not isinstance(key, AgentKey):
                raise ConfigurationError("JsonlAudit key= takes an AgentKey (the private key)")
            _check_audit_key(key)
        if durability not in _DURABILITY:
            raise ConfigurationError(f"durability must be one of {', '.join(_DURABILITY)}")
        self.path = Path(path)
        self._clock = or_system_clock(clock)
        self._lock = threading.Lock()
        self._key = key
        self.durability = durability
        # group commit: writes are numbered; one fsync covers every write numbered before it
        self._sync = threading.Condition()
        self._written = 0
        self._synced = 0
        self._syncing = False
        # (file state after our last write, its seq, its hash): while the file is as we
        # left it (same inode and size: every writer appends under the lock, so another
        # writer's record would have grown it), the next record follows ours without
        # reading the file back.
        self._tail: tuple[tuple[int, int, int], int, str] | None = None

    def _line(self, seq: int, fields: bytes, prev: str) -> bytes:
        body = line_bytes(SCHEMA_VERSION, seq, self._clock.now(), fields, prev)
        if self._key is None:
            return body + b"\n"
        sig = b64url_encode(self._key.sign(_signed_message(body)))
        return body[:-1] + b',"sig":"' + sig.encode("ascii") + b'"}\n'

    def append(self, event: AuditEvent) -> None:
        fields = event_json(event)
        try:
            with self._lock:
                fd = os.open(self.path, _APPEND_FLAGS, 0o666)
                try:
                    ticket = self._append_locked(fd, fields)
                finally:
                    os.close(fd)
            if ticket:
                self._group_fsync(ticket)
        except OSError as exc:
            self._tail = None
            raise StoreUnavailable(f"cannot append to audit log {self.path}: {exc}") from None

    def _append_locked(self, fd: int, fields: bytes) -> int:
        """Write one record under the file lock; the group-commit ticket, or 0."""
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            seen = os.fstat(fd)
            tail = self._tail
            if tail is not None and tail[0] == _file_state(seen):
                seq, prev = tail[1] + 1, tail[2]  # the last record is still the one we wrote
            else:
                seq, prev = self._read_tail(fd, seen.st_size)
            self._tail = None
            line = self._line(seq, fields, prev)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            ticket = 0
            if self.durability == "fsync":
                os.fsync(fd)
            elif self.durability == "group":
                with self._sync:
                    self._written += 1
                    ticket = self._written
            end = (seen.st_dev, seen.st_ino, seen.st_size + len(line))  # appended under the lock
            self._tail = (end, seq, _line_hash(line))
            return ticket
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _read_tail(self, fd: int, size: int) -> tuple[int, str]:
        """The next ``seq`` and ``prev`` from the file's last line (another writer's too)."""
        last = _last_line_of(fd, size)
        if last is None:
            return 0, GENESIS
        try:
            seq = int(json.loads(last)["seq"]) + 1
        except (ValueError, KeyError, TypeError):
            raise StoreUnavailable(
                f"audit log {self.path} ends in a damaged record; "
                "run 'delegation audit verify' before appending"
            ) from None
        return seq, _line_hash(last)

    def _group_fsync(self, ticket: int) -> None:
        # Returns once write ``ticket`` is on disk. The first waiter fsyncs for everyone
        # written so far; the others wait for it, or for the next one if theirs came late.
        with self._sync:
            while self._synced < ticket:
                if self._syncing:
                    self._sync.wait()
                    continue
                self._syncing, target = True, self._written
                try:
                    self._sync.release()
                    try:
                        fd = os.open(self.path, os.O_RDONLY)
                        try:
                            os.fsync(fd)
                        finally:
                            os.close(fd)
                    finally:
                        self._sync.acquire()
                finally:
                    self._syncing = False
                    self._sync.notify_all()
                self._synced = max(self._synced, target)


@dataclass(frozen=True)
class AuditReport:
    """The outcome of :func:`verify_log`: ``ok``, how many records, the first bad one."""

    ok: bool
    records: int
    head: str
    bad_line: int | None = None
    reason: str | None = None
    signed: bool = False  # checked with an audit key: every record up to head is signed by it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "records": self.records,
            "head": self.head,
            "signed": self.signed,
        }
        if not self.ok:
            out.update(code="audit_tampered", line=self.bad_line, message=self.reason)
        return out


def _record_problem(line: bytes, prev: str, seq: int) -> tuple[int, str] | None:
    """What is wrong with ``line`` given the chain so far: (which line, 0 = this one or
    -1 = the one before, and why), or None."""
    if not line.endswith(b"\n"):
        return 0, "the last record is truncated (no end of line)"
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
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


def _signature_problem(line: bytes, key: PublicKey) -> str | None:
    """Why ``line`` is not a record signed by ``key``, or None."""
    m = _SIG_TAIL.search(line)
    if m is None:
        return "unsigned record (checked with an audit key, every record must carry sig)"
    body = line[: m.start()] + b"}"
    try:
        sig = b64url_decode(m.group(1).decode("ascii"), what="sig")
    except MalformedError:
        return "malformed signature"
    if not key.is_valid(sig, _signed_message(body)):
        return "signature does not verify under the audit key (edited, or signed by another key)"
    return None


def verify_log(
    path: str | os.PathLike[str],
    *,
    expect_head: str | None = None,
    key: PublicKey | None = None,
) -> AuditReport:
    """Check every link of the hash chain; report the first bad record (1-based line).

    ``key``: the writer's public audit key. Every record must then carry a valid ``sig``
    under it, which detects a rewritten log (records edited, inserted or deleted, the
    last one included, and ``seq``/``prev`` recomputed after them); ``signed`` is True in
    the report. Without it only the hash chain is checked, which detects accidental
    damage and naive edits but not a rewrite. ``expect_head``: the hash of the last record
    as recorded elsewhere, to catch records dropped from the end (with or without key)
    and, without a key, edits of the final record. Raises ``FileError`` for a missing
    file, ``ConfigurationError`` for a key that is not Ed25519.
    """
    if key is not None:
        if not isinstance(key, PublicKey):
            raise ConfigurationError("verify_log key= takes a PublicKey (the audit key's)")
        _check_audit_key(key)
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
            if problem is None and key is not None:
                reason = _signature_problem(line, key)
                problem = None if reason is None else (0, reason)
            if problem is not None:
                offset, reason = problem
                if offset:  # the previous line is the bad one: the chain is good up to before it
                    return AuditReport(False, count - 1, before, number - 1, reason)
                return AuditReport(False, count, prev, number, reason)
            before, prev, seq, count = prev, _line_hash(line), seq + 1, count + 1
    if expect_head is not None and expect_head != prev:
        return AuditReport(False, count, prev, count, "the last record is not the expected head")
    return AuditReport(True, count, prev, signed=key is not None)
