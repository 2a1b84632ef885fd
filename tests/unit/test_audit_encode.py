"""Audit records: the fast encoding writes exactly the reference bytes.

``JsonlAudit`` writes ``json.dumps({"v", "seq", "ts", "event", ...fields, "prev"},
separators=(",", ":"))`` of the event's ``model_dump(mode="json", exclude_none=True)``;
``_audit_encode`` gets there without pydantic or the stdlib encoder for plain events.
Every event a governed run writes, and events built to leave the fast way (floats in
labels and constraints, non-ASCII text, DEL, integers past 64 bits), must come out byte
for byte as the reference writes them, and every line must verify and read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import CAP, REQ, World

from delegation import Capability, Delegator, JsonlAudit, MemoryStore, Tasks, read_log, verify_log
from delegation._audit_encode import event_json, line_bytes, reference_fields
from delegation.audit import TaskOpenEvent, VerifyEvent
from delegation.errors import ConfigurationError


class _Keep:
    """A sink that keeps the typed events."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def append(self, event: Any) -> None:
        self.events.append(event)


def _events(world: World) -> list[Any]:
    sink = _Keep()
    tasks = Tasks(MemoryStore(), audit=sink, clock=world.clock)  # type: ignore[arg-type]
    tasks.open("T-42", ttl=600, purpose="triage ✓")
    tasks.elevate("T-42", [CAP], approved_by="user:bob", ttl=60, reason="incident 7")
    orch, a0, a1 = world.orch, world.agents[0], world.agents[1]
    root = Delegator(orch, clock=world.clock, audit=sink).mint(  # type: ignore[arg-type]
        to=a0.agent, to_key=a0.public_jwk(), caps=[CAP], ttl=300, depth=2, task="T-42"
    )
    odd = Capability(tool="crm.read", resource="customers/**", constraints={"ratio": {"max": 0.5}})
    chain = Delegator(a0, clock=world.clock, audit=sink).delegate(  # type: ignore[arg-type]
        root, to=a1.agent, to_key=a1.public_jwk(), caps=[CAP], ttl=200
    )
    Delegator(orch, clock=world.clock, audit=sink).mint(  # type: ignore[arg-type]
        to=a0.agent, to_key=a0.public_jwk(), caps=[odd], ttl=300, task="T-42", obo="usér:é"
    )
    world.verifier(audience=a1.agent, audit=sink).accept(chain)
    verifier = world.verifier(audit=sink)
    proof = world.prove(chain)
    for labels in (None, {"sensitivity": "high", "n": 3, "ok": True, "none": None}):
        verifier.verify(chain, world.prove(chain), REQ, labels=labels)
    for labels in ({"f": 1.5, "deep": [{"x": 1e-7}]}, {"é": "\x7f"}, {"big": 2**70}):
        verifier.verify(chain, world.prove(chain), REQ, labels=labels)
    verifier.verify(chain, proof, REQ)
    with pytest.raises(Exception):  # noqa: B017, PT011 - replayed: a deny record
        verifier.verify(chain, proof, REQ)
    tasks.revoke("jti", "j" * 22, reason="leaked")
    tasks.close("T-42", reason="done")
    return sink.events


@pytest.mark.parametrize("ts", [1_800_000_000, 1_800_000_000.25, 1e16, 5e-324])
def test_fast_bytes_are_the_reference_bytes(world: World, ts: float) -> None:
    events = _events(world)
    assert len({type(e) for e in events}) == 8  # every event type
    for seq, event in enumerate(events):
        prev = f"{seq:064x}"
        reference = {"v": 1, "seq": seq, "ts": ts, **reference_fields(event), "prev": prev}
        expected = json.dumps(reference, separators=(",", ":")).encode("ascii")
        assert line_bytes(1, seq, ts, event_json(event), prev) == expected


def test_lines_verify_and_read_back(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = JsonlAudit(path, clock=world.clock, durability="flush")
    events = _events(world)
    for event in events:
        log.append(event)
    assert verify_log(path).ok
    assert [type(r.event) for r in read_log(path)] == [type(e) for e in events]


def test_another_writer_in_between_is_followed(world: World, tmp_path: Path) -> None:
    """Two sinks on one file (two processes, say): each reads the other's last record."""
    path = tmp_path / "audit.jsonl"
    first, second = JsonlAudit(path), JsonlAudit(path)
    for i in range(3):
        first.append(TaskOpenEvent(task=f"T-{i}", deadline=1.0))
        second.append(TaskOpenEvent(task=f"U-{i}", deadline=2.0))
        first.append(TaskOpenEvent(task=f"V-{i}", deadline=3.0))
    report = verify_log(path)
    assert report.ok and report.records == 9
    assert [r.seq for r in read_log(path)] == list(range(9))


def test_only_typed_events() -> None:
    with pytest.raises(ConfigurationError):
        event_json({"event": "verify"})
    assert event_json(VerifyEvent(decision="allow", code="allowed", audience="x:y")).startswith(
        b'"event":"verify"'
    )
