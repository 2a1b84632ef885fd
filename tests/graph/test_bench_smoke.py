"""The graph benchmark's generator, at a tiny size: the fleet has the intended shape, its
audit log is what JsonlAudit writes, and ingestion reads it back whole (so the benchmark
cannot rot)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from delegation.audit import _wire, parse_record, verify_log
from delegation.graph import RULES, from_audit

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_graph.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_graph", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_graph"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_graph"]
    return module


def test_fleet_shape(bench: ModuleType) -> None:
    fleet = bench.fleet(3000, seed=7)
    assert len(fleet.hops) == 3000
    assert len({h.token_id for h in fleet.hops}) == 3000
    assert fleet.max_depth == 6
    assert fleet.cross > 0 and fleet.loops > 0
    graph = fleet.build()
    assert len(graph.tokens) == 3000
    kinds = Counter(k for *_, k in graph.graph.edges(data="kind"))
    assert kinds["delegates"] == 3000
    assert kinds["invokes"] > 0 and kinds["denied"] > 0 and kinds["on_behalf"] > 0
    assert len(graph.tasks) > 100
    # trees: every non-root token's parent is in the graph, in the same task, deeper by one
    depths = Counter(graph.depth(h.token_id) for h in fleet.hops)
    assert set(depths) == {1, 2, 3, 4, 5, 6}
    for hop in fleet.hops:
        parent = graph.parent(hop)
        assert (parent is None) == (hop.prf is None)
        if parent is not None:
            assert parent.task == hop.task and parent.sub == hop.iss
    # several trust domains, a registry with baselines and labelled tools
    domains = {d for _, d in graph.graph.nodes(data="domain") if d is not None}
    assert len(domains) >= 3
    assert graph.baseline(fleet.agents[0].id)
    assert graph.tool_labels("web.fetch") == {"untrusted_input"}
    # deterministic for a seed
    again = bench.fleet(3000, seed=7)
    assert [h.token_id for h in again.hops] == [h.token_id for h in fleet.hops]
    found = graph.findings()
    assert {f.rule for f in found} <= set(RULES)
    # DLG001 finds the planted escalations and grants beyond the baseline, and only them
    planted = fleet.escalations + fleet.beyond_baseline
    assert sum(f.rule == "DLG001" for f in found) == planted


def test_audit_log_is_what_writers_write(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = bench.write_log(path, 1500, seed=7)
    assert written == 1500
    assert verify_log(path).ok  # hash-chained as JsonlAudit chains it
    lines = path.read_bytes().splitlines()
    events = Counter()
    for line in lines[:400]:
        raw = json.loads(line)
        record = parse_record(line)
        events[record.event.event] += 1
        wire = {k: v for k, v in raw.items() if k not in ("v", "seq", "ts", "prev")}
        assert _wire(record.event) == wire  # the typed event writes back the same record
    assert {"mint", "delegate", "accept", "verify", "task_open"} <= set(events)
    assert any(len(json.loads(x).get("chain", ())) >= 3 for x in lines)  # repeated ancestors
    graph = from_audit([path])
    assert graph.records == 1500 and not graph.skipped
