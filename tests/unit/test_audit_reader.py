"""RecordReader: token facts read before are reused, never at the price of a bad line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from delegation.audit import RecordReader, parse_record
from delegation.errors import InvalidAuditRecord

FACTS: dict[str, Any] = {
    "token_id": "tid-1",
    "iss": "spiffe://acme.example/orchestrator",
    "sub": "spiffe://acme.example/agent/a0",
    "jti": "j1",
    "task": "T-1",
    "iat": 100,
    "exp": 200,
    "dpth": 2,
    "caps": [{"tool": "db.query", "resource": "**", "constraints": {"max_rows": {"max": 1}}}],
    "receipt": False,
}


def line(seq: int, chain: list[dict[str, Any]]) -> bytes:
    record = {
        "v": 1,
        "seq": seq,
        "ts": 1.0,
        "event": "accept",
        "decision": "allow",
        "code": "allowed",
        "audience": FACTS["sub"],
        "chain": chain,
        "prev": "0" * 64,
    }
    return json.dumps(record).encode()


def outcome(parse: Callable[..., Any], data: bytes) -> object:
    """The event ``parse`` reads from ``data``, or the message it refuses it with."""
    try:
        return parse(data, where="log:2").event
    except InvalidAuditRecord as exc:
        return exc.message


def test_repeated_facts_are_the_same_object() -> None:
    reader = RecordReader()
    first = reader.parse(line(0, [FACTS]))
    second = reader.parse(line(1, [dict(FACTS)]))
    assert first.event.chain is not None and second.event.chain is not None
    assert second.event.chain[0] is first.event.chain[0]
    assert second.event == parse_record(line(1, [FACTS])).event


@pytest.mark.parametrize(
    "change",
    [
        {
            "caps": [
                {"tool": "db.query", "resource": "**", "constraints": {"max_rows": {"max": True}}}
            ]
        },
        {"iat": "100"},
        {"receipt": 0.0},
        {"caps": [{"tool": "db.query", "resource": "**", "extra": 1}]},
        {"dpth": 2.0},
        {"receipt": 0},
    ],
)
def test_an_equal_looking_hop_reads_as_it_would_alone(change: dict[str, Any]) -> None:
    """Equal in Python (1 == True == 1.0) is not enough to reuse facts: a bad line is
    still reported with the same message, a good one read to the same event."""
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    other = line(1, [{**FACTS, **change}])
    assert outcome(reader.parse, other) == outcome(parse_record, other)


def test_a_bad_constraint_equal_to_a_good_one_is_reported() -> None:
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    bad = {**FACTS, "caps": [{**FACTS["caps"][0], "constraints": {"max_rows": {"max": True}}}]}
    assert bad == FACTS  # to Python
    with pytest.raises(InvalidAuditRecord, match=r"log:2: accept\.chain\.0\.caps\.0\.constraints"):
        reader.parse(line(1, [bad]), where="log:2")


def test_memory_is_bounded() -> None:
    reader = RecordReader(remember=4)
    for i in range(10):
        reader.parse(line(i, [{**FACTS, "token_id": f"t{i}"}]))
    assert len(reader._facts) == 4


VERIFY: dict[str, Any] = {
    "v": 1,
    "seq": 2,
    "ts": 3.0,
    "event": "verify",
    "decision": "deny",
    "code": "policy_denied",
    "message": "no",
    "hop": 0,
    "audience": "svc",
    "policy": {"effect": "deny", "rules": ["r1"], "digest": "d"},
    "labels": {"k": [1, 2.0]},
    "request": {"tool": "db.query", "resource": "r", "args": "a"},
    "proof": {"jti": "p", "iss": FACTS["sub"], "aud": "svc"},
    "unknown": 1,
    "prev": "0" * 64,
}


@pytest.mark.parametrize(
    "record",
    [
        VERIFY,
        {k: v for k, v in VERIFY.items() if k not in ("message", "hop", "labels", "proof")},
        {**VERIFY, "policy": {"effect": "allow", "digest": "d"}, "request": None},
        {**json.loads(line(5, [])), "labels": None},
    ],
)
def test_a_known_chain_reads_to_the_validated_event(record: dict[str, Any]) -> None:
    """Fast path: a decision whose chain is all known is built without the validator, to
    the very event (and fields set) the validator gives."""
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    if record.get("event") == "verify":
        record = {**record, "chain": [dict(FACTS)]}
    data = json.dumps(record).encode()
    fast, slow = reader.parse(data), parse_record(data)
    assert fast == slow
    assert fast.event.model_fields_set == slow.event.model_fields_set
    for part in ("policy", "request", "proof", "labels"):
        a, b = getattr(fast.event, part, None), getattr(slow.event, part, None)
        assert a == b
        if hasattr(a, "model_fields_set"):
            assert a.model_fields_set == b.model_fields_set
    assert fast.event.model_dump() == slow.event.model_dump()


@pytest.mark.parametrize(
    "change",
    [
        {"decision": "maybe"},
        {"decision": True},
        {"code": 5},
        {"message": 1},
        {"hop": True},
        {"hop": "1"},
        {"hop": 1.0},
        {"audience": None},
        {"policy": {"effect": "deny", "rules": [1], "digest": "d"}},
        {"policy": {"effect": "deny", "rules": "r", "digest": "d"}},
        {"policy": []},
        {"labels": [1]},
        {"request": {"tool": "db.query", "resource": "r"}},
        {"request": {"tool": "db.query", "resource": 1, "args": "a"}},
        {"proof": "p"},
        {"chain": [{**FACTS, "iat": True}]},
        {"chain": [{**FACTS, "dpth": 2.0}]},
        {"chain": [{**FACTS, "exp": "200"}]},
    ],
)
def test_a_known_chain_with_a_bad_member_reads_as_it_would_alone(change: dict[str, Any]) -> None:
    """Whatever the fast path does not take goes through the validator: the same event
    or the same message (line and reason) as a reader that knew nothing."""
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    data = json.dumps({**VERIFY, "chain": [dict(FACTS)], **change}).encode()
    assert outcome(reader.parse, data) == outcome(parse_record, data)


def test_a_known_token_whose_facts_changed_type_is_refused() -> None:
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    with pytest.raises(InvalidAuditRecord, match=r"log:2: accept\.chain\.0\.dpth"):
        reader.parse(line(1, [{**FACTS, "dpth": 2.5}]), where="log:2")
    changed = {**FACTS, "iat": 100.0}
    assert changed == FACTS  # to Python: yet the validator, not the memo, reads it
    event = reader.parse(line(2, [changed])).event
    assert event == parse_record(line(2, [changed])).event
