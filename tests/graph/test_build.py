"""Builders: inputs recognised by content, merged, streamed; bad lines kept with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graph_scene import Scene
from support import NARROW

from delegation import DelegationError
from delegation.graph import Window, from_chains, from_verified, load
from delegation.graph.build import MAX_LINE


def _story(scene: Scene) -> None:
    a1 = scene.agent(1)
    _, chain = scene.honest_hop()
    assert scene.call(chain, a1) == "allowed"
    assert scene.call(chain, a1, tool="crm.write") == "not proved: action_not_granted"


def test_audit_log_builds_agents_tools_and_edges(scene: Scene) -> None:
    """Mints, delegations, acceptances and decisions become nodes and edges with facts."""
    _story(scene)
    g = scene.graph()
    kinds = sorted({d["kind"] for _, _, d in g.graph.edges(data=True)})
    assert kinds == ["delegates", "invokes", "on_behalf"]
    assert len(g.tokens) == 2 and all(h.minted for h in g.tokens.values())
    leaf = next(h for h in g.tokens.values() if h.prf is not None)
    assert leaf.verified and leaf.receipt and g.depth(leaf.token_id) == 2
    assert g.agent(scene.agent(0).agent)["domain"] == "acme.example"
    assert g.acceptances and g.invocations[0].allowed
    assert not g.skipped


def test_chain_file_marks_signatures(scene: Scene) -> None:
    """Chains read from a file carry signature status: valid with the registry, else unknown."""
    _story(scene)
    g = scene.chain_graph()
    assert {h.signature for h in g.tokens.values()} == {"valid"}
    bare = from_chains([str(c) for c in scene.chains])  # no registry: the root key is unknown
    root = next(h for h in bare.tokens.values() if h.prf is None)
    assert root.signature == "unknown"
    assert {h.signature for h in bare.tokens.values() if h.prf is not None} == {"valid"}


def test_inputs_merge_and_are_recognised_by_content(scene: Scene, tmp_path: Path) -> None:
    """An audit log and a chain file (any names) merge into one graph without duplicates."""
    _story(scene)
    chains = tmp_path / "whatever.log"
    chains.write_text("".join(f"{c}\n" for c in scene.chains))
    g = load([str(chains), str(scene.log)], registry=scene.world.registry)
    assert len(g.tokens) == 2
    assert {h.signature for h in g.tokens.values()} == {"valid"}
    assert all(h.minted for h in g.tokens.values())


def test_from_verified_marks_tokens_verified(scene: Scene) -> None:
    """Chains a verifier accepted are valid and verified in the graph."""
    root = scene.mint(scene.agent(0))
    verified = scene.accept(root, scene.agent(0))
    g = from_verified([verified])
    [hop] = g.tokens.values()
    assert hop.verified and hop.signature == "valid"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"v":1,"seq":0,"ts":1,"event":"task_close"', "not a JSON record"),
        (b'{"v":7,"seq":0,"ts":1,"event":"task_close","task":"T"}', "unknown schema version 7"),
        (b'{"v":1,"seq":0,"ts":1,"event":"bogus"}', "event"),
        (b"[1]", "not a JSON object"),
    ],
)
def test_bad_audit_lines_are_counted_not_dropped(tmp_path: Path, line: bytes, reason: str) -> None:
    """Each bad line is kept in graph.skipped with its line number; good lines still read."""
    log = tmp_path / "a.jsonl"
    good = b'{"v":1,"seq":0,"ts":1,"event":"task_close","task":"T"}\n'
    log.write_bytes(good + line + b"\n" + good)
    g = load([str(log)])
    assert g.records == 2 and "T" in g.tasks
    [(where, why)] = g.skipped
    assert where.line == 2 and reason in why


def test_bad_chain_lines_keep_what_was_read(scene: Scene, tmp_path: Path) -> None:
    """A chain line that does not parse is skipped with a reason; its readable prefix stays."""
    _story(scene)
    chain = scene.chains[-1]
    path = tmp_path / "chains.txt"
    path.write_text(f"garbage\n{chain.tokens[0]}~not.a.token\n")
    g = load([str(path)])
    assert [w.line for w, _ in g.skipped] == [1, 2]
    assert len(g.tokens) == 1


def test_ten_megabyte_line_is_skipped_fast(tmp_path: Path) -> None:
    """A 10 MB line is skipped (counted) without being parsed, and reading goes on."""
    log = tmp_path / "a.jsonl"
    good = b'{"v":1,"seq":0,"ts":1,"event":"task_close","task":"T"}\n'
    log.write_bytes(good + b"{" + b" " * (10 << 20) + b"}\n" + good)
    g = load([str(log)])
    assert g.records == 2
    [(where, why)] = g.skipped
    assert where.line == 2 and str(MAX_LINE) in why


def test_missing_input_is_file_error(tmp_path: Path) -> None:
    """A missing input is file_error naming it."""
    with pytest.raises(DelegationError) as ei:
        load([str(tmp_path / "nope.jsonl")])
    assert ei.value.code == "file_error" and "nope.jsonl" in ei.value.message


def test_window_keeps_one_task(scene: Scene) -> None:
    """--task keeps the facts of one task only."""
    scene.mint(scene.agent(0), task="T-1")
    scene.mint(scene.agent(1), task="T-2")
    g = load([str(scene.log)], window=Window(task="T-2"))
    assert {h.task for h in g.tokens.values()} == {"T-2"}
    assert set(g.tasks) == {"T-2"}


def test_window_by_time(scene: Scene) -> None:
    """--since/--until keep the facts of a time window."""
    scene.mint(scene.agent(0), task="T-1")
    scene.later(1000)
    scene.mint(scene.agent(1), task="T-2")
    t0 = scene.world.clock.now()
    g = load([str(scene.log)], window=Window(since=t0 - 10))
    assert {h.task for h in g.tokens.values()} == {"T-2"}


def test_decision_without_chain_is_reported(tmp_path: Path) -> None:
    """A denial recorded before the chain could be read names no caller: counted, not lost."""
    log = tmp_path / "a.jsonl"
    record = {
        "v": 1,
        "seq": 0,
        "ts": 1,
        "event": "verify",
        "decision": "deny",
        "code": "malformed",
        "audience": "x:tool",
    }
    log.write_text(json.dumps(record) + "\n")
    g = load([str(log)])
    [(_, why)] = g.skipped
    assert "malformed" in why


def test_a_chain_line_starting_below_its_root_does_not_judge_act(scene: Scene) -> None:
    """A chain cut above its first hop leaves act unjudged, so no false DLG005 sticks."""
    a0, a1 = scene.agent(0), scene.agent(1)
    chain = scene.delegate(scene.accept(scene.mint(a0), a0), a0, a1, [NARROW])
    path = scene.tmp / "cut.txt"
    path.write_text(f"{chain.tokens[1]}\n{chain}\n")
    g = load([str(path)], registry=scene.world.registry)
    assert all(h.act_ok for h in g.tokens.values())
    assert g.findings(rules=["DLG005"]) == []
