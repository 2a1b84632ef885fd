"""Typed audit events: every writer emits them, readers get them back, bad lines are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import CAP, REQ, World

from delegation import Capability, DelegationError, JsonlAudit, MemoryStore, Tasks, read_log
from delegation.audit import (
    AcceptEvent,
    DelegateEvent,
    ElevateEvent,
    MintEvent,
    RevokeEvent,
    TaskCloseEvent,
    TaskOpenEvent,
    VerifyEvent,
    parse_record,
)


def _governed_log(world: World, path: Path) -> None:
    """A task with a mint, a delegation, an acceptance, allow and deny, elevation, revocation."""
    audit = JsonlAudit(path, clock=world.clock)
    tasks = Tasks(MemoryStore(), audit=audit, clock=world.clock)
    tasks.open("T-42", ttl=600)
    tasks.elevate("T-42", [CAP], approved_by="user:bob", ttl=60, reason="incident 7")
    orch, a0, a1 = world.orch, world.agents[0], world.agents[1]
    root = world.delegator(orch).mint(
        to=a0.agent, to_key=a0.public_jwk(), caps=[CAP], ttl=300, depth=2, task="T-42"
    )
    from delegation import Delegator

    chain = Delegator(a0, clock=world.clock, audit=audit).delegate(
        root, to=a1.agent, to_key=a1.public_jwk(), caps=[CAP], ttl=200
    )
    Delegator(orch, clock=world.clock, audit=audit).mint(
        to=a0.agent, to_key=a0.public_jwk(), caps=[CAP], ttl=300, task="T-42"
    )
    world.verifier(audience=a1.agent, audit=audit).accept(chain)
    verifier = world.verifier(audit=audit)
    proof = world.prove(chain)
    verifier.verify(chain, proof, REQ)
    with pytest.raises(DelegationError) as ei:
        verifier.verify(chain, proof, REQ)  # replayed
    assert ei.value.code == "proof_replayed"
    tasks.revoke("jti", "j" * 22, reason="leaked")
    tasks.close("T-42", reason="done")


def test_every_event_reads_back_typed(world: World, tmp_path: Path) -> None:
    """A governed run's log reads back as typed events of every kind, in order."""
    path = tmp_path / "audit.jsonl"
    _governed_log(world, path)
    records = list(read_log(path))
    kinds = [type(r.event) for r in records]
    assert kinds == [
        TaskOpenEvent,
        ElevateEvent,
        DelegateEvent,
        MintEvent,
        AcceptEvent,
        VerifyEvent,
        VerifyEvent,
        RevokeEvent,
        TaskCloseEvent,
    ]
    assert [r.seq for r in records] == list(range(9))
    assert [r.line for r in records] == list(range(1, 10))
    delegate = records[2].event
    assert isinstance(delegate, DelegateEvent)
    assert delegate.token.caps == (CAP,) and delegate.token.parent is not None
    assert delegate.token.cnf_kid == world.agents[1].kid
    allow, deny = records[5].event, records[6].event
    assert isinstance(allow, VerifyEvent) and isinstance(deny, VerifyEvent)
    assert allow.allowed and allow.chain is not None and len(allow.chain) == 2
    assert allow.request is not None and allow.request.tool == REQ.tool
    assert (deny.decision, deny.code) == ("deny", "proof_replayed")
    elevate = records[1].event
    assert isinstance(elevate, ElevateEvent) and elevate.caps == (CAP,)


def test_wire_form_is_schema_v1(world: World, tmp_path: Path) -> None:
    """Records stay flat on the wire: v, seq, ts, event first, prev last, no nulls."""
    path = tmp_path / "audit.jsonl"
    _governed_log(world, path)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert list(record)[:4] == ["v", "seq", "ts", "event"] and list(record)[-1] == "prev"
        assert None not in record.values()
    mint = json.loads(path.read_text().splitlines()[3])
    assert mint["token"]["caps"] == [CAP.to_wire()]


def test_unknown_fields_are_ignored() -> None:
    """Schema v1 readers ignore fields they do not know."""
    line = '{"v":1,"seq":3,"ts":1.5,"event":"task_close","task":"T","new_field":[1]}'
    record = parse_record(line)
    assert isinstance(record.event, TaskCloseEvent) and record.event.task == "T"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"v":1,"seq":0', "not a JSON record"),
        ("[1, 2]", "not a JSON object"),
        ('{"v":2,"seq":0,"ts":1,"event":"task_close","task":"T"}', "unknown schema version 2"),
        ('{"v":1,"seq":-1,"ts":1,"event":"task_close","task":"T"}', "seq must be"),
        ('{"v":1,"seq":0,"ts":"x","event":"task_close","task":"T"}', "ts must be a number"),
        ('{"v":1,"seq":0,"ts":1,"event":"party"}', "event"),
        ('{"v":1,"seq":0,"ts":1,"event":"task_close"}', "task"),
        ('{"v":1,"seq":0,"ts":1,"event":"mint","token":{"token_id":"x"}}', "token.iss"),
        ('{"v":1,"seq":0,"ts":1,"event":"revoke","kind":"user","value":"x"}', "kind"),
        ("[" * 100_000, "not a JSON record"),
    ],
)
def test_bad_lines_are_named(line: str, reason: str) -> None:
    """Every kind of bad line is invalid_audit_record, saying where and what."""
    with pytest.raises(DelegationError) as ei:
        parse_record(line, where="log.jsonl:7")
    assert ei.value.code == "invalid_audit_record"
    assert ei.value.message.startswith("log.jsonl:7: ") and reason in ei.value.message


def test_read_log_stops_at_a_bad_line(tmp_path: Path) -> None:
    """read_log yields the good records, then names the bad line instead of skipping it."""
    path = tmp_path / "audit.jsonl"
    JsonlAudit(path).append(TaskCloseEvent(task="T-1"))
    with path.open("a") as fh:
        fh.write("not json\n")
    seen = []
    with pytest.raises(DelegationError) as ei:
        seen.extend(read_log(path))
    assert len(seen) == 1
    assert ei.value.code == "invalid_audit_record" and f"{path}:2:" in ei.value.message


def test_sinks_take_only_typed_events(tmp_path: Path) -> None:
    """A dict is not an event: writers cannot drift from the schema."""
    with pytest.raises(DelegationError) as ei:
        JsonlAudit(tmp_path / "a.jsonl").append({"event": "verify"})  # type: ignore[arg-type]
    assert ei.value.code == "configuration_error"


def test_capabilities_round_trip_through_facts() -> None:
    """Token facts carry capabilities in wire form and read them back as Capability."""
    cap = Capability(tool="crm.read", resource="a/**", constraints={"n": {"max": 3}})
    line = json.dumps(
        {
            "v": 1,
            "seq": 0,
            "ts": 0,
            "event": "mint",
            "token": {
                "token_id": "t",
                "iss": "x:o",
                "sub": "x:a",
                "jti": "j",
                "task": "T",
                "iat": 0,
                "exp": 60,
                "dpth": 0,
                "caps": [cap.to_wire()],
            },
        }
    )
    event = parse_record(line).event
    assert isinstance(event, MintEvent) and event.token.caps == (cap,)
