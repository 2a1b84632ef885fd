"""The delegation graph at fleet scale: build plus every rule at 10k, 100k and 1M edges,
and audit-log ingestion.

Usage: ``python benchmarks/bench_graph.py [--quick]`` (``--quick``: 10k and 100k edges and
a 20k-record log, a smoke run). Prints Markdown (bench_all.py embeds it under "Graph").

* **Fleet** (:func:`fleet`, deterministic seed): many tasks, each a tree of delegation
  tokens of depth 1 to 6 rooted at one of a few orchestrators and acting for one of many
  principals; agents in three trust domains with registry roles and baselines; tools with
  registry labels. Each task works with a team of agents; some hops go to an agent outside
  the team (cross edges between tasks' agents), some hand authority back to an agent already
  on the chain (loops). A fraction of leaves invoke tools (a few denials); a few hops are
  planted anomalies (escalations, grants beyond the baseline, missing receipts).
* **Build**: the graph is built from facts (``TokenHop`` via ``add_token``, ``Invocation``
  via ``add_invocation``, tasks as ``TaskFacts``) inside ``graph.batch()``, as the
  library's own builders add them: signing a million tokens is not what is measured. The
  facts are generated before timing.
* **Analysis**: ``graph.findings()`` with every registered rule (``delegation.graph.RULES``,
  whatever is installed); each rule's detector is timed inside that one call.
* **Memory**: each size runs in a fresh subprocess, which reports its peak RSS
  (``getrusage(RUSAGE_SELF).ru_maxrss``: interpreter, imports, facts and graph).
* **Ingestion**: a schema-v1 audit log as ``JsonlAudit`` writes it (hash-chained; mint,
  delegate, accept and verify records whose chains repeat their ancestors, task events),
  written before timing; ``from_audit`` is timed on it in a fresh subprocess.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from delegation import Capability, Registry
from delegation.graph import DelegationGraph, Location, TokenHop
from delegation.graph.facts import Invocation, TaskFacts
from delegation.keys import PublicKey

HERE = Path(__file__).resolve()
SEED = 20_261_130
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
INGEST_RECORDS = 200_000
QUICK_INGEST_RECORDS = 20_000
T0 = 1_800_000_000
ORG = "acme.example"
DOMAINS = (("acme.example", 0.80), ("partner.example", 0.15), ("vendor.example", 0.05))
CHILD_TIMEOUT = 900  # seconds one size may take in its subprocess

# targets of the graph issue (2-core machine)
MAX_SECONDS_1M = 60.0  # 1M edges built and analysed by all rules
MAX_RSS_1M = 4 * 1024**3  # bytes
MAX_GROWTH = 12.0  # 100k -> 1M, time and memory
MIN_INGEST_RATE = 50_000.0  # records/s

# --------------------------------------------------------------------------- the fleet

# tool -> registry labels; resources narrow level by level (index = level)
TOOLS: dict[str, tuple[str, ...]] = {
    "crm.read": ("sensitive_read",),
    "crm.write": ("sensitive_write",),
    "web.fetch": ("untrusted_input",),
    "web.search": ("untrusted_input",),
    "mail.send": ("egress",),
    "mail.read": ("sensitive_read",),
    "docs.read": (),
    "docs.write": (),
    "db.query": ("sensitive_read",),
    "code.run": ("admin",),
    "pay.transfer": ("payments",),
    "calendar.read": (),
    "ticket.create": (),
    "chat.post": ("egress",),
    "search.index": (),
    "kb.read": (),
}
LEVELS = ("**", "data/**", "data/eu/**", "data/eu/team/**")
ROLES: dict[str, tuple[str, ...]] = {
    "planner": ("docs.read", "docs.write", "kb.read", "calendar.read", "ticket.create"),
    "researcher": ("web.fetch", "web.search", "kb.read", "docs.read", "search.index"),
    "analyst": ("crm.read", "db.query", "docs.read", "docs.write", "kb.read"),
    "mailer": ("mail.send", "mail.read", "docs.read", "chat.post", "calendar.read"),
    "coder": ("code.run", "docs.read", "docs.write", "kb.read", "ticket.create"),
    "finance": ("pay.transfer", "crm.read", "db.query", "docs.read", "mail.send"),
    "support": ("crm.read", "crm.write", "ticket.create", "chat.post", "mail.send"),
}
ROLE_NAMES = tuple(ROLES)
# how many children a token at depth d (1 = root grant) gets, as weights for 0, 1, 2, 3
FANOUT = {1: (0, 1, 3, 4), 2: (1, 3, 3, 2), 3: (4, 4, 2, 1), 4: (6, 3, 1, 0), 5: (8, 2, 1, 0)}
SQUAD = 20  # agents that usually work together (a task's team is drawn from one squad)
TEAM = 8  # agents a task works with (besides cross edges)
P_CROSS = 0.06  # a hop to an agent outside the task's team
P_LOOP = 0.02  # a hop back to an agent already on the chain
P_ESCALATE = 0.001  # a hop granting a capability its parent lacks
P_BEYOND_BASELINE = 0.002  # a root grant outside the receiver's baseline
P_NO_RECEIPT = 0.03  # a non-root hop without a receipt
P_INVOKE = 0.3  # leaves that invoke tools
P_DENIED = 0.04  # invocations denied


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sha(tag: str, n: int) -> str:
    return _b64(hashlib.sha256(f"{tag}:{n}".encode()).digest())


@dataclass
class Agent:
    id: str
    role: str
    kid: str


@dataclass
class Fleet:
    """The facts of a synthetic fleet (what ``add_token``/``add_invocation`` take)."""

    registry: Registry
    roots: list[Agent]
    agents: list[Agent]
    hops: list[TokenHop] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    tasks: list[TaskFacts] = field(default_factory=list)
    where: list[Location] = field(default_factory=list)  # per hop: where it was "read"
    cross: int = 0  # hops to an agent outside the task's team
    loops: int = 0  # hops back to an agent already on the chain
    escalations: int = 0
    beyond_baseline: int = 0
    max_depth: int = 0

    def build(self) -> DelegationGraph:
        """The graph of these facts (what the benchmark times)."""
        graph = DelegationGraph(self.registry)
        add_token, add_invocation = graph.add_token, graph.add_invocation
        with graph.batch():  # as the library's builders add facts
            for hop, where in zip(self.hops, self.where, strict=True):
                add_token(hop, where=where)
            for inv in self.invocations:
                add_invocation(inv)
            for task in self.tasks:
                graph.tasks[task.task] = task
        graph.records = len(self.hops) + len(self.invocations)
        return graph


def _catalogue() -> dict[tuple[str, int], Capability]:
    """One shared Capability per (tool, level): facts reuse these objects."""
    out: dict[tuple[str, int], Capability] = {}
    for tool in TOOLS:
        for level, res in enumerate(LEVELS):
            constraints = {"max_rows": {"max": 1000 // (level + 1)}} if tool == "db.query" else {}
            out[tool, level] = Capability(tool=tool, resource=res, constraints=constraints)
    return out


CAPS = _catalogue()


def _key(rng: random.Random) -> PublicKey:
    raw = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)).public_key().public_bytes_raw()
    return PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)})


def _world(rng: random.Random, n_agents: int) -> tuple[Registry, list[Agent], list[Agent]]:
    registry = Registry()
    roots = []
    for i in range(4):
        key = _key(rng)
        name = f"spiffe://{ORG}/orchestrator/o{i}"
        registry.add_root(name, key)
        roots.append(Agent(name, "orchestrator", key.kid))
    agents = []
    domains = [d for d, _ in DOMAINS]
    weights = [w for _, w in DOMAINS]
    for i in range(n_agents):
        role = ROLE_NAMES[i % len(ROLE_NAMES)]
        domain = rng.choices(domains, weights)[0]
        name = f"spiffe://{domain}/agent/{role}-{i}"
        key = _key(rng)
        baseline = [CAPS[tool, 0] for tool in ROLES[role]]
        registry.add_agent(name, key, role=role, baseline=baseline)
        agents.append(Agent(name, role, key.kid))
    for tool, labels in TOOLS.items():
        if labels:
            registry.set_tool_labels(tool, labels)
    return registry, roots, agents


def _concrete(res: str, n: int) -> str:
    return res.replace("**", f"r{n % 97}")


def fleet(edges: int, seed: int = SEED) -> Fleet:
    """A fleet with exactly ``edges`` delegation tokens (deterministic for a seed)."""
    rng = random.Random(seed)
    registry, roots, agents = _world(rng, max(40, edges // 40))
    by_role: dict[str, list[Agent]] = {r: [] for r in ROLE_NAMES}
    for a in agents:
        by_role[a.role].append(a)
    principals = [f"user:u{i}" for i in range(max(5, edges // 200))]
    shuffled = rng.sample(agents, len(agents))
    squads = [shuffled[i : i + SQUAD] for i in range(0, len(shuffled) - SQUAD + 1, SQUAD)]
    f = Fleet(registry, roots, agents)
    n_task = 0
    serial = 0
    while len(f.hops) < edges:
        n_task += 1
        task = f"T-{n_task:07d}"
        start = T0 + n_task * 3
        f.tasks.append(TaskFacts(task, opened=float(start), deadline=float(start + 7200)))
        squad = squads[rng.randrange(len(squads))]  # agents that usually work together
        team = rng.sample(squad, TEAM)
        root_iss = roots[n_task % len(roots)]
        obo = principals[rng.randrange(len(principals))]
        max_depth = rng.choices((1, 2, 3, 4, 5, 6), (1, 2, 3, 3, 2, 1))[0]
        first = team[0]
        tools = list(ROLES[first.role])
        caps = tuple(CAPS[t, rng.randrange(2)] for t in rng.sample(tools, rng.randint(1, 3)))
        if rng.random() < P_BEYOND_BASELINE:
            outside = [t for t in TOOLS if t not in ROLES[first.role]]
            caps = (*caps, CAPS[rng.choice(outside), 0])
            f.beyond_baseline += 1
        # stack of (parent hop or None, issuer, subject, caps, depth)
        stack: list[tuple[TokenHop | None, Agent, Agent, tuple[Capability, ...], int]]
        stack = [(None, root_iss, first, caps, 1)]
        while stack and len(f.hops) < edges:
            parent, iss, sub, caps, depth = stack.pop()
            serial += 1
            iat = start + depth * 2
            hop = TokenHop(
                token_id=_sha("t", serial),
                prf=parent.token_id if parent is not None else None,
                iss=iss.id,
                sub=sub.id,
                jti=_sha("j", serial)[:22],
                task=task,
                obo=obo,
                iat=iat,
                exp=(parent.exp - 1) if parent is not None else iat + 3600,
                dpth=max_depth - depth,
                caps=caps,
                receipt=parent is not None and rng.random() >= P_NO_RECEIPT,
                kid=iss.kid,
                cnf_kid=sub.kid,
                verified=rng.random() < 0.97,
                minted=True,
                seq=serial,
            )
            f.hops.append(hop)
            f.where.append(Location("fleet.jsonl", serial))
            f.max_depth = max(f.max_depth, depth)
            n_children = 0
            if depth < max_depth:
                n_children = rng.choices((0, 1, 2, 3), FANOUT[depth])[0]
            for _ in range(n_children):
                r = rng.random()
                if r < P_LOOP and depth >= 2:
                    child, kind = iss, "loop"  # hands authority back to its delegator
                elif r < P_LOOP + P_CROSS:
                    child, kind = agents[rng.randrange(len(agents))], "cross"
                else:
                    child, kind = team[rng.randrange(1, TEAM)], "team"
                if child.id == sub.id:
                    continue
                allowed = ROLES[child.role]  # a tuple: its order is fixed (a set's is not)
                kept = [c for c in caps if c.tool in allowed]
                if not kept:
                    continue
                narrowed = tuple(
                    CAPS[c.tool, min(LEVELS.index(c.resource) + rng.randrange(2), 3)]
                    for c in rng.sample(kept, rng.randint(1, len(kept)))
                )
                if rng.random() < P_ESCALATE:
                    wider = [t for t in allowed if all(c.tool != t for c in caps)]
                    if wider:
                        narrowed = (*narrowed, CAPS[rng.choice(wider), 0])
                        f.escalations += 1
                f.cross += kind == "cross"
                f.loops += kind == "loop"
                stack.append((hop, sub, child, narrowed, depth + 1))
            if n_children == 0 or not any(s[0] is hop for s in stack):
                _invoke(rng, f, hop, serial)
    return f


def _invoke(rng: random.Random, f: Fleet, leaf: TokenHop, serial: int) -> None:
    if rng.random() >= P_INVOKE:
        return
    for k in range(rng.randint(1, 3)):
        cap = leaf.caps[rng.randrange(len(leaf.caps))]
        allowed = rng.random() >= P_DENIED
        f.invocations.append(
            Invocation(
                holder=leaf.sub,
                tool=cap.tool,
                resource=_concrete(cap.resource, serial + k),
                leaf=leaf.token_id,
                task=leaf.task,
                obo=leaf.obo,
                ts=float(leaf.iat + 1 + k),
                allowed=allowed,
                code="allowed" if allowed else "policy_denied",
                audience=f"spiffe://{ORG}/tool/{cap.tool.split('.')[0]}",
                proof_jti=_sha("p", serial * 4 + k)[:22],
                proof_iss=leaf.sub,
                seq=serial,
            )
        )


# ------------------------------------------------------------------------ audit log


def _facts_wire(hop: TokenHop) -> dict[str, Any]:
    """Token facts in their wire form, as ``TokenFacts`` serialises them."""
    out: dict[str, Any] = {"token_id": hop.token_id}
    if hop.prf is not None:
        out["parent"] = hop.prf
    out.update(iss=hop.iss, sub=hop.sub, jti=hop.jti, kid=hop.kid, cnf_kid=hop.cnf_kid)
    out.update(task=hop.task)
    if hop.obo is not None:
        out["obo"] = hop.obo
    out.update(
        iat=hop.iat,
        exp=hop.exp,
        dpth=hop.dpth,
        caps=[c.to_wire() for c in hop.caps],
        receipt=hop.receipt,
    )
    return out


def audit_events(f: Fleet) -> Iterator[dict[str, Any]]:
    """The fleet as schema-v1 audit events (wire form without v/seq/ts/prev), in order:
    per task ``task_open``, each token's ``mint``/``delegate`` and its receiver's
    ``accept`` (the chain root first, repeating its ancestors), the leaves' ``verify``
    records with their whole chains, ``task_close``."""
    by_id = {h.token_id: h for h in f.hops}
    wire: dict[str, dict[str, Any]] = {}
    invs: dict[str, list[Invocation]] = {}
    for inv in f.invocations:
        if inv.leaf is not None:
            invs.setdefault(inv.leaf, []).append(inv)
    hops_by_task: dict[str, list[TokenHop]] = {}
    for h in f.hops:
        hops_by_task.setdefault(h.task, []).append(h)
    tasks = {t.task: t for t in f.tasks}

    def chain(h: TokenHop) -> list[dict[str, Any]]:
        out = []
        cur: TokenHop | None = h
        while cur is not None:
            out.append(wire[cur.token_id])
            cur = by_id.get(cur.prf) if cur.prf is not None else None
        return out[::-1]

    for task, hops in hops_by_task.items():
        facts = tasks[task]
        yield {"event": "task_open", "task": task, "deadline": facts.deadline, "owner": "user:ops"}
        for h in hops:
            wire[h.token_id] = _facts_wire(h)
            yield {"event": "mint" if h.prf is None else "delegate", "token": wire[h.token_id]}
            yield {
                "event": "accept",
                "decision": "allow",
                "code": "allowed",
                "audience": h.sub,
                "chain": chain(h),
            }
            for inv in invs.get(h.token_id, ()):
                event: dict[str, Any] = {
                    "event": "verify",
                    "decision": "allow" if inv.allowed else "deny",
                    "code": inv.code,
                }
                if not inv.allowed:
                    event.update(message="policy denied the request", hop=len(chain(h)) - 1)
                event.update(audience=inv.audience, chain=chain(h))
                event["policy"] = {
                    "effect": "allow" if inv.allowed else "deny",
                    "rules": ["fleet-default"],
                    "digest": _sha("policy", 0),
                }
                event["request"] = {
                    "tool": inv.tool,
                    "resource": inv.resource,
                    "args": _sha("a", 0),
                }
                event["proof"] = {"jti": inv.proof_jti, "iss": inv.proof_iss, "aud": inv.audience}
                yield event
        yield {"event": "task_close", "task": task, "reason": "done"}


def write_log(path: Path, records: int, seed: int = SEED) -> int:
    """Write a hash-chained schema-v1 log of ``records`` records, as ``JsonlAudit`` writes
    them (``verify_log`` accepts it). Returns the number of records written."""
    f = fleet(max(1000, records // 2), seed)  # under 3 records per token: enough
    prev, seq = "0" * 64, 0
    with open(path, "wb") as out:
        for event in audit_events(f):
            record = {"v": 1, "seq": seq, "ts": float(T0 + seq // 10), **event, "prev": prev}
            line = json.dumps(record, separators=(",", ":"), sort_keys=False)
            out.write(line.encode() + b"\n")
            prev = hashlib.sha256(line.encode()).hexdigest()
            seq += 1
            if seq >= records:
                break
    return seq


# --------------------------------------------------------------------- measurements


def _peak_rss() -> int:
    """This process's peak resident set size in bytes (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _rss_now() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def calibration_us() -> float:
    """The machine's speed now: a fixed pure-Python workload (dict and attribute work
    like the detectors'), in µs per 1,000 steps, best of seven. The CPUs of this
    machine change speed from one run to the next; this line lets runs be compared."""

    class Hop:
        __slots__ = ("iat", "sub")

        def __init__(self, iat: int, sub: str) -> None:
            self.iat, self.sub = iat, sub

    hops = [Hop(i, f"agent-{i % 97}") for i in range(20_000)]
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        seen: dict[str, int] = {}
        for h in hops:
            seen[h.sub] = seen.get(h.sub, 0) + h.iat
        best = min(best, time.perf_counter() - t)
    return best / len(hops) * 1e9


def measure_size(edges: int, seed: int = SEED) -> dict[str, Any]:
    """Generate, build and analyse one size (call it in a fresh process)."""
    import gc

    from delegation.graph import detectors

    rss_start = _rss_now()
    speed_before = calibration_us()
    t = time.perf_counter()
    f = fleet(edges, seed)
    generate_s = time.perf_counter() - t
    rss_facts = _rss_now()
    gc.collect()
    gc.freeze()  # the facts are long-lived: keep the collector from rescanning them
    cpu = time.process_time()
    t = time.perf_counter()
    graph = f.build()
    build_s = time.perf_counter() - t
    rss_built = _rss_now()

    # every registered rule inside one findings() call, each detector timed on its way
    per_rule: dict[str, float] = {}
    original = detectors.RULES

    def timed(rule_id: str, detect: Any) -> Any:
        def run(g: DelegationGraph, options: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return detect(g, options)
            finally:
                per_rule[rule_id] = per_rule.get(rule_id, 0.0) + time.perf_counter() - t0

        return run

    detectors.RULES = {k: replace(r, detect=timed(k, r.detect)) for k, r in original.items()}
    try:
        t = time.perf_counter()
        found = graph.findings()
        analyse_s = time.perf_counter() - t
        cpu_s = time.process_time() - cpu
    finally:
        detectors.RULES = original
    if set(per_rule) != set(original):
        raise RuntimeError(f"rules not timed: {sorted(set(original) - set(per_rule))}")
    by_rule: dict[str, int] = {}
    for x in found:
        by_rule[x.rule] = by_rule.get(x.rule, 0) + 1
    g = graph.graph
    return {
        "speed": (speed_before, calibration_us()),
        "edges": edges,
        "tokens": len(graph.tokens),
        "delegates": sum(1 for *_, k in g.edges(data="kind") if k == "delegates"),
        "nodes": g.number_of_nodes(),
        "graph_edges": g.number_of_edges(),
        "invocations": len(f.invocations),
        "tasks": len(f.tasks),
        "agents": len(f.agents),
        "cross": f.cross,
        "loops": f.loops,
        "max_depth": f.max_depth,
        "generate_s": generate_s,
        "build_s": build_s,
        "analyse_s": analyse_s,
        "cpu_s": cpu_s,
        "per_rule": per_rule,
        "findings": len(found),
        "by_rule": by_rule,
        "rss_start": rss_start,
        "rss_facts": rss_facts,
        "rss_built": rss_built,
        "peak_rss": _peak_rss(),
    }


def measure_ingest(records: int, seed: int = SEED) -> dict[str, Any]:
    """Write a log (not timed), then time ``from_audit`` on it (call in a fresh process)."""
    from delegation.graph import from_audit

    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        path = Path(tmp) / "audit.jsonl"
        t = time.perf_counter()
        written = write_log(path, records, seed)
        write_s = time.perf_counter() - t
        size = path.stat().st_size
        cpu = time.process_time()
        t = time.perf_counter()
        graph = from_audit([path])
        ingest_s = time.perf_counter() - t
        cpu_s = time.process_time() - cpu
    if graph.skipped or graph.records != written:
        raise RuntimeError(
            f"ingestion lost records: {graph.records}/{written}, {graph.skipped[:3]}"
        )
    return {
        "records": written,
        "bytes": size,
        "write_s": write_s,
        "ingest_s": ingest_s,
        "rate": written / ingest_s,
        "cpu_rate": written / cpu_s,
        "tokens": len(graph.tokens),
        "invocations": len(graph.invocations),
        "peak_rss": _peak_rss(),
    }


def _child(args: Sequence[str]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its result is its last stdout line."""
    cmd = [sys.executable, str(HERE), "--child", *args]
    done = subprocess.run(  # our own script, with our interpreter
        cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr.strip()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def _mib(n: float) -> str:
    return f"{n / 1024**2:,.0f}"


def _k(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def markdown(quick: bool = False, log: Any = None) -> str:
    """Run every size and the ingestion (each in a fresh process); the report."""
    sizes = QUICK_SIZES if quick else SIZES
    n_ingest = QUICK_INGEST_RECORDS if quick else INGEST_RECORDS
    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    results = []
    for edges in sizes:
        say(f"graph: {_k(edges)} edges ...")
        results.append(_child(["size", str(edges)]))
    say(f"graph: ingestion of {n_ingest:,} records ...")
    ingest = _child(["ingest", str(n_ingest)])
    from delegation.graph import RULES

    rules = sorted(RULES)
    out = [
        "### Delegation graph at fleet scale",
        "",
        f"Mode: {'quick (indicative only)' if quick else 'full'}; seed {SEED}; "
        f"{len(rules)} registered rule(s): {', '.join(rules)}. Each size in a fresh process; "
        "facts generated before timing (not signed); analysis = one `graph.findings()` "
        "with every rule. CPU s: this process's CPU time for build + analysis (wall time "
        "above it means the cores were shared).",
        "",
        f"Load average at start: {load}.",
        "",
        "| edges | tasks | agents | cross / loops | invocations | build s | analysis s "
        "| build + analysis s | (CPU s) | peak RSS MiB | graph MiB | findings |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        total = r["build_s"] + r["analyse_s"]
        out.append(
            f"| {r['edges']:,} | {r['tasks']:,} | {r['agents']:,} | {r['cross']:,} / "
            f"{r['loops']:,} | {r['invocations']:,} | {r['build_s']:.2f} | "
            f"{r['analyse_s']:.2f} | {total:.2f} | {r['cpu_s']:.2f} | {_mib(r['peak_rss'])} | "
            f"{_mib(r['rss_built'] - r['rss_start'])} | {r['findings']:,} |"
        )
    out += [
        "",
        "Graph MiB: resident growth from start to built graph (facts and graph; they share "
        "the token objects). Per-rule analysis time, seconds (findings):",
        "",
        "| rule | " + " | ".join(_k(r["edges"]) for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for rule in rules:
        cells = [f"{r['per_rule'][rule]:.2f} ({r['by_rule'].get(rule, 0):,})" for r in results]
        out.append(f"| {rule} | " + " | ".join(cells) + " |")
    a, b = results[-2], results[-1]
    t_a, t_b = a["build_s"] + a["analyse_s"], b["build_s"] + b["analyse_s"]
    m_a, m_b = a["rss_built"] - a["rss_start"], b["rss_built"] - b["rss_start"]
    growth_t, growth_m = t_b / t_a, m_b / m_a
    span = f"{_k(a['edges'])} -> {_k(b['edges'])}"
    out += [
        "",
        f"Growth {span} ({b['edges'] / a['edges']:.0f}x the edges): time {growth_t:.1f}x "
        f"({t_a:.2f} -> {t_b:.2f} s), memory {growth_m:.1f}x (graph MiB "
        f"{_mib(m_a)} -> {_mib(m_b)}; peak RSS {_mib(a['peak_rss'])} -> {_mib(b['peak_rss'])}).",
        "",
        "Machine speed (a fixed pure-Python loop, µs per 1,000 steps; lower is faster) "
        "before and after each size: "
        + ", ".join(f"{_k(r['edges'])} {r['speed'][0]:.0f} / {r['speed'][1]:.0f}" for r in results)
        + ". This machine's CPUs change speed between runs (the same code and input then "
        "take up to 1.7x as long): compare runs whose figures here agree.",
        "",
        f"Ingestion: `from_audit` on a {ingest['records']:,}-record schema-v1 log "
        f"({ingest['bytes'] / 1024**2:,.0f} MiB; mint, delegate, accept and verify records "
        f"whose chains repeat their ancestors; {ingest['tokens']:,} tokens, "
        f"{ingest['invocations']:,} invocations): {ingest['ingest_s']:.2f} s, "
        f"**{ingest['rate']:,.0f} records/s** ({ingest['cpu_rate']:,.0f} per CPU second; "
        f"peak RSS {_mib(ingest['peak_rss'])} MiB).",
        "",
        "#### Targets",
        "",
    ]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    if b["edges"] == 1_000_000:
        out.append(
            f"- {verdict(t_b < MAX_SECONDS_1M)}: 1M edges built and analysed in "
            f"{t_b:.1f} s (limit {MAX_SECONDS_1M:.0f} s)"
        )
        out.append(
            f"- {verdict(b['peak_rss'] < MAX_RSS_1M)}: 1M edges peak RSS "
            f"{_mib(b['peak_rss'])} MiB (limit {_mib(MAX_RSS_1M)} MiB)"
        )
        out.append(
            f"- {verdict(growth_t <= MAX_GROWTH)}: growth 100k -> 1M, time {growth_t:.1f}x "
            f"(limit {MAX_GROWTH:.0f}x)"
        )
        out.append(
            f"- {verdict(growth_m <= MAX_GROWTH)}: growth 100k -> 1M, memory {growth_m:.1f}x "
            f"(limit {MAX_GROWTH:.0f}x)"
        )
    else:
        out.append("- n/a: the 1M-edge and growth targets (not measured in a quick run)")
    out.append(
        f"- {verdict(ingest['rate'] >= MIN_INGEST_RATE)}: ingestion {ingest['rate']:,.0f} "
        f"records/s (at least {MIN_INGEST_RATE:,.0f})"
    )
    out += ["", f"Graph benchmark run: {time.perf_counter() - started:.1f} s.", ""]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k and 100k edges only")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, n = args.child
        result = measure_size(int(n)) if kind == "size" else measure_ingest(int(n))
        print(json.dumps(result))
        return 0
    print(markdown(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
