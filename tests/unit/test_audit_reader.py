"""RecordReader: token facts read before are reused, never at the price of a bad line.

Lines are written as ``JsonlAudit`` writes them (compact JSON), the form whose facts
objects the reader recognises by their bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    return compact(record)


def compact(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


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
    data = compact(record)
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
    data = compact({**VERIFY, "chain": [dict(FACTS)], **change})
    assert outcome(reader.parse, data) == outcome(parse_record, data)


def test_a_line_written_with_spaces_reads_the_same_without_the_memo() -> None:
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    spaced = json.dumps(json.loads(line(1, [FACTS]))).encode()
    assert reader.parse(spaced) == parse_record(spaced)


@pytest.mark.parametrize(
    "record",
    [
        # the known facts' bytes nested in labels while the chain holds something else
        {**json.loads(line(1, [])), "labels": {"k": FACTS}, "chain": ["x"]},
        {**json.loads(line(1, [])), "labels": {"k": FACTS}},
        # a marker-like string, as a log could hold one: it is not the reader's secret
        {**json.loads(line(1, [])), "labels": {"k": FACTS}, "chain": ["known-facts-0"]},
        {**json.loads(line(1, [])), "chain": ["known-facts-0"]},
    ],
)
def test_known_bytes_outside_the_chain_read_as_they_would_alone(record: dict[str, Any]) -> None:
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    data = compact(record)
    assert outcome(reader.parse, data) == outcome(parse_record, data)


def test_a_repeated_chain_member_reads_as_it_would_alone() -> None:
    """JSON's last member wins: known facts in a member that is dropped are not used."""
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    known = compact(FACTS).decode()
    other = compact({**FACTS, "token_id": "tid-2", "dpth": "x"}).decode()
    for one, two in ((known, other), (other, known)):
        text = line(1, []).decode().replace('"chain":[]', f'"chain":[{one}],"chain":[{two}]')
        data = text.encode()
        assert outcome(reader.parse, data) == outcome(parse_record, data)


@settings(max_examples=300, deadline=None)
@given(
    at=st.integers(min_value=0, max_value=10_000),
    cut=st.integers(min_value=0, max_value=40),
    insert=st.sampled_from(["", " ", ",", "{", "}", "[", "]", '"', "\\", "1", "{}", "null"]),
)
def test_an_edited_line_reads_as_it_would_alone(at: int, cut: int, insert: str) -> None:
    """Property: whatever an edit does to a line whose facts the reader knows (cut bytes,
    add some), the reader gives exactly what a reader that knew nothing gives: the same
    event, field for field and type for type, or the same error message."""
    reader = RecordReader()
    reader.parse(line(0, [FACTS, {**FACTS, "token_id": "tid-2", "parent": "tid-1"}]))
    good = line(1, [FACTS, {**FACTS, "token_id": "tid-2", "parent": "tid-1"}]).decode()
    at %= len(good)
    data = (good[:at] + insert + good[at + cut :]).encode()

    def typed(parse: Callable[..., Any]) -> object:
        read = outcome(parse, data)
        return read.model_dump_json() if hasattr(read, "model_dump_json") else read

    assert typed(reader.parse) == typed(parse_record)


def test_a_known_token_whose_facts_changed_type_is_refused() -> None:
    reader = RecordReader()
    reader.parse(line(0, [FACTS]))
    with pytest.raises(InvalidAuditRecord, match=r"log:2: accept\.chain\.0\.dpth"):
        reader.parse(line(1, [{**FACTS, "dpth": 2.5}]), where="log:2")
    changed = {**FACTS, "iat": 100.0}
    assert changed == FACTS  # to Python: yet the validator, not the memo, reads it
    event = reader.parse(line(2, [changed])).event
    assert event == parse_record(line(2, [changed])).event
