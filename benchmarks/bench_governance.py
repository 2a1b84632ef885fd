"""What runtime governance costs: policy decisions, and verification with everything on.

Measured side by side in one run (interleaved rounds, medians):

1. one policy decision: the built-in rules engine vs Cedar (``delegation[cedar]``), on
   the same request against equivalent policies of about 20 rules;
2. ``Verifier.verify`` of a cold 5-hop chain plus proof with the chain as the whole
   policy, an in-memory store and no audit, next to the same with a rules policy, a
   SQLite store (revocations and replay) and a JSONL audit log (fsync per record), and
   each of those alone, as ratios to the bare verification; the audit log also signed
   with an Ed25519 audit key (one signature per record, ``JsonlAudit(key=...)``).

Usage: ``python benchmarks/bench_governance.py [--quick] [--json FILE]``. ``--json`` also
writes the figures of issue 12's audit targets (medians, rates and their ratios) to FILE
as one JSON object; ``bench_all.py`` reads it to put those targets in its table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from delegation import (
    AgentKey,
    Capability,
    CedarPolicy,
    Chain,
    ChainGrantsOnly,
    Delegator,
    FixedClock,
    JsonlAudit,
    MemoryStore,
    Policy,
    Registry,
    Request,
    RulesPolicy,
    SQLiteStore,
    Verifier,
)
from delegation.policy import PolicyContext

ROOT = Path(__file__).resolve().parent.parent
ORG = "spiffe://acme.example"
AUD = f"{ORG}/tool/crm"
T0 = 1_800_000_000
CAP = Capability(tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 100}})
REQ = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10})

RULES = f"""
version: 1
rules:
  - id: crm-read
    effect: allow
    tool: crm.read
    resource: "customers/**"
    when: {{root_in: ["{ORG}/orchestrator"], max_depth: 6, args: {{max_rows: {{max: 100}}}}}}
  - id: no-restricted
    effect: deny
    tool: "**"
    when: {{labels: {{sensitivity: [restricted]}}}}
""" + "".join(
    f"""
  - id: filler-{i}
    effect: allow
    tool: other{i}.read
    resource: "things/{i}/**"
    when: {{obo_in: ["user:bob"], max_depth: 2}}
"""
    for i in range(18)
)

CEDAR = f"""
@id("crm-read")
permit (principal, action == Action::"crm.read", resource)
when {{ context.root == "{ORG}/orchestrator" && context.depth <= 6 &&
        context.args has max_rows && context.args.max_rows <= 100 }};
@id("no-restricted")
forbid (principal, action, resource)
when {{ context.labels has sensitivity && context.labels.sensitivity == "restricted" }};
""" + "".join(
    f"""
@id("filler-{i}")
permit (principal, action == Action::"other{i}.read", resource)
when {{ context has obo && context.obo == "user:bob" && context.depth <= 2 }};
"""
    for i in range(18)
)


def _median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def _time(fn: Callable[[], Any], n: int) -> list[int]:
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t)
    return out


def _world() -> tuple[list[AgentKey], Registry]:
    keys = [AgentKey.generate(f"{ORG}/orchestrator")] + [
        AgentKey.generate(f"{ORG}/agent/a{i}") for i in range(5)
    ]
    registry = Registry()
    registry.add_root(keys[0].agent, keys[0].public)
    for k in keys[1:]:
        registry.add_agent(k.agent, k.public)
    return keys, registry


def _chains(keys: list[AgentKey], clock: FixedClock, n: int) -> list[tuple[Chain, str]]:
    out = []
    for _ in range(n):
        chain = Delegator(keys[0], clock=clock).mint(
            to=keys[1].agent, to_key=keys[1].public, caps=[CAP], ttl=600, depth=6, task="T-1"
        )
        for i in range(1, 5):
            chain = Delegator(keys[i], clock=clock).delegate(
                chain, to=keys[i + 1].agent, to_key=keys[i + 1].public, caps=[CAP], ttl=600
            )
        proof = Delegator(keys[5], clock=clock).prove(
            chain, aud=AUD, tool=REQ.tool, resource=REQ.resource, args=REQ.args
        )
        out.append((chain, proof))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the governance benchmark and print its tables."""
    parser = argparse.ArgumentParser(description="governance costs, side by side")
    parser.add_argument("--quick", action="store_true", help="fewer samples (indicative)")
    parser.add_argument(
        "--json", metavar="FILE", help="also write the audit targets' figures to FILE (JSON)"
    )
    args = parser.parse_args(argv)
    scale = 5 if args.quick else 1
    decisions, per_config, rounds = 4000 // scale, 400 // scale, 5

    # 1. policy decisions
    rules = RulesPolicy.from_text(RULES)
    cedar = CedarPolicy(CEDAR)
    context = PolicyContext(
        holder=f"{ORG}/agent/a4",
        request=REQ,
        path=(f"{ORG}/orchestrator",),
        root=f"{ORG}/orchestrator",
        depth=5,
        remaining_depth=1,
        task="T-1",
        obo="user:alice",
        purpose=None,
        capabilities=(CAP,),
        time=T0,
    )
    assert rules.decide(context).allowed and cedar.decide(context).allowed
    engine_samples: dict[str, list[int]] = {"rules": [], "cedar": []}
    for _ in range(rounds):
        engine_samples["rules"] += _time(lambda: rules.decide(context), decisions // rounds)
        engine_samples["cedar"] += _time(lambda: cedar.decide(context), decisions // rounds // 4)

    # 2. verification with governance on and off
    keys, registry = _world()
    clock = FixedClock(T0)
    workdir = tempfile.TemporaryDirectory(prefix="bench-governance-")
    tmp = Path(workdir.name)
    sqlite = SQLiteStore(tmp / "store.sqlite")
    audit = JsonlAudit(tmp / "audit.jsonl", clock=clock)
    audit_key = AgentKey.generate(f"{ORG}/audit/writer")
    signed = JsonlAudit(tmp / "signed.jsonl", clock=clock, key=audit_key)
    flushed = JsonlAudit(tmp / "audit-flush.jsonl", clock=clock, durability="flush")
    grouped = JsonlAudit(tmp / "audit-group.jsonl", clock=clock, durability="group")

    def verifier(
        policy: Policy, store: MemoryStore | SQLiteStore, log: JsonlAudit | None
    ) -> Verifier:
        return Verifier(
            registry=registry,
            audience=AUD,
            policy=policy,
            revocations=store,
            audit=log,
            clock=clock,
            token_cache=0,
        )

    configs: dict[str, Verifier] = {
        "bare (chain grants, memory store, no audit)": verifier(
            ChainGrantsOnly(), MemoryStore(), None
        ),
        "+ rules policy": verifier(rules, MemoryStore(), None),
        "+ SQLite store": verifier(ChainGrantsOnly(), sqlite, None),
        "+ JSONL audit (fsync)": verifier(ChainGrantsOnly(), MemoryStore(), audit),
        "+ signed JSONL audit": verifier(ChainGrantsOnly(), MemoryStore(), signed),
        "+ JSONL audit (flush, no fsync)": verifier(ChainGrantsOnly(), MemoryStore(), flushed),
        "+ JSONL audit (group, one thread)": verifier(ChainGrantsOnly(), MemoryStore(), grouped),
        "all: rules + SQLite + audit": verifier(rules, sqlite, audit),
    }
    work = {name: _chains(keys, clock, per_config) for name in configs}
    samples: dict[str, list[int]] = {name: [] for name in configs}
    per_round = per_config // rounds
    for r in range(rounds):
        for name, v in configs.items():
            batch = work[name][r * per_round : (r + 1) * per_round]
            for chain, proof in batch:
                t = time.perf_counter_ns()
                v.verify(chain, proof, REQ)
                samples[name].append(time.perf_counter_ns() - t)
    sqlite.close()
    # The signing alone (hidden by the fsync above): hash a real record, sign the hash.
    record = (tmp / "signed.jsonl").read_bytes().splitlines()[-1]
    sign_samples = _time(
        lambda: audit_key.sign(
            b"delegation-audit-v1:" + hashlib.sha256(record).hexdigest().encode()
        ),
        decisions,
    )

    # 3. group commit: throughput of 1 and 2 threads sharing one verifier and audit log
    per_mode = 600 // scale
    throughput: dict[str, dict[int, float]] = {}
    for mode in ("fsync", "group"):
        throughput[mode] = {}
        for threads in (1, 2, 1, 2):
            log = JsonlAudit(tmp / f"tp-{mode}-{threads}.jsonl", clock=clock, durability=mode)  # type: ignore[arg-type]
            v = verifier(ChainGrantsOnly(), MemoryStore(), log)
            items = _chains(keys, clock, per_mode)
            shares = [items[k::threads] for k in range(threads)]
            barrier = threading.Barrier(threads + 1)

            def run(
                share: list[tuple[Chain, str]],
                v: Verifier = v,
                barrier: threading.Barrier = barrier,
            ) -> None:
                barrier.wait()
                for chain, proof in share:
                    v.verify(chain, proof, REQ)

            workers = [threading.Thread(target=run, args=(sh,)) for sh in shares]
            for w in workers:
                w.start()
            barrier.wait()
            t0 = time.perf_counter()
            for w in workers:
                w.join()
            rate = per_mode / (time.perf_counter() - t0)
            throughput[mode][threads] = max(throughput[mode].get(threads, 0.0), rate)

    print("# delegation: what governance costs\n")
    print(f"python {sys.version.split()[0]}; policy of 20 rules / 20 Cedar policies\n")
    print("## One policy decision (invoke, allowed)\n")
    print("| engine | median µs | p90 µs | vs rules |")
    print("|---|---:|---:|---:|")
    base = _median_us(engine_samples["rules"])
    for name, s in engine_samples.items():
        p90 = statistics.quantiles(s, n=10)[-1] / 1000
        print(f"| {name} | {_median_us(s):.1f} | {p90:.1f} | {_median_us(s) / base:.1f}x |")
    print("\n## Verifier.verify, cold 5-hop chain + proof (6 signatures)\n")
    print("| configuration | median µs | p90 µs | vs bare |")
    print("|---|---:|---:|---:|")
    bare = _median_us(samples[next(iter(configs))])
    for name, s in samples.items():
        p90 = statistics.quantiles(s, n=10)[-1] / 1000
        print(f"| {name} | {_median_us(s):.1f} | {p90:.1f} | {_median_us(s) / bare:.2f} |")
    print(
        f"\n(the audit log fsyncs every record to {tempfile.gettempdir()}: its cost is the disk's;"
        " flush hands records to the OS only: it survives a process crash, not a power loss)"
    )
    print(
        f"\nsigning one audit record alone (SHA-256 of a {len(record)}-byte record, Ed25519 "
        f"sign of the hash): median {_median_us(sign_samples):.1f} µs"
    )
    print("\n## Audit durability: verifications per second, 1 and 2 threads, one verifier\n")
    print(f"{per_mode} cold 5-hop chains per run, shared verifier and log; best of two runs each.")
    print("\n| durability | 1 thread /s | 2 threads /s | 2 threads ÷ 1 |")
    print("|---|---:|---:|---:|")
    for mode, rates in throughput.items():
        print(f"| {mode} | {rates[1]:,.0f} | {rates[2]:,.0f} | {rates[2] / rates[1]:.2f} |")
    workdir.cleanup()
    if args.json:
        medians = {name: _median_us(s) for name, s in samples.items()}
        figures = _audit_figures(medians, throughput)
        figures["signed"]["sign_us"] = _median_us(sign_samples)
        Path(args.json).write_text(json.dumps(figures) + "\n")
    return 0


def _audit_figures(medians: dict[str, float], throughput: dict[str, dict[int, float]]) -> Any:
    """Issue 12's audit targets, from this run: each measured figure and its baseline."""
    bare = medians["bare (chain grants, memory store, no audit)"]
    fsync = medians["+ JSONL audit (fsync)"]
    return {
        "flush": {"measured_us": medians["+ JSONL audit (flush, no fsync)"], "bare_us": bare},
        "signed": {"measured_us": medians["+ signed JSONL audit"], "unsigned_us": fsync},
        "group": {
            "threads_2_per_s": throughput["group"][2],
            "threads_1_per_s": throughput["group"][1],
        },
        "fsync": {
            "threads_2_per_s": throughput["fsync"][2],
            "threads_1_per_s": throughput["fsync"][1],
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
