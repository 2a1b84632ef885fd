"""Every benchmark of the performance issue in one run; writes benchmarks/RESULTS.md.

Run: ``python benchmarks/bench_all.py [--quick]`` (peers: ``pip install -e '.[bench]'``).

One process measures, side by side and interleaved: (a) raw Ed25519 verify with each
backend; (b) ``Verifier.verify`` cold for N = 1, 3, 4, 5, 10 hops + proof; (c) warm
(ancestors cached); (d) a naive pyjwt-per-token loop doing the same checks; (e) tenuo,
biscuit-python and pymacaroons on equivalent workloads, from the wire and pre-parsed;
(f) mint, delegate and prove against a raw sign. Then, outside the timed rounds: (g)
memory per cached token (tracemalloc) and verification throughput with 1 process,
2 threads and 2 processes; start-up wall time of ``import delegation`` and ``delegation
--help`` (bench_startup.py); bench_governance.py, whose audit figures join the targets;
and the phases of each missed target (bench_breakdown.py). Each target of the issue is
computed from this run's medians (PASS/FAIL), a missed one is broken down with what was
tried, and the report (Markdown) is printed and written to RESULTS.md. README.md explains
every row, the peers' workloads and where they are or are not equivalent to ours.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_breakdown
import bench_peers
import bench_startup
from _common import (
    REQ,
    RawCall,
    Series,
    World,
    cpu_model,
    git_revision,
    openssl_text,
    package_version,
    python_text,
    signing_input_sizes,
    table,
    time_calls,
    time_raw_calls,
    time_raw_sign,
    usable_cpus,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from delegation import AgentKey, Chain, DelegationError, Request, Verifier, parse_unverified
from delegation.keys import ED25519_BACKEND

nacl_bindings: Any = bench_peers.optional_import("nacl.bindings")
nacl_signing: Any = bench_peers.optional_import("nacl.signing")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
GOVERNANCE = HERE / "bench_governance.py"
GRAPH = HERE / "bench_graph.py"

COLD_HOPS = (1, 3, 4, 5, 10)  # 1, 3, 5, 10 from the issue; 4 = biscuit's 5 signatures
WARM_HOPS = (4, 5)
ROUNDS = 10
SEED = 20_260_101  # row order per round is shuffled, reproducibly
CALIBRATION = "calibration: a pure-Python integer loop, no verifier"
BURN_CHUNK = 10_000  # loop iterations per calibration item (about one cold verify)

# target limits of the performance issue
# issue 12's targets (performance, round two)
COLD_VS_RAW_1 = 1.5  # cold N=5, one thread <= 1.5 x (6 x raw verify of the backend in use)
COLD_VS_RAW = 1.2  # cold N=5, workers=2 <= 1.2 x (6 x raw verify of the backend in use)
WARM_VS_RAW = 1.3  # warm N=5 <= 1.3 x one raw cryptography verify
COLD_VS_BISCUIT = 1.15  # cold N=4 (5 signatures), workers=2 <= 1.15 x biscuit
SIGN_VS_RAW = 1.3  # mint of a root, proof creation <= 1.3 x raw sign
DELEGATE_VS_RAW = 1.6  # delegate (a chain it has not seen) <= 1.6 x raw sign
WORKERS_HOPS = (4, 5)  # cold rows also timed with Verifier(workers=2)
IMPORT_MS = 150.0  # `import delegation`, a fresh interpreter, wall time
HELP_MS = 250.0  # `delegation --help`, idem
STARTUP_RUNS = 9  # timed runs of each start-up command (after one warm-up run)
AUDIT_FLUSH = 1.15  # audit durability "flush" <= 1.15 x a verification without audit
AUDIT_GROUP = 1.6  # durability "group": 2 threads >= 1.6 x the throughput of 1
AUDIT_SIGNED = 1.10  # signed audit records add <= 10 %
ISSUE2_RATIO = 1.5  # issue 2 (bench_verify.py): cold N=5 <= 1.5 x 6 raw cryptography
X = "\N{MULTIPLICATION SIGN}"  # for the report's text


@dataclass(frozen=True)
class Plan:
    """Sample counts for one run."""

    samples: int  # per row of ours and of the peers
    raw: int  # per raw-primitive row
    warmup: int
    warmup_raw: int
    mem_tokens: int  # distinct tokens for the memory measurement
    requests: int  # per throughput mode
    repeats: int  # throughput: how many times the modes take turns
    gov_timeout: int  # seconds bench_governance.py may take
    breakdown: int  # calls per breakdown table (as many again without the timers)

    @classmethod
    def for_run(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                samples=200, raw=600, warmup=20, warmup_raw=60, mem_tokens=1000,
                requests=600, repeats=2, gov_timeout=300, breakdown=200,
            )  # fmt: skip
        return cls(
            samples=2000, raw=6000, warmup=30, warmup_raw=300, mem_tokens=1000,
            requests=2000, repeats=3, gov_timeout=900, breakdown=1000,
        )  # fmt: skip


@dataclass
class Row:
    """One timed row: ``sample(k, out)`` appends ``k`` timings (ns) to ``out``."""

    key: str
    label: str
    sample: Callable[[int, list[int]], None]
    raw: bool = False
    peer: bool = False  # a peer's row: an error is reported as a row, not a crash
    series: Series = field(init=False)
    failed: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.series = Series(self.key)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ building


def raw_verify_calls(sizes: Sequence[int], variants: int = 8) -> dict[str, list[RawCall]]:
    """Single raw verifications over messages of the given sizes, one key per position.

    Keys: ``crypto`` (cryptography), ``nacl`` (libsodium ``crypto_sign_open`` on a
    prepared signed message: the primitive itself), ``nacl_api`` (PyNaCl
    ``VerifyKey.verify``), ``ours_crypto`` / ``ours_nacl`` (``delegation.PublicKey.verify``
    forced to each backend).
    """
    out: dict[str, list[RawCall]] = {"crypto": [], "ours_crypto": []}
    c_keys = [Ed25519PrivateKey.generate() for _ in sizes]
    a_keys = [AgentKey.generate(f"spiffe://bench.example/k{i}") for i in range(len(sizes))]
    n_keys = [nacl_signing.SigningKey.generate() for _ in sizes] if nacl_signing else []
    if nacl_signing is not None:
        out.update(nacl=[], nacl_api=[], ours_nacl=[])
    for _ in range(variants):
        for i, n in enumerate(sizes):
            m = secrets.token_bytes(n)
            out["crypto"].append((c_keys[i].public_key().verify, c_keys[i].sign(m), m))
            sig = a_keys[i].sign(m)
            pub = a_keys[i].public
            ours_crypto = functools.partial(pub.verify, backend="cryptography")
            out["ours_crypto"].append((ours_crypto, sig, m))
            if nacl_signing is not None:
                sk = n_keys[i]
                s = sk.sign(m).signature
                vk = sk.verify_key
                out["nacl"].append((nacl_bindings.crypto_sign_open, s + m, bytes(vk)))
                out["nacl_api"].append((vk.verify, m, s))
                out["ours_nacl"].append((functools.partial(pub.verify, backend="nacl"), sig, m))
    return out


def cycle_items(items: Sequence[Any]) -> Iterator[Any]:
    """Items in order, then again (only the warm-up reuses nothing: counts match)."""
    while True:
        yield from items


@dataclass
class Material:
    """Everything minted before timing (not timed)."""

    world: World
    cold: dict[int, list[tuple[str, str]]]  # N -> distinct (chain text, proof)
    warm_text: dict[int, str]
    warm_proofs: dict[int, list[str]]
    sizes5: list[int]
    root_size: int
    hop_size: int
    proof_size: int
    roots_for_delegate: list[Chain]
    roots_for_prove: list[Chain]


def mint_material(plan: Plan) -> Material:
    world = World(n_agents=max(COLD_HOPS))
    n = plan.warmup + plan.samples
    cold: dict[int, list[tuple[str, str]]] = {}
    for hops in COLD_HOPS:
        chains = [world.chain(hops) for _ in range(n)]
        cold[hops] = [(str(c), world.prove(c)) for c in chains]
    warm_text: dict[int, str] = {}
    warm_proofs: dict[int, list[str]] = {}
    for hops in WARM_HOPS:
        chain = world.chain(hops)
        warm_text[hops] = str(chain)
        warm_proofs[hops] = [world.prove(chain) for _ in range(n)]
    sample5 = Chain.parse(cold[5][0][0])
    root = world.mint_root(depth=2)
    hop = world.delegate(root, 1)
    return Material(
        world=world,
        cold=cold,
        warm_text=warm_text,
        warm_proofs=warm_proofs,
        sizes5=signing_input_sizes(sample5, cold[5][0][1]),
        root_size=len(parse_unverified(root)[0].signing_input),
        hop_size=len(parse_unverified(hop)[1].signing_input),
        proof_size=len(world.prove(root).rsplit(".", 1)[0]),
        roots_for_delegate=[world.mint_root(depth=2) for _ in range(n)],
        roots_for_prove=[world.mint_root(depth=2) for _ in range(n)],
    )


def selfcheck_ours(world: World, verifier: Verifier) -> None:
    """Our verifier allows the request and denies the peers' out-of-scope requests."""
    chain = world.chain(5)
    verifier.verify(str(chain), world.prove(chain), REQ)
    for resource, rows in bench_peers.OUT_OF_SCOPE:
        request = Request(tool=REQ.tool, resource=resource, args={"max_rows": rows})
        try:
            verifier.verify(str(chain), world.overreaching_proof(chain, request), request)
        except DelegationError:
            continue
        raise AssertionError(f"Verifier allowed {resource} {rows}")


def build_rows(
    plan: Plan, mat: Material, workloads: Sequence[bench_peers.Workload]
) -> tuple[list[Row], dict[str, Verifier]]:
    world = mat.world
    rows: list[Row] = []
    # (a) raw verify, one signature
    raw = raw_verify_calls(mat.sizes5)
    labels = {
        "crypto": "cryptography `Ed25519PublicKey.verify`",
        "nacl": "PyNaCl `crypto_sign_open` (libsodium)",
        "nacl_api": "PyNaCl `VerifyKey.verify`",
        "ours_crypto": 'delegation `PublicKey.verify(backend="cryptography")`',
        "ours_nacl": 'delegation `PublicKey.verify(backend="nacl")`',
    }
    for name, calls in raw.items():
        rows.append(
            Row(f"raw.{name}", labels[name], functools.partial(time_raw_calls, calls), raw=True)
        )
    # (b) cold, (d) naive: the same distinct chains, each with its own verifier/replay set
    cold_v = world.new_verifier()
    cold2_v = world.new_verifier(workers=2)
    warm_v = world.new_verifier()
    selfcheck_ours(world, world.new_verifier())
    bench_peers.naive_selfcheck(world)
    naive = bench_peers.NaivePyJWT(world)

    def ours(v: Verifier) -> Callable[[tuple[str, str]], object]:
        verify = v.verify
        return lambda item: verify(item[0], item[1], REQ)

    def naive_fn(item: tuple[str, str]) -> object:
        naive.verify(item[0], item[1], REQ)
        return None

    for hops in COLD_HOPS:
        items = mat.cold[hops]
        rows.append(
            Row(
                f"cold.{hops}",
                f"N={hops}",
                functools.partial(time_calls, ours(cold_v), iter(items)),
            )
        )
        rows.append(
            Row(f"naive.{hops}", f"N={hops}", functools.partial(time_calls, naive_fn, iter(items)))
        )
        if hops in WORKERS_HOPS:  # the same chains on a verifier of its own, workers=2
            rows.append(
                Row(
                    f"cold2.{hops}",
                    f"N={hops}, workers=2",
                    functools.partial(time_calls, ours(cold2_v), iter(items)),
                )
            )
    # (c) warm: one chain, a fresh proof each call
    for hops in WARM_HOPS:
        text = mat.warm_text[hops]
        warm_items = iter([(text, p) for p in mat.warm_proofs[hops]])
        rows.append(
            Row(
                f"warm.{hops}", f"N={hops}", functools.partial(time_calls, ours(warm_v), warm_items)
            )
        )
    # (e) peers
    for w in workloads:
        check_wire: Callable[[Any], object] = w.check_wire
        wire_items: Iterator[Any] = w.wire_items()
        rows.append(
            Row(
                f"{w.name}.wire",
                w.name,
                functools.partial(time_calls, check_wire, wire_items),
                peer=True,
            )
        )
        parsed: Iterator[Any] = w.parsed_items()
        rows.append(
            Row(
                f"{w.name}.parsed",
                w.name,
                functools.partial(time_calls, w.check_parsed, parsed),
                peer=True,
            )
        )
    # (f) mint / delegate / prove vs a raw sign of a message of the token's size
    sign_key = Ed25519PrivateKey.generate()

    def msgs(n: int) -> list[bytes]:
        return [secrets.token_bytes(n) for _ in range(8)]

    mint_items: Iterator[None] = iter(lambda: None, 1)  # endless Nones
    rows += [
        Row(
            "sign.mint",
            "mint",
            functools.partial(time_calls, lambda _: world.mint_root(depth=2), mint_items),
        ),
        Row(
            "sign.delegate",
            "delegate",
            functools.partial(
                time_calls, lambda c: world.delegate(c, 1), iter(mat.roots_for_delegate)
            ),
        ),
        Row(
            "sign.prove",
            "prove",
            functools.partial(time_calls, world.prove, iter(mat.roots_for_prove)),
        ),
        Row(
            "raw.sign.mint",
            "raw sign",
            functools.partial(time_raw_sign, sign_key, msgs(mat.root_size)),
            raw=True,
        ),
        Row(
            "raw.sign.delegate",
            "raw sign",
            functools.partial(time_raw_sign, sign_key, msgs(mat.hop_size)),
            raw=True,
        ),
        Row(
            "raw.sign.prove",
            "raw sign",
            functools.partial(time_raw_sign, sign_key, msgs(mat.proof_size)),
            raw=True,
        ),
    ]
    if nacl_signing is not None:  # libsodium's raw sign, for the (f) table's last column
        nacl_key = nacl_signing.SigningKey.generate()
        for key, size in (
            ("mint", mat.root_size),
            ("delegate", mat.hop_size),
            ("prove", mat.proof_size),
        ):
            rows.append(
                Row(
                    f"raw.nsign.{key}",
                    "raw sign (libsodium)",
                    functools.partial(time_raw_sign, nacl_key, msgs(size)),
                    raw=True,
                )
            )
    return rows, {"cold": cold_v, "warm": warm_v}


def _sample(row: Row, k: int, out: list[int]) -> None:
    """Time ``k`` calls of ``row``; a peer that fails (say, a time limit of its own hit on
    a loaded machine) is marked failed and left out from then on, reported as a row."""
    if row.failed is not None:
        return
    try:
        row.sample(k, out)
    except Exception as exc:
        if not row.peer:
            raise
        row.failed = f"{type(exc).__name__}: {str(exc)[:160]}"
        log(f"  {row.key} failed: {row.failed}")


def run_rounds(plan: Plan, rows: Sequence[Row]) -> None:
    for row in rows:  # warm-up: per-key and per-pattern memos, peers' lazy set-up
        _sample(row, plan.warmup_raw if row.raw else plan.warmup, [])
    gc.collect()
    gc.freeze()  # the pre-minted material is not garbage; keep collections off it
    try:
        rng = random.Random(SEED)  # an order, not a secret
        k_ours, k_raw = plan.samples // ROUNDS, plan.raw // ROUNDS
        order = list(rows)
        for _ in range(ROUNDS):
            rng.shuffle(order)
            for row in order:
                _sample(row, k_raw if row.raw else k_ours, row.series.ns)
    finally:
        gc.unfreeze()


# ---------------------------------------------------------------- memory per token


@dataclass
class MemoryResult:
    tokens: int
    mean_token_bytes: float
    grow_on: int
    grow_off: int

    @property
    def per_token(self) -> float:
        return (self.grow_on - self.grow_off) / self.tokens


def _cache_len(v: Verifier) -> int:
    cache = getattr(v, "_cache", None)
    return len(cache) if cache is not None else -1


def cache_memory(world: World, n_tokens: int) -> MemoryResult:
    """tracemalloc growth of a verifier over ``n_tokens`` distinct tokens (chains of 5),
    with the token cache on, minus the same with it off (``token_cache=0``). Each chain is
    verified twice: the cache admits a token on its second sighting."""
    texts = [str(world.chain(5)) for _ in range(n_tokens // 5)]
    other = str(world.chain(5))
    mean = sum(len(t) for text in texts for t in text.split("~")) / (len(texts) * 5)

    def grow(cache: int) -> tuple[int, int]:
        v = world.new_verifier(token_cache=cache)
        v.verify_chain(other)  # warm the memos (keys, patterns) outside the measurement
        v.verify_chain(other)
        before_len = _cache_len(v)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for text in texts:
                v.verify_chain(text)
                v.verify_chain(text)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return after - before, _cache_len(v) - before_len

    grow_on, cached = grow(max(4096, 2 * n_tokens))
    grow_off, _ = grow(0)
    if cached not in (-1, len(texts) * 5):
        raise AssertionError(f"expected {len(texts) * 5} cached tokens, found {cached}")
    return MemoryResult(len(texts) * 5, mean, grow_on, grow_off)


# ---------------------------------------------------------------------- throughput


MODES = ("1 process", "2 threads", "2 processes")

Span = tuple[float, float, int]  # (start, end, denials) of one worker
Worker = Callable[[Sequence[Any]], Span]


@dataclass
class Throughput:
    label: str
    requests: int
    repeats: int
    per_mode: dict[str, list[float]]  # mode -> items per second, one per repeat

    def rate(self, mode: str) -> float:
        """The median rate of the repeats."""
        return statistics.median(self.per_mode[mode])

    def gain(self, mode: str) -> float:
        return self.rate(mode) / self.rate("1 process")


def _run_span(v: Verifier, text: str | None, items: Sequence[Any]) -> Span:
    """Verify ``items`` (pairs, or proofs of the one chain ``text``) and time the span."""
    denied = 0
    verify = v.verify
    t0 = time.perf_counter()
    for item in items:
        chain, proof = (text, item) if text is not None else item
        try:
            verify(chain, proof, REQ)
        except DelegationError:
            denied += 1
    return t0, time.perf_counter(), denied


def verifier_worker(world: World, text: str | None, warm: Sequence[Any]) -> Worker:
    """A fresh verifier, warmed on ``warm``; the worker verifies its part with it."""
    v = world.new_verifier()
    _run_span(v, text, warm)
    return functools.partial(_run_span, v, text)


def _burn(part: Sequence[Any]) -> Span:
    """Calibration: a pure-Python loop (no C calls, the GIL held throughout)."""
    t0 = time.perf_counter()
    x = 0
    for n in part:
        for i in range(n):
            x ^= i
    return t0, time.perf_counter(), 0


def burn_worker() -> Worker:
    return _burn


def _proc_main(make: Callable[[], Worker], part: Sequence[Any], barrier: Any, out: Any) -> None:
    worker = make()  # each process: its own verifier (and stores)
    barrier.wait()
    out.put(worker(part))


def _one_process(make: Callable[[], Worker], timed: Sequence[Any]) -> list[Span]:
    return [make()(timed)]


def _two_threads(make: Callable[[], Worker], timed: Sequence[Any]) -> list[Span]:
    worker = make()  # one verifier shared by both threads, as in a threaded server
    gate = threading.Barrier(2)
    spans: list[Span] = []

    def thread_main(part: Sequence[Any]) -> None:
        gate.wait()
        spans.append(worker(part))

    threads = [threading.Thread(target=thread_main, args=(timed[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return spans


def _two_processes(make: Callable[[], Worker], timed: Sequence[Any]) -> list[Span]:
    ctx = multiprocessing.get_context("fork")  # children inherit the minted material
    barrier = ctx.Barrier(2)
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_proc_main, args=(make, timed[i::2], barrier, queue)) for i in range(2)
    ]
    for p in procs:
        p.start()
    spans = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return spans


_RUNNERS = {"1 process": _one_process, "2 threads": _two_threads, "2 processes": _two_processes}


def measure_throughput(
    jobs: Sequence[tuple[str, Callable[[], Worker], Sequence[Any]]], repeats: int
) -> list[Throughput]:
    """Items/s of each job with 1 process, 2 threads (one shared worker state) and
    2 processes (one each), the items split evenly between workers.

    ``jobs``: (label, make a warmed-up worker, items). Wall time runs from the first
    worker's start to the last one's end. Jobs and modes take turns ``repeats`` times
    (so a passing disturbance hits them alike); the report gives the median rate.
    """
    per_mode: list[dict[str, list[float]]] = [{m: [] for m in MODES} for _ in jobs]
    gc.collect()
    gc.freeze()  # also keeps the forked children from copying pages to update GC state
    try:
        for _ in range(repeats):
            for (label, make, items), rates in zip(jobs, per_mode, strict=True):
                for mode in MODES:
                    spans = _RUNNERS[mode](make, items)
                    denied = sum(d for *_, d in spans)
                    if denied:
                        raise AssertionError(f"throughput {label} {mode}: {denied} denied")
                    seconds = max(e for _, e, _ in spans) - min(st for st, _, _ in spans)
                    rates[mode].append(len(items) / seconds)
    finally:
        gc.unfreeze()
    return [
        Throughput(label, len(items), repeats, rates)
        for (label, _, items), rates in zip(jobs, per_mode, strict=True)
    ]


# ---------------------------------------------------------------------- governance


@dataclass
class Governance:
    """bench_governance.py's report (Markdown lines) and its audit figures (None: not run)."""

    lines: list[str]
    figures: dict[str, dict[str, float]] | None = None


def governance_section(quick: bool, timeout: int) -> Governance:
    """Run bench_governance.py as a script: its stdout (tables) and its ``--json`` figures
    for the audit targets; a placeholder when it is absent or fails."""
    if not GOVERNANCE.exists():
        return Governance(
            ["_Not measured in this run: `benchmarks/bench_governance.py` is absent._"]
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        figures_file = Path(tmp) / "governance.json"
        cmd = [sys.executable, str(GOVERNANCE), "--json", str(figures_file)]
        try:
            done = subprocess.run(  # our own script, with our interpreter
                [*cmd, *(["--quick"] if quick else [])],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Governance([f"_bench_governance.py did not finish within {timeout} s._"])
        figures = json.loads(figures_file.read_text()) if figures_file.exists() else None
    text = done.stdout
    if done.returncode != 0:
        text += f"\n\n```\n{done.stderr.strip()[-2000:]}\n```"
    took = time.perf_counter() - started
    note = f"run as a script, exit code {done.returncode}, {took:.1f} s"
    # its headings go under ours ("## Governance"): demote them by two levels
    lines = ["##" + line if line.startswith("#") else line for line in text.strip().splitlines()]
    return Governance([f"_From `benchmarks/bench_governance.py` ({note})._", "", *lines], figures)


def graph_section(quick: bool) -> list[str]:
    """bench_graph.py's report (build + every rule at 10k/100k/1M edges, ingestion): its
    ``markdown(quick=...)``, which runs each size in a fresh process of its own."""
    if not GRAPH.exists():
        return ["_Not measured in this run: `benchmarks/bench_graph.py` does not exist._"]
    started = time.perf_counter()
    try:
        module = importlib.import_module("bench_graph")
        text = str(module.markdown(quick=quick, log=log))
    except Exception as exc:  # report it; the other results stand
        return [f"_bench_graph.py failed: {type(exc).__name__}: {exc}_"]
    took = time.perf_counter() - started
    lines = ["##" + line if line.startswith("#") else line for line in text.strip().splitlines()]
    return [f"_From `benchmarks/bench_graph.py` ({took:.1f} s)._", "", *lines]


# -------------------------------------------------------------------------- report


@dataclass
class Target:
    name: str
    measured: float | None  # None: not measured in this run (a script that failed)
    limit: float | None  # None: its baseline was not measured (a peer not installed)
    detail: str
    strict: bool = False  # "<" (faster than) rather than "<="
    unit: str = "µs"
    at_least: bool = False  # ">=" (a throughput): the measured figure must reach the limit
    key: str = ""  # which breakdown explains it (bench_breakdown.GROUPS)

    @property
    def ok(self) -> bool | None:
        if self.limit is None or self.measured is None:
            return None
        if self.at_least:
            return self.measured >= self.limit
        return self.measured < self.limit if self.strict else self.measured <= self.limit

    def line(self, i: int) -> str:
        if self.measured is None:
            return f"| {i} | {self.name} | — | — | — | n/a | {self.detail} |"
        measured = f"{self.measured:,.1f} {self.unit}"
        if self.limit is None:
            return f"| {i} | {self.name} | {measured} | — | — | n/a | {self.detail} |"
        verdict = "**PASS**" if self.ok else "**FAIL**"
        return (
            f"| {i} | {self.name} | {measured} | {self.limit:,.1f} {self.unit} "
            f"| {self.measured / self.limit:.2f} | {verdict} | {self.detail} |"
        )


def startup_targets(ms: dict[str, list[float]]) -> list[Target]:
    """``import delegation`` and ``delegation --help``: wall time of a fresh process."""
    python = statistics.median(ms["python -c pass"])
    runs = len(ms["python -c pass"])
    return [
        Target(
            f"`{name}` ≤ {limit:.0f} ms (a fresh process, wall time)",
            statistics.median(ms[name]),
            limit,
            f"median of {runs} runs after a warm-up; `python -c pass`: {python:.1f} ms",
            unit="ms",
            key=key,
        )
        for name, limit, key in (
            ("import delegation", IMPORT_MS, "import"),
            ("delegation --help", HELP_MS, "help"),
        )
    ]


def audit_targets(figures: dict[str, dict[str, float]] | None) -> list[Target]:
    """The audit log's targets, from bench_governance.py's figures of this run."""
    absent = "bench_governance.py gave no figures in this run (see Governance)"
    if figures is None:
        names = {
            "flush": "Audit `flush`",
            "group": "Audit `group`, 2 threads",
            "signed": "Signed audit records",
        }
        return [Target(name, None, None, absent, key=key) for key, name in names.items()]
    flush, group, signed = figures["flush"], figures["group"], figures["signed"]
    return [
        Target(
            f"Audit `flush` ≤ {AUDIT_FLUSH} {X} a verification without audit (cold N=5)",
            flush["measured_us"],
            AUDIT_FLUSH * flush["bare_us"],
            f"{fmt(flush['bare_us'])} µs {X} {AUDIT_FLUSH} (bench_governance.py)",
            key="flush",
        ),
        Target(
            f"Audit `group`: 2 threads ≥ {AUDIT_GROUP} {X} the throughput of 1",
            group["threads_2_per_s"],
            AUDIT_GROUP * group["threads_1_per_s"],
            f"1 thread {group['threads_1_per_s']:,.0f}/s {X} {AUDIT_GROUP} (bench_governance.py)",
            unit="/s",
            at_least=True,
            key="group",
        ),
        Target(
            f"Signed audit records add ≤ {AUDIT_SIGNED - 1:.0%} (fsync, cold N=5)",
            signed["measured_us"],
            AUDIT_SIGNED * signed["unsigned_us"],
            f"unsigned audit {fmt(signed['unsigned_us'])} µs {X} {AUDIT_SIGNED} "
            "(bench_governance.py)",
            key="signed",
        ),
    ]


def load_text() -> str:
    """1, 5, 15 min load averages: another process competing for the cores shows here."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def fmt(x: float) -> str:
    return f"{x:.1f}"


def section(
    heading: str,
    intro: str,
    head: Sequence[str],
    align: str,
    body: Sequence[Sequence[str]],
) -> list[str]:
    """A report section: its Markdown heading, an introductory paragraph and its table."""
    return [heading, "", intro, "", *table(head, align, body), ""]


def machine_lines(plan: Plan, quick: bool, started_at: datetime) -> list[str]:
    peers = bench_peers.peer_versions()
    nacl = package_version("pynacl")
    facts = [
        ("date (UTC)", started_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("mode", "--quick (indicative only)" if quick else "full"),
        ("CPU", cpu_model()),
        ("cores", f"{os.cpu_count()} (usable: {usable_cpus() or '?'})"),
        ("load average at start", load_text()),
        ("platform", sys.platform + " / " + os.uname().release if hasattr(os, "uname") else ""),
        ("Python", python_text()),
        (
            "delegation",
            f"{package_version('delegation') or 'source tree'} (git {git_revision() or '?'})",
        ),
        ("Ed25519 backend in use", f"`{ED25519_BACKEND}` (delegation.keys.ED25519_BACKEND)"),
        ("cryptography", f"{package_version('cryptography')} ({openssl_text()})"),
        ("PyNaCl", nacl or "not installed"),
        ("PyJWT", package_version("pyjwt") or "?"),
        ("pydantic", package_version("pydantic") or "?"),
        *((dist, ver or "not installed") for dist, ver in peers.items()),
        (
            "samples",
            f"{plan.samples} per row of ours and the peers, {plan.raw} per raw row; "
            f"{ROUNDS} interleaved rounds (row order shuffled each round); warm-up "
            f"{plan.warmup} / {plan.warmup_raw} raw",
        ),
    ]
    return table(("", ""), "ll", [(k, v) for k, v in facts])


def report(
    plan: Plan,
    quick: bool,
    started_at: datetime,
    mat: Material,
    rows: Sequence[Row],
    missing: Sequence[str],
    memory: MemoryResult,
    throughput: Sequence[Throughput],
    governance: Governance,
    startup: dict[str, list[float]],
    breakdowns: dict[str, bench_breakdown.Breakdown],
    graph: list[str],
    elapsed: Callable[[], float],
) -> str:
    s: dict[str, Series] = {r.key: r.series for r in rows}
    backend = ED25519_BACKEND
    raw_used = s["raw.nacl" if backend == "nacl" and "raw.nacl" in s else "raw.crypto"].median_us
    raw_crypto = s["raw.crypto"].median_us

    def med(key: str) -> float:
        return s[key].median_us

    def peer(key: str, factor: float = 1.0) -> float | None:
        return factor * s[key].median_us if key in s else None

    not_installed = "not installed or failed: no baseline"

    out: list[str] = [
        "# delegation: benchmark results",
        "",
        "Generated by `python benchmarks/bench_all.py"
        + (" --quick`" if quick else "`")
        + " in one process run. Do not edit by hand; README.md explains every row.",
        "",
        "## Machine",
        "",
        *machine_lines(plan, quick, started_at),
        "",
    ]

    # targets
    targets: list[Target] = [
        Target(
            f"Cold N=5, one thread ≤ {COLD_VS_RAW_1} {X} (6 {X} raw verify, `{backend}`)",
            med("cold.5"),
            COLD_VS_RAW_1 * 6 * raw_used,
            f"6 {X} {fmt(raw_used)} µs {X} {COLD_VS_RAW_1}",
            key="cold1",
        ),
        Target(
            f"Cold N=5, `workers=2` ≤ {COLD_VS_RAW} {X} (6 {X} raw verify, `{backend}`)",
            med("cold2.5"),
            COLD_VS_RAW * 6 * raw_used,
            f"6 {X} {fmt(raw_used)} µs {X} {COLD_VS_RAW}",
            key="cold2",
        ),
    ]
    targets.append(
        Target(
            "Cold N=5, `workers=2`, faster than tenuo `check_chain` from the wire",
            med("cold2.5"),
            peer("tenuo.wire"),
            "5 warrants + PoP, decoded from the headers" if "tenuo.wire" in s else not_installed,
            strict=True,
            key="tenuo_wire",
        )
    )
    targets.append(
        Target(
            f"Cold N=4 (5 signatures), `workers=2`, ≤ {COLD_VS_BISCUIT} {X} biscuit "
            "parse+verify+authorize",
            med("cold2.4"),
            peer("biscuit.wire", COLD_VS_BISCUIT),
            f"{fmt(med('biscuit.wire'))} µs {X} {COLD_VS_BISCUIT}"
            if "biscuit.wire" in s
            else not_installed,
            key="biscuit",
        )
    )
    targets.append(
        Target(
            f"Warm N=5 ≤ {WARM_VS_RAW} {X} one raw `cryptography` verify",
            med("warm.5"),
            WARM_VS_RAW * raw_crypto,
            f"{fmt(raw_crypto)} µs {X} {WARM_VS_RAW}",
            key="warm",
        )
    )
    targets.append(
        Target(
            "Warm N=5 faster than tenuo `check_chain` pre-parsed",
            med("warm.5"),
            peer("tenuo.parsed"),
            "same Warrant objects, fresh PoP" if "tenuo.parsed" in s else not_installed,
            strict=True,
            key="tenuo_parsed",
        )
    )
    for key, name, factor in (
        ("mint", "Mint of a root (`Delegator.mint`)", SIGN_VS_RAW),
        ("prove", "Proof creation (`Delegator.prove`)", SIGN_VS_RAW),
        ("delegate", "`Delegator.delegate` onto a 1-token chain it has not seen", DELEGATE_VS_RAW),
    ):
        targets.append(
            Target(
                f"{name} ≤ {factor} {X} raw sign",
                med(f"sign.{key}"),
                factor * med(f"raw.sign.{key}"),
                f"{fmt(med(f'raw.sign.{key}'))} µs {X} {factor}",
                key=key,
            )
        )
    targets += startup_targets(startup)
    targets += audit_targets(governance.figures)
    targets.append(
        Target(
            f"(issue 2, as bench_verify.py) Cold N=5 ≤ {ISSUE2_RATIO} {X} 6 {X} raw `cryptography`",
            med("cold.5"),
            ISSUE2_RATIO * 6 * raw_crypto,
            f"6 {X} {fmt(raw_crypto)} µs {X} {ISSUE2_RATIO}",
            key="issue2",
        )
    )
    passed = sum(t.ok is True for t in targets)
    computed = sum(t.ok is not None for t in targets)
    out += [
        "## Targets",
        "",
        f"{passed} of {computed} pass"
        + (f" ({len(targets) - computed} not computed)" if computed < len(targets) else "")
        + ". Medians of this run; each limit is computed from the same run's baseline.",
        "",
        "| # | target | measured | limit | measured ÷ limit | result | limit from |",
        "|---:|---|---:|---:|---:|---|---|",
        *(t.line(i) for i, t in enumerate(targets, 1)),
        "",
    ]
    missed = {t.key: f"{i}. {t.name}" for i, t in enumerate(targets, 1) if t.ok is False}
    out += [
        "## Breakdown of the missed targets",
        "",
        *bench_breakdown.missed_section(missed, breakdowns, startup, governance.figures),
    ]
    if missing:
        out += [
            f"Peers not installed or failed, their targets not computed: {', '.join(missing)} "
            "(`pip install -e '.[bench]'`).",
            "",
        ]

    # (a)
    sizes = ", ".join(str(n) for n in mat.sizes5)
    body_a = []
    for key in ("crypto", "nacl", "nacl_api", "ours_crypto", "ours_nacl"):
        if f"raw.{key}" not in s:
            continue
        r = s[f"raw.{key}"]
        label = next(row.label for row in rows if row.key == f"raw.{key}")
        mark = " ← baseline" if r.median_us == raw_used and key in ("crypto", "nacl") else ""
        body_a.append(
            (label + mark, fmt(r.median_us), fmt(r.p90_us), f"{r.median_us / raw_used:.2f}")
        )
    out += section(
        "## (a) Raw Ed25519 verify, one signature",
        f"Messages cycle through the sizes of a 5-hop chain's signing inputs and its proof "
        f"({sizes} bytes), one key per position. Baseline (`raw`) = the backend in use, "
        f"`{backend}`.",
        ("primitive", "median µs", "p90 µs", "÷ raw"),
        "lrrr",
        body_a,
    )

    # (b)
    body_b = []
    for hops in COLD_HOPS:
        r = s[f"cold.{hops}"]
        sigs = hops + 1
        body_b.append(
            (
                str(hops) + (" (= biscuit's 5 signatures)" if hops == 4 else ""),
                str(sigs),
                fmt(r.median_us),
                fmt(r.p90_us),
                f"{r.median_us / raw_used:.1f}",
                f"{r.median_us / (sigs * raw_used):.2f}",
                f"{r.median_us / (sigs * raw_crypto):.2f}",
            )
        )
    out += section(
        "## (b) `Verifier.verify`, cold: N hops + proof",
        "A distinct, freshly minted chain and proof every call, given in wire form (the "
        "`Delegation-Chain` text); registry with every agent (identity re-authentication), "
        "`ChainGrantsOnly`, in-memory revocation and replay store, no audit sink, default "
        "token cache (misses here).",
        (
            "N",
            "sigs",
            "median µs",
            "p90 µs",
            "in raw verifies",
            f"÷ (sigs {X} raw)",
            f"÷ (sigs {X} raw cryptography)",
        ),
        "lrrrrrr",
        body_b,
    )
    body_b2 = []
    for hops in WORKERS_HOPS:
        if f"cold2.{hops}" not in s:
            continue
        r2, r1 = s[f"cold2.{hops}"], s[f"cold.{hops}"]
        body_b2.append(
            (
                str(hops),
                str(hops + 1),
                fmt(r2.median_us),
                fmt(r2.p90_us),
                f"{r2.median_us / ((hops + 1) * raw_used):.2f}",
                fmt(r1.median_us),
                f"{r2.median_us / r1.median_us:.2f}",
            )
        )
    out += section(
        "### (b2) The same cold chains with `Verifier(workers=2)`",
        "The same chains and proofs as (b), on a verifier of its own with `workers=2`: the "
        "signatures of one chain and its proof are taken one by one by the calling thread "
        "and one pool thread. Each hand-over waits for the operating system to run the other "
        "thread, so on a machine whose cores are busy this row is slower than (b).",
        (
            "N",
            "sigs",
            "median µs",
            "p90 µs",
            f"÷ (sigs {X} raw)",
            "workers=1 median µs",
            "workers=2 ÷ workers=1",
        ),
        "lrrrrrr",
        body_b2,
    )

    # (c)
    body_c = []
    for hops in WARM_HOPS:
        r = s[f"warm.{hops}"]
        body_c.append(
            (
                str(hops),
                fmt(r.median_us),
                fmt(r.p90_us),
                f"{r.median_us / raw_used:.2f}",
                f"{r.median_us / raw_crypto:.2f}",
                f"{med(f'cold.{hops}') / r.median_us:.1f}{X}",
            )
        )
    out += section(
        "## (c) `Verifier.verify`, warm: ancestors cached",
        "The same chain text every call, on a verifier of its own (its tokens' parsing and "
        "signature verdicts come from the verified-token cache), a fresh proof each call: "
        "one signature (the proof's) is checked; times, attenuation, revocation, replay and "
        "policy run every call.",
        ("N", "median µs", "p90 µs", "÷ raw", "÷ raw cryptography", "cold ÷ warm"),
        "lrrrrr",
        body_c,
    )

    # (d)
    body_d = []
    for hops in COLD_HOPS:
        r = s[f"naive.{hops}"]
        body_d.append(
            (
                str(hops),
                str(hops + 1),
                fmt(r.median_us),
                fmt(r.p90_us),
                f"{r.median_us / (hops + 1) / raw_used:.2f}",
                fmt(med(f"cold.{hops}")),
                f"{med(f'cold.{hops}') / r.median_us:.2f}",
            )
        )
    out += section(
        "## (d) Naive loop: `jwt.decode` per token + the same checks by hand",
        "The same chains and proofs as (b), verified by `bench_peers.NaivePyJWT` (pyjwt "
        "decode per token and for the proof; links, identities, times, `delegation.covers` "
        "attenuation, depth, task/obo, act, revocation and replay sets, `delegation.allows`).",
        (
            "N",
            "sigs",
            "naive median µs",
            "naive p90 µs",
            f"÷ (sigs {X} raw)",
            "ours cold median µs",
            "ours ÷ naive",
        ),
        "lrrrrrr",
        body_d,
    )

    # (e)
    peer_rows: list[tuple[str, str, str, str]] = [
        # key, workload, signatures checked, ours equivalent
        ("tenuo.wire", "tenuo `check_chain`, from the wire (5 warrants + PoP)", "6", "cold.5"),
        (
            "tenuo.parsed",
            "tenuo `check_chain`, pre-parsed warrants, fresh PoP",
            "1 (PoP; warrant signatures checked at decode)",
            "warm.5",
        ),
        ("biscuit.wire", "biscuit-python parse+verify+authorize, 5 blocks", "5", "cold.4"),
        ("biscuit.parsed", "biscuit-python authorize only, verified token", "0", "warm.4"),
        ("pymacaroons.wire", "pymacaroons deserialize+verify, 5 caveats", "0 (HMAC)", "cold.5"),
        ("pymacaroons.parsed", "pymacaroons verify, deserialized", "0 (HMAC)", "warm.5"),
    ]
    body_e = []
    for peer_key, label, sig_text, ours_key in peer_rows:
        if peer_key not in s:
            continue
        r = s[peer_key]
        body_e.append(
            (
                label,
                sig_text,
                fmt(r.median_us),
                fmt(r.p90_us),
                f"{r.median_us / raw_used:.1f}",
                f"{ours_key.replace('.', ' N=')}: {fmt(med(ours_key))}",
                f"{med(ours_key) / r.median_us:.2f}",
            )
        )
    out += ["## (e) Peers on equivalent workloads", ""]
    if body_e:
        out += [
            "What each workload does and where it is or is not equivalent to ours: README.md, "
            '"The peers". Every one allowed the request and denied two out-of-scope '
            "requests (another region; too many rows) before timing, as did ours and the naive "
            "loop.",
            "",
            *table(
                (
                    "workload",
                    "signatures checked",
                    "median µs",
                    "p90 µs",
                    "in raw verifies",
                    "ours (equivalent) median µs",
                    "ours ÷ peer",
                ),
                "llrrrlr",
                body_e,
            ),
            "",
        ]
    if missing:
        out += [f"Not installed or failed: {', '.join(missing)}.", ""]

    # (f)
    body_f = []
    for key, label, size in (
        ("mint", "`Delegator.mint` (root token)", mat.root_size),
        ("delegate", "`Delegator.delegate` (one hop onto a 1-token chain)", mat.hop_size),
        ("prove", "`Delegator.prove`", mat.proof_size),
    ):
        r, raw_r = s[f"sign.{key}"], s[f"raw.sign.{key}"]
        nsign = s.get(f"raw.nsign.{key}")
        body_f.append(
            (
                label,
                str(size),
                fmt(r.median_us),
                fmt(r.p90_us),
                fmt(raw_r.median_us),
                fmt(raw_r.p90_us),
                f"{r.median_us / raw_r.median_us:.2f}",
                fmt(nsign.median_us) if nsign is not None else "n/a",
                f"{r.median_us / nsign.median_us:.2f}" if nsign is not None else "n/a",
            )
        )
    out += section(
        "## (f) Minting and proving vs one raw sign",
        "Raw sign: `cryptography` `Ed25519PrivateKey.sign` of a random message as long as "
        "the token's signing input (the targets' baseline). Our tokens are signed with "
        f"`{ED25519_BACKEND}` (`AgentKey.sign`; Ed25519 is deterministic, so libsodium and "
        "OpenSSL give the same bytes): the last two columns compare with libsodium's raw "
        "sign (PyNaCl `SigningKey.sign`), the backend used.",
        (
            "operation",
            "signed bytes",
            "median µs",
            "p90 µs",
            "raw sign median µs",
            "raw sign p90 µs",
            "÷ raw sign",
            "raw libsodium sign median µs",
            "÷ raw libsodium sign",
        ),
        "lrrrrrrrr",
        body_f,
    )

    # (g)
    out += section(
        "## (g) Memory per cached token",
        f"tracemalloc: growth of one verifier over {memory.tokens} distinct tokens "
        f"({memory.tokens // 5} chains of 5, `verify_chain`), with the token cache on, "
        "minus the same run with `token_cache=0`.",
        (
            "tokens cached",
            "mean token bytes",
            "growth, cache on",
            "growth, cache off",
            "per cached token",
            "÷ token bytes",
        ),
        "rrrrrr",
        [
            (
                str(memory.tokens),
                f"{memory.mean_token_bytes:.0f}",
                f"{memory.grow_on / 1024:.0f} KiB",
                f"{memory.grow_off / 1024:.0f} KiB",
                f"{memory.per_token:.0f} B",
                f"{memory.per_token / memory.mean_token_bytes:.1f}",
            )
        ],
    )

    # throughput
    body_t = []
    for t in throughput:
        calib = t.label == CALIBRATION
        body_t.append(
            (
                t.label,
                str(t.requests),
                *("—" if calib else f"{t.rate(m):,.0f}" for m in MODES),
                f"{t.gain('2 threads'):.2f}",
                f"{t.gain('2 processes'):.2f}",
            )
        )
    ours_t = [t for t in throughput if t.label != CALIBRATION]
    calib_t = next((t for t in throughput if t.label == CALIBRATION), None)
    threads = ", ".join(f"{t.gain('2 threads'):.2f}" for t in ours_t)
    best = max((t.gain("2 threads") for t in ours_t), default=1.0)
    thread_verdict = (
        "threads add nothing here" if best < 1.1
        else "threads add a little" if best < 1.5
        else "threads scale here"
    )  # fmt: skip
    procs = ", ".join(f"{t.gain('2 processes'):.2f}" for t in ours_t)
    out += [
        *section(
            "## Throughput: verifications per second, 5-hop chain + proof",
            f"The same {ours_t[0].requests if ours_t else 0} requests in each mode, from fresh "
            "verifiers warmed on a few other requests: 1 process (one thread); 2 threads sharing "
            "one `Verifier` (`threading`); 2 processes (`multiprocessing`, fork), each with its "
            "own verifier and stores. Wall time from the first worker's start to the last one's "
            f"end; jobs and modes take turns {ours_t[0].repeats if ours_t else 0} times and each "
            "cell is the median. The calibration row runs a tight pure-Python integer loop the "
            "same three ways: threads show what the GIL allows (about 1); processes show what "
            "the two CPUs gave such a loop during this run (about 2 on two free physical cores, "
            "less when the CPUs are SMT siblings or busy with other work).",
            (
                "chain",
                "requests",
                "1 process /s",
                "2 threads /s",
                "2 processes /s",
                "threads ÷ 1",
                "processes ÷ 1",
            ),
            "lrrrrrr",
            body_t,
        ),
        f"Read from this run: 2 threads give {threads} {X} one process (cold, warm): "
        f"{thread_verdict}. Apart from the signature checks, which are C calls, the verifier "
        "is Python code under the GIL, so threads can overlap only those calls. 2 processes "
        f"give {procs} {X}"
        + (
            f" (the calibration loop: {calib_t.gain('2 processes'):.2f} {X})"
            if calib_t is not None
            else ""
        )
        + ". To use more cores, run one verifier per process on a shared store.",
        "",
    ]

    out += ["## Governance", "", *governance.lines, ""]
    out += ["## Graph", "", *graph, ""]
    out += [f"Total run: {elapsed():.1f} s.", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------- main


def run(quick: bool) -> int:
    started = time.perf_counter()
    started_at = datetime.now(tz=UTC)
    plan = Plan.for_run(quick)

    log("minting (not timed) ...")
    mat = mint_material(plan)
    n_items = plan.warmup + plan.samples
    workloads, missing = bench_peers.available_workloads(n_items)
    rows, _ = build_rows(plan, mat, workloads)
    log(f"  {time.perf_counter() - started:.1f} s; timing {len(rows)} rows ...")
    run_rounds(plan, rows)
    missing = [*missing, *(f"{r.key} (failed while timed: {r.failed})" for r in rows if r.failed)]
    rows = [r for r in rows if not r.failed]
    log(f"  {time.perf_counter() - started:.1f} s; memory ...")
    memory = cache_memory(mat.world, plan.mem_tokens)
    log(f"  {time.perf_counter() - started:.1f} s; throughput ...")
    world = mat.world
    n_req = plan.warmup + plan.requests
    chains = [world.chain(5) for _ in range(n_req)]
    cold_items = [(str(c), world.prove(c)) for c in chains]
    warm_chain = world.chain(5)
    warm_proofs = [world.prove(warm_chain) for _ in range(n_req)]
    w = plan.warmup
    throughput = measure_throughput(
        [
            ("cold (distinct chains)",
             functools.partial(verifier_worker, world, None, cold_items[:w]), cold_items[w:]),
            ("warm (one chain, fresh proofs)",
             functools.partial(verifier_worker, world, str(warm_chain), warm_proofs[:w]),
             warm_proofs[w:]),
            (CALIBRATION, burn_worker, [BURN_CHUNK] * plan.requests),
        ],
        plan.repeats,
    )  # fmt: skip
    log(f"  {time.perf_counter() - started:.1f} s; start-up ...")
    startup = bench_startup.startup_ms(STARTUP_RUNS)
    log(f"  {time.perf_counter() - started:.1f} s; governance ...")
    governance = governance_section(quick, plan.gov_timeout)
    log(f"  {time.perf_counter() - started:.1f} s; breakdowns ...")
    breakdowns = bench_breakdown.measure(plan.breakdown)
    log(f"  {time.perf_counter() - started:.1f} s; graph ...")
    graph = graph_section(quick)
    text = report(
        plan,
        quick,
        started_at,
        mat,
        rows,
        missing,
        memory,
        throughput,
        governance,
        startup,
        breakdowns,
        graph,
        lambda: time.perf_counter() - started,
    )
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if "\n## Fleet\n" in old:  # bench_fleet.py's section (run separately): kept as it was
        fleet = old.partition("\n## Fleet\n")[2].partition("\n## ")[0]
        text = text.rstrip("\n") + "\n\n## Fleet\n" + fleet.rstrip("\n") + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {RESULTS} ({time.perf_counter() - started:.1f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a fifth of the samples (a smoke run, < 40 s on 2 cores; indicative only)",
    )
    args = parser.parse_args(argv)
    return run(quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
