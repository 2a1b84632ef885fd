"""RecordReader: token facts read before are reused, never at the price of a bad line."""

from __future__ import annotations

import json
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

    def outcome(parse: Any) -> object:
        try:
            return parse(other, where="log:2").event
        except InvalidAuditRecord as exc:
            return exc.message

    assert outcome(reader.parse) == outcome(parse_record)


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
