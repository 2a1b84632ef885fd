"""Reading audit records back: one JSON line into an :class:`AuditRecord` with its typed
event, with a fast path for facts a log repeats (:class:`RecordReader`).

Public names are re-exported by :mod:`delegation.audit`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import from_json

from ._audit_events import (
    _EVENT,
    _M,
    SCHEMA_VERSION,
    AcceptEvent,
    AuditEvent,
    DelegateEvent,
    MintEvent,
    PolicyFacts,
    ProofFacts,
    RequestFacts,
    TokenFacts,
    VerifyEvent,
    _construct,
    _Decision,
)
from .errors import (
    FileError,
    InvalidAuditRecord,
)

_DECISION_FIELDS = frozenset(_Decision.model_fields) | {"event"}
_VERIFY_FIELDS = _DECISION_FIELDS | {"request", "proof"}


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
    ``accept`` carries the whole chain). A hop already read is recognised by its bytes
    before the line is parsed: where a line holds, byte for byte, the JSON object of facts
    read before (as ``JsonlAudit`` writes them), that object is cut out of the text, the
    rest is parsed, and the facts already validated take its place. At most ``remember``
    tokens are kept (the oldest go first), so memory does not grow with the log. Every
    line is still checked; a bad one raises as before.

    >>> reader = RecordReader()
    >>> reader.parse(b'{"v":1,"seq":0,"ts":1.0,"event":"task_close","task":"T-1"}').seq
    0
    """

    def __init__(self, remember: int = 16384) -> None:
        self.remember = remember
        # the bytes of a token id in a facts object -> (that object's bytes, its facts)
        self._facts: OrderedDict[bytes, tuple[bytes, TokenFacts]] = OrderedDict()
        # What stands for cut-out facts: unguessable, so no line can forge one.
        self._mark = f"known-facts-{secrets.token_hex(16)}-"
        self._marks: list[bytes] = []  # marker i's JSON text, made on first use

    def parse(self, line: bytes | str, *, where: str = "audit record") -> AuditRecord:
        """One line, as :func:`parse_record` reads it. Raises ``invalid_audit_record``."""
        return _parse(line, where, self)

    def _elide(self, line: bytes) -> tuple[bytes, list[TokenFacts]]:
        """``line`` with each facts object read before replaced by a marker string, and the
        facts in marker order. Sound because in valid JSON the bytes ``{"token_id":"``
        can only open an object (inside a string, the quote after ``{`` would close it),
        and an object's bytes end where its text ends: the same bytes, the same object. A
        marker can only come from here (it holds a secret of this reader)."""
        found: list[TokenFacts] = []
        parts: list[bytes] = []
        find, get, marks, start = line.find, self._facts.get, self._marks, 0
        pos = find(_OPEN)
        while pos >= 0:
            begin = pos + 13  # len(_OPEN)
            hit = get(line[begin : find(b'"', begin)])
            if hit is not None and line.startswith(hit[0], pos):
                if len(found) == len(marks):
                    marks.append(b'"%s%d"' % (self._mark.encode(), len(found)))
                parts += (line[start:pos], marks[len(found)])
                found.append(hit[1])
                start = pos + len(hit[0])
                pos = find(_OPEN, start)
            else:
                pos = find(_OPEN, begin)
        if not found:
            return line, found
        parts.append(line[start:])
        return b"".join(parts), found

    def _keep(self, raw: object, facts: TokenFacts, line: bytes) -> None:
        """Remember ``facts`` by the bytes ``raw`` stood in ``line`` as (if it did verbatim)."""
        try:
            wire = orjson.dumps(raw)
        except (TypeError, ValueError):  # e.g. an integer beyond 64 bits
            return
        end = wire.find(b'"', len(_OPEN))
        if not wire.startswith(_OPEN) or end < 0 or wire not in line:
            return  # another writer's spacing or escaping: read it in full each time
        table = self._facts
        key = wire[len(_OPEN) : end]
        table[key] = (wire, facts)
        table.move_to_end(key)
        if len(table) > self.remember:
            table.popitem(last=False)


_OPEN = b'{"token_id":"'


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
    found: list[TokenFacts] = []
    if reader is not None and type(line) is bytes:
        text, found = reader._elide(line)
    if found and reader is not None:
        try:
            record = _load(text, where)
        except InvalidAuditRecord:
            record = None  # read the whole line below, for the same verdict
        if not _put_back(record, found, reader._mark):
            record, found = _load(line, where), []
    else:
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
        kind = record.get("event")
        if kind == "verify" or kind == "accept":
            chain = record.get("chain")
            if type(chain) is list:
                raws = [None if type(raw) is TokenFacts else raw for raw in chain]
                if all(raw is None for raw in raws):  # the rest is checked by hand
                    fast = _fast_decision(record, kind, chain)
                    if fast is not None:
                        return AuditRecord(
                            seq, float(ts), fast, prev=prev if type(prev) is str else None
                        )
        elif kind == "mint" or kind == "delegate":
            token = record.get("token")
            raws = [None if type(token) is TokenFacts else token]
    try:
        event = _EVENT.validate_python(record)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])[:80]
        raise InvalidAuditRecord(f"{where}: {field or 'record'}: {err['msg']}") from None
    if reader is not None and type(line) is bytes and any(raw is not None for raw in raws):
        read: tuple[TokenFacts, ...] = ()
        if isinstance(event, MintEvent | DelegateEvent):
            read = (event.token,)
        elif isinstance(event, VerifyEvent | AcceptEvent):
            read = event.chain or ()
        for raw, fact in zip(raws, read, strict=False):
            if raw is not None:
                reader._keep(raw, fact, line)
    return AuditRecord(seq, float(ts), event, prev=prev if isinstance(prev, str) else None)


def _put_back(record: object, found: list[TokenFacts], mark: str) -> bool:
    """Put the facts cut out by :meth:`RecordReader._elide` back where their markers stand
    in the parsed record: True when every one stood in ``chain`` or ``token``; False
    otherwise (a marker nested elsewhere, or dropped by a repeated member)."""
    if type(record) is not dict:
        return False
    taken = 0
    chain = record.get("chain")
    if type(chain) is list:
        for i, item in enumerate(chain):
            if type(item) is str and item.startswith(mark):
                chain[i] = found[int(item[len(mark) :])]
                taken += 1
    token = record.get("token")
    if type(token) is str and token.startswith(mark):
        record["token"] = found[int(token[len(mark) :])]
        taken += 1
    return taken == len(found)


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
