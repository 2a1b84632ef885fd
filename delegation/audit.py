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
import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar, runtime_checkable

import orjson
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined, from_json

from ._audit_encode import event_json, line_bytes, reference_fields, remember_plain
from ._jose import b64url_decode, b64url_encode
from .capabilities import Capability
from .clock import Clock, or_system_clock
from .errors import (
    ConfigurationError,
    FileError,
    InvalidAuditRecord,
    MalformedError,
    StoreUnavailable,
)
from .keys import AgentKey, PublicKey, thumbprint
from .tokens import DelegationClaims, UnverifiedToken

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

SCHEMA_VERSION = 1
GENESIS = "0" * 64


# --- the events (schema v1; docs/audit.md) --- #


class _Fact(BaseModel):
    # Readers ignore fields they do not know (schema v1 may gain fields).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


def _caps_wire(caps: tuple[Capability, ...]) -> list[dict[str, Any]]:
    return [c.to_wire() for c in caps]


# Capabilities in their wire form (as tokens carry them), read back as Capability objects.
WireCaps = Annotated[tuple[Capability, ...], PlainSerializer(_caps_wire)]


class TokenFacts(_Fact):
    """What a record says of one delegation token (``token`` of mint/delegate, each hop
    of ``chain`` in verify/accept). It has the claims the chain checks read
    (:class:`delegation.checks.Hop`), so a graph built from logs is judged by them."""

    token_id: str
    parent: str | None = None
    iss: str
    sub: str
    jti: str
    kid: str | None = None
    cnf_kid: str | None = None
    task: str
    obo: str | None = None
    iat: int
    exp: int
    dpth: int
    caps: WireCaps
    receipt: bool = False

    @property
    def prf(self) -> str | None:
        """The parent's token id, by its claim name."""
        return self.parent

    @property
    def nbf(self) -> None:
        """Not recorded: the log keeps ``iat``, which minting sets equal to ``nbf``."""
        return None

    @classmethod
    def of_token(cls, t: UnverifiedToken) -> TokenFacts:
        """The facts of a parsed token (trusted input: no validation is repeated)."""
        c: DelegationClaims = t.claims
        cnf_kid = c.cnf.jwk.get("kid")
        if cnf_kid is None:
            try:
                cnf_kid = thumbprint(dict(c.cnf.jwk))
            except Exception:  # an unusable key binds nothing that can be named
                cnf_kid = None
        kid = t.header.get("kid")
        values = {  # every field, in order: what model_construct would build, quicker
            "token_id": t.token_id,
            "parent": c.prf,
            "iss": c.iss,
            "sub": c.sub,
            "jti": c.jti,
            "kid": kid if isinstance(kid, str) else None,
            "cnf_kid": cnf_kid,
            "task": c.task,
            "obo": c.obo,
            "iat": c.iat,
            "exp": c.exp,
            "dpth": c.dpth,
            "caps": tuple(c.caps),
            "receipt": c.rcpt is not None,
        }
        facts = _construct(cls, set(values), values)
        remember_plain(facts, values)  # its JSON form, for a sink about to write it
        return facts


class _Signed(_Fact):
    token: TokenFacts
    elevation: str | None = None  # the elevation that allowed a grant beyond the baseline


class MintEvent(_Signed):
    """A root grant signed by a ``Delegator``."""

    event: Literal["mint"] = "mint"


class DelegateEvent(_Signed):
    """A delegation (a non-root hop) signed by a ``Delegator``."""

    event: Literal["delegate"] = "delegate"


class RequestFacts(_Fact):
    """The request of a ``verify``: tool, resource and the RFC 8785 digest of its args."""

    tool: str
    resource: str
    args: str


class ProofFacts(_Fact):
    """The proof of a ``verify``, once parsed."""

    jti: str
    iss: str
    aud: str


class PolicyFacts(_Fact):
    """The verifier's policy verdict: effect, the rules that decided, the policy digest,
    and on a deny the policy's explanation (``Decision.explanation``), when it gave one."""

    effect: str
    rules: tuple[str, ...] = ()
    digest: str
    explanation: tuple[str, ...] | None = None


class _Decision(_Fact):
    decision: Literal["allow", "deny"]
    code: str
    message: str | None = None
    hop: int | None = None
    audience: str
    chain: tuple[TokenFacts, ...] | None = None
    policy: PolicyFacts | None = None
    labels: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


class VerifyEvent(_Decision):
    """A ``Verifier.verify`` decision, allow or deny."""

    event: Literal["verify"] = "verify"
    request: RequestFacts | None = None
    proof: ProofFacts | None = None


class AcceptEvent(_Decision):
    """A ``Verifier.accept`` decision: an agent's check of an inbound delegation."""

    event: Literal["accept"] = "accept"


class TaskOpenEvent(_Fact):
    """A task opened, with its deadline."""

    event: Literal["task_open"] = "task_open"
    task: str
    deadline: float
    owner: str | None = None
    purpose: str | None = None


class TaskCloseEvent(_Fact):
    """A task closed (every chain of it revoked)."""

    event: Literal["task_close"] = "task_close"
    task: str
    reason: str | None = None


class ElevateEvent(_Fact):
    """An approved, self-expiring widening beyond the registry baselines for one task."""

    event: Literal["elevate"] = "elevate"
    id: str
    task: str
    caps: WireCaps
    approved_by: str
    reason: str
    granted_at: float
    until: float


class RevokeEvent(_Fact):
    """A revocation of a token id, jti, task or key thumbprint."""

    event: Literal["revoke"] = "revoke"
    kind: Literal["token", "jti", "task", "key"]
    value: str
    until: float | None = None
    reason: str | None = None


AuditEvent = Annotated[
    MintEvent
    | DelegateEvent
    | VerifyEvent
    | AcceptEvent
    | TaskOpenEvent
    | TaskCloseEvent
    | ElevateEvent
    | RevokeEvent,
    Field(discriminator="event"),
]
_EVENT: TypeAdapter[AuditEvent] = TypeAdapter(AuditEvent, config=ConfigDict(defer_build=True))


_DECISION_FIELDS = frozenset(_Decision.model_fields) | {"event"}
_VERIFY_FIELDS = _DECISION_FIELDS | {"request", "proof"}


_M = TypeVar("_M", bound=BaseModel)


def _construct(cls: type[_M], fields_set: set[str], values: dict[str, Any]) -> _M:
    """What ``cls.model_construct`` builds, for values already of the fields' types, in
    the fields' order, every field given: without its per-call field walk."""
    obj = cls.__new__(cls)
    _set = object.__setattr__
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


@functools.cache
def _defaults(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    if any(f.default_factory is not None for f in cls.model_fields.values()):
        raise TypeError(f"{cls.__name__}: a default factory would be shared")  # none has one
    return tuple((name, f.default) for name, f in cls.model_fields.items())


def facts_of(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for trusted values (the verifier's and minter's
    own facts), unknown names dropped, defaults filled in: quicker, the same object."""
    full = {name: values.get(name, default) for name, default in _defaults(cls)}
    if PydanticUndefined in full.values():  # a required field not given: as model_construct
        full = {k: v for k, v in full.items() if v is not PydanticUndefined}
    return _construct(cls, values.keys() & full.keys(), full)


def _str_fields(raw: object, model: type[_M], names: tuple[str, ...]) -> _M | None:
    """``model`` of a JSON object whose members ``names`` are all strings, else None."""
    if type(raw) is not dict:
        return None
    values = {}
    for name in names:
        v = raw.get(name)
        if type(v) is not str:
            return None
        values[name] = v
    return _construct(model, set(names), values)


def _fast_policy(raw: object) -> PolicyFacts | None:
    # Only the plain shape is built here; anything else (an explanation, a member this
    # reader does not know) goes through the validator, which has the last word.
    if type(raw) is not dict or not raw.keys() <= {"effect", "rules", "digest"}:
        return None
    effect, digest = raw.get("effect"), raw.get("digest")
    if type(effect) is not str or type(digest) is not str:
        return None
    rules = raw.get("rules", [])
    if type(rules) is not list or not all(type(r) is str for r in rules):
        return None
    values = {"effect": effect, "rules": tuple(rules), "digest": digest, "explanation": None}
    fields = {"effect", "rules", "digest"} if "rules" in raw else {"effect", "digest"}
    return _construct(PolicyFacts, fields, values)


def _fast_decision(
    record: dict[str, Any], kind: str, chain: list[Any]
) -> VerifyEvent | AcceptEvent | None:
    """The event of a verify/accept record whose chain holds only facts already validated,
    built without the validator when every other member has exactly the type the model
    asks for (the same event the validator would give); None for anything else, which
    then goes through the validator (and its error message) as before."""
    decision, code, audience = record.get("decision"), record.get("code"), record.get("audience")
    if (
        (decision != "allow" and decision != "deny")
        or type(decision) is not str
        or type(code) is not str
        or type(audience) is not str
    ):
        return None
    message, hop, labels = record.get("message"), record.get("hop"), record.get("labels")
    if message is not None and type(message) is not str:
        return None
    if hop is not None and type(hop) is not int:
        return None
    if labels is not None:
        if type(labels) is not dict:
            return None
        labels = dict(labels)  # JSON object keys are strings
    policy = record.get("policy")
    if policy is not None:
        policy = _fast_policy(policy)
        if policy is None:
            return None
    values: dict[str, Any] = {
        "decision": decision,
        "code": code,
        "message": message,
        "hop": hop,
        "audience": audience,
        "chain": tuple(chain),
        "policy": policy,
        "labels": labels,
    }
    if kind == "accept":
        values["event"] = "accept"
        return _construct(AcceptEvent, record.keys() & _DECISION_FIELDS, values)
    request, proof = record.get("request"), record.get("proof")
    if request is not None:
        request = _str_fields(request, RequestFacts, ("tool", "resource", "args"))
        if request is None:
            return None
    if proof is not None:
        proof = _str_fields(proof, ProofFacts, ("jti", "iss", "aud"))
        if proof is None:
            return None
    values["event"] = "verify"
    values["request"], values["proof"] = request, proof
    return _construct(VerifyEvent, record.keys() & _VERIFY_FIELDS, values)


@dataclass(frozen=True)
class AuditRecord:
    """One record read back from a log: where it stood, when, and its typed event."""

    seq: int
    ts: float
    event: AuditEvent
    line: int = 0
    prev: str | None = None


def _wire(event: AuditEvent) -> dict[str, Any]:
    return reference_fields(event)


def parse_record(line: bytes | str, *, where: str = "audit record") -> AuditRecord:
    """Read one JSON line of a log into an :class:`AuditRecord` (no integrity check).

    Raises ``invalid_audit_record`` naming ``where`` and what is wrong: not JSON, not an
    object, an unknown schema version, an unknown event, or a field of the wrong type.

    >>> r = parse_record(b'{"v":1,"seq":0,"ts":1.0,"event":"task_close","task":"T-1"}')
    >>> r.seq, r.event.event, r.event.task
    (0, 'task_close', 'T-1')
    """
    return _parse(line, where, None)


class RecordReader:
    """Reads the lines of a log like :func:`parse_record`, remembering token facts.

    Logs repeat a token's facts in every chain that holds it (each ``verify`` and
    ``accept`` carries the whole chain): a hop already read, in exactly the same JSON
    values and types, is not validated again and the same :class:`TokenFacts` object is
    returned. At most ``remember`` tokens are kept (the oldest go first), so memory does
    not grow with the log. Every line is still checked; a bad one raises as before.

    >>> reader = RecordReader()
    >>> reader.parse(b'{"v":1,"seq":0,"ts":1.0,"event":"task_close","task":"T-1"}').seq
    0
    """

    def __init__(self, remember: int = 16384) -> None:
        self.remember = remember
        self._facts: dict[str, tuple[bytes, TokenFacts, dict[str, Any]]] = {}

    def parse(self, line: bytes | str, *, where: str = "audit record") -> AuditRecord:
        """One line, as :func:`parse_record` reads it. Raises ``invalid_audit_record``."""
        return _parse(line, where, self)

    def _known(self, raw: object) -> TokenFacts | None:
        if type(raw) is not dict:
            return None
        token_id = raw.get("token_id")
        hit = self._facts.get(token_id) if type(token_id) is str else None
        if hit is None:
            return None
        # The same bytes in orjson's form: the same values of the same JSON types (``1``,
        # ``1.0`` and ``true`` differ); ``==`` as well, for what orjson writes alike
        # (NaN and None both as null). Unknown members must match too (rarely differ).
        try:
            if hit[0] == orjson.dumps(raw) and hit[2] == raw:
                return hit[1]
        except (TypeError, ValueError):  # e.g. an integer beyond 64 bits: validate it
            pass
        return None

    def _keep(self, raw: object, facts: TokenFacts) -> None:
        if type(raw) is dict and isinstance(raw.get("token_id"), str):
            try:
                wire = orjson.dumps(raw)
            except (TypeError, ValueError):
                return
            table = self._facts
            if facts.token_id not in table and len(table) >= self.remember:
                del table[next(iter(table))]
            table[facts.token_id] = (wire, facts, raw)


def _load(line: bytes | str, where: str) -> object:
    try:
        return from_json(line)  # pydantic-core's parser: about twice as fast as json
    except ValueError:
        pass
    try:  # what it refuses (other encodings, lone surrogates...) json may still read
        return json.loads(line)
    except (ValueError, RecursionError):
        raise InvalidAuditRecord(f"{where}: not a JSON record") from None


def _parse(line: bytes | str, where: str, reader: RecordReader | None) -> AuditRecord:
    record = _load(line, where)
    if not isinstance(record, dict):
        raise InvalidAuditRecord(f"{where}: not a JSON object")
    if record.get("v") != SCHEMA_VERSION:
        raise InvalidAuditRecord(f"{where}: unknown schema version {record.get('v')!r}")
    seq, ts, prev = record.get("seq"), record.get("ts"), record.get("prev")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidAuditRecord(f"{where}: seq must be a non-negative integer")
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        raise InvalidAuditRecord(f"{where}: ts must be a number")
    raws: list[Any] = []  # token facts as read (None where the reader knew them)
    if reader is not None:
        # Hand the validator the facts already read: it keeps model instances as they are.
        kind = record.get("event")
        if kind == "verify" or kind == "accept":
            chain = record.get("chain")
            if type(chain) is list:
                raws = list(chain)
                known = reader._known
                for i, raw in enumerate(chain):
                    facts = known(raw)
                    if facts is not None:
                        chain[i] = facts
                        raws[i] = None
                if not any(raws):  # nothing new in the chain: the rest is checked by hand
                    fast = _fast_decision(record, kind, chain)
                    if fast is not None:
                        return AuditRecord(
                            seq, float(ts), fast, prev=prev if type(prev) is str else None
                        )
        elif kind == "mint" or kind == "delegate":
            facts = reader._known(record.get("token"))
            if facts is None:
                raws = [record.get("token")]
            else:
                record["token"] = facts
    try:
        event = _EVENT.validate_python(record)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])[:80]
        raise InvalidAuditRecord(f"{where}: {field or 'record'}: {err['msg']}") from None
    if raws and reader is not None:
        read: tuple[TokenFacts, ...] | None = None
        if isinstance(event, MintEvent | DelegateEvent):
            read = (event.token,)
        if isinstance(event, VerifyEvent | AcceptEvent):
            read = event.chain
        for raw, fact in zip(raws, read or (), strict=False):
            if raw is not None:
                reader._keep(raw, fact)
    return AuditRecord(seq, float(ts), event, prev=prev if isinstance(prev, str) else None)


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


def read_log(path: str | os.PathLike[str]) -> Iterator[AuditRecord]:
    """Stream the typed records of an audit log (no integrity check; see :func:`verify_log`).

    Raises ``file_error`` for a missing file and ``invalid_audit_record`` (naming the file
    and line) at the first line that is not a valid record: nothing is skipped silently.
    """
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    record = parse_record(line, where=f"{path}:{number}")
                    yield AuditRecord(record.seq, record.ts, record.event, number, record.prev)
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
