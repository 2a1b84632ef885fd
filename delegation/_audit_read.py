"""Reading audit records back: one JSON line into an :class:`AuditRecord` with its typed
event, with a fast path for facts a log repeats (:class:`RecordReader`).

Public names are re-exported by :mod:`delegation.audit`.
"""

from __future__ import annotations

import json
import os
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
