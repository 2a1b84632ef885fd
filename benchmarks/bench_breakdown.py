"""Where the time goes: µs per phase of a 5-hop verification (cold, warm), a mint, a proof, a hop.

Each phase is a method of the verifier or the delegator, or a function the module calls,
wrapped (for this measurement only) by a timer that charges it its own time, that of the
wrapped phases it calls taken out (exclusive time). Blocks of 25 calls run without
the wrappers and blocks with them, taking turns (each block in a row, as a benchmark row
runs its calls), so the wrappers' own cost shows:
"rest" is the wrapped total minus the phases (glue code and the wrappers themselves).
Every figure is a median over the calls (robust to the pauses of a shared machine); the
medians of the phases need not add up exactly to the median total.

Usage: ``python benchmarks/bench_breakdown.py [--samples N]`` prints the tables;
``bench_all.py`` calls :func:`measure` after its timed rounds and :func:`missed_section`
for its "Breakdown of the missed targets" (the missed targets' tables, the start-up and
audit figures of the same run, and what was tried).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import bench_startup
from _common import ARGS, REQ, TOOL_AUD, World

import delegation.mint as mint_module
import delegation.verify as verify_module
from delegation import Chain, Delegator, Request, Verifier

__all__ = [
    "Breakdown",
    "delegate_breakdown",
    "markdown",
    "measure",
    "mint_breakdown",
    "missed_section",
    "prove_breakdown",
    "verify_breakdown",
]


@dataclass
class Breakdown:
    """Median exclusive µs per phase over ``samples`` calls, and the median totals."""

    title: str
    samples: int
    phases: dict[str, float]  # label -> median µs per call (exclusive)
    wrapped_us: float  # median µs per call with the timers in place
    bare_us: float  # median µs per call without them (blocks taking turns)
    per: dict[str, int] = field(default_factory=dict)  # label -> how many per call

    @property
    def rest_us(self) -> float:
        return self.wrapped_us - sum(self.phases.values())


class _Phases:
    """Exclusive time per label for the callables wrapped with :meth:`wrap`."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = defaultdict(int)
        self._inner: list[int] = []  # per open call: time spent in wrapped callees

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        clock, inner, ns = time.perf_counter_ns, self._inner, self.ns

        def timed(*args: Any, **kwargs: Any) -> Any:
            inner.append(0)
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                took = clock() - started
                ns[label] += took - inner.pop()
                if inner:
                    inner[-1] += took

        return timed


@contextmanager
def _patched(phases: _Phases, targets: Sequence[tuple[object, str, str]]) -> Iterator[None]:
    """Wrap ``getattr(obj, name)`` as phase ``label`` for each (obj, name, label); undo after.
    On an instance this shadows the method; on a module, the name its code looks up."""
    saved = []
    for obj, name, label in targets:
        had = name in vars(obj)
        saved.append((obj, name, had, vars(obj).get(name)))
        setattr(obj, name, phases.wrap(label, getattr(obj, name)))
    try:
        yield
    finally:
        for obj, name, had, old in reversed(saved):
            if had:
                setattr(obj, name, old)
            else:
                delattr(obj, name)


class _TimedKey:
    """An AgentKey whose ``sign`` is a phase of its own (Ed25519 itself)."""

    def __init__(self, key: Any, phases: _Phases) -> None:
        self._key = key
        self.sign = phases.wrap("Ed25519 sign (the backend's call)", key.sign)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)


_BLOCK = 25  # calls in a row, without then with the timers, taking turns


def _calls(
    calls: Sequence[Callable[[], object]],
    targets: Callable[[], Sequence[tuple[object, str, str]]],
    phases: _Phases,
    extra: Callable[[], AbstractContextManager[object]],
    bare: list[int],
    wrapped: list[int],
    per_call: dict[str, list[int]],
) -> None:
    clock = time.perf_counter_ns
    for start in range(0, len(calls) - 2 * _BLOCK + 1, 2 * _BLOCK):
        for call in calls[start : start + _BLOCK]:
            started = clock()
            call()
            bare.append(clock() - started)
        with _patched(phases, targets()), extra():
            for call in calls[start + _BLOCK : start + 2 * _BLOCK]:
                started = clock()
                call()
                wrapped.append(clock() - started)
                for label, ns in phases.ns.items():
                    per_call[label].append(ns)
                phases.ns.clear()


def _measure(
    title: str,
    calls: Sequence[Callable[[], object]],
    targets: Callable[[], Sequence[tuple[object, str, str]]],
    phases: _Phases,
    per: dict[str, int],
    extra: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> Breakdown:
    """Blocks of calls timed bare and blocks with the timers, taking turns."""
    bare: list[int] = []
    wrapped: list[int] = []
    per_call: dict[str, list[int]] = defaultdict(list)
    gc.collect()
    gc.freeze()  # as bench_all's timed rounds: no collections over the prepared material
    try:
        _calls(calls, targets, phases, extra, bare, wrapped, per_call)
    finally:
        gc.unfreeze()
    n = len(wrapped)
    return Breakdown(
        title=title,
        samples=n,
        phases={
            label: statistics.median(ns + [0] * (n - len(ns))) / 1000
            for label, ns in per_call.items()
        },
        wrapped_us=statistics.median(wrapped) / 1000,
        bare_us=statistics.median(bare) / 1000,
        per=per,
    )


_PARSE = "parse tokens (JSON, claims, cnf key)"
_SIGS = "signatures (Ed25519 verify)"


def verify_breakdown(world: World, samples: int, hops: int = 5, *, warm: bool = False) -> Breakdown:
    """``Verifier.verify`` of a ``hops``-hop chain and proof (one thread), by step: cold (a
    new chain every call) or warm (one chain, a fresh proof every call)."""
    if warm:
        text = str(world.chain(hops))
        items = [(text, world.prove(Chain.parse(text))) for _ in range(2 * samples + 1)]
    else:
        chains = (world.chain(hops) for _ in range(2 * samples + 1))
        items = [(str(c), world.prove(c)) for c in chains]
    v: Verifier = world.new_verifier()
    v.verify(*items.pop(), REQ)  # the code paths warmed (a cold run's tokens stay new)
    phases = _Phases()

    def targets() -> list[tuple[object, str, str]]:
        steps = [
            ("_parse_chain", "chain: split, cache lookups, facts"),
            ("_parse_token", _PARSE),
            ("_check_header", "headers (alg, typ, kid)"),
            ("_check_signature", _SIGS),
            ("_check_root", "root (issuer, registered key)"),
            ("_check_links", "links (prf, iss/sub, jti, registered keys)"),
            ("_check_times", "times (iat, nbf, exp, lifetimes)"),
            ("_check_attenuation", "attenuation (caps, depth, task, act)"),
            ("_check_receipts", "receipts"),
            ("_check_revocation", "revocation (store lookup)"),
            ("_check_proof", "proof step (claims, request, replay)"),
            ("_policy", "policy (ChainGrantsOnly)"),
            ("_build", "result (VerifiedChain)"),
        ]
        return [
            *((v, name, label) for name, label in steps),
            (verify_module, "parse_jws", "proof parse (JSON, claims)"),
        ]

    calls = [lambda c=c, p=p: v.verify(c, p, REQ) for c, p in items]
    per = {_SIGS: 1} if warm else {_PARSE: hops, _SIGS: hops + 1}
    title = f"{'Warm' if warm else 'Cold'} N={hops} `Verifier.verify`, one thread"
    return _measure(title, calls, targets, phases, per)


def _delegator_targets(d: Delegator) -> Callable[[], list[Any]]:
    def targets() -> list[tuple[object, str, str]]:
        return [
            (d, "_held_leaf", "held leaf: holder and cnf checks, memo"),
            (mint_module, "parse_jws", "leaf parse (JSON, claims)"),
            (Request, "_with_digest", "Request (validation, argument digest)"),
            (mint_module, "allows", "allows (the leaf grants the request)"),
            (mint_module, "check_agent_id", "agent id checks"),
            (mint_module, "new_jti", "jti"),
            (mint_module, "_caps", "capabilities given"),
            (d, "_governed_ttl", "task deadline, baseline"),
            (d, "_claims", "claims: build + pydantic validation"),
            (mint_module, "_public", "receiver's key"),
            (mint_module, "first", "checks (times, attenuation, as the verifier)"),
            (mint_module, "cap_wire", "capabilities' wire forms"),
            (d, "_sign", "size limit"),
            (mint_module, "encode_jws", "encode (header, JSON, base64)"),
        ]

    return targets


def _run_delegator(
    title: str, d: Delegator, calls: Sequence[Callable[[], object]], samples: int
) -> Breakdown:
    phases = _Phases()

    @contextmanager
    def timed_key() -> Iterator[None]:
        key = d.key
        d.key = _TimedKey(key, phases)  # type: ignore[assignment]
        try:
            yield
        finally:
            d.key = key

    return _measure(title, calls, _delegator_targets(d), phases, {}, timed_key)


def prove_breakdown(world: World, samples: int) -> Breakdown:
    """``Delegator.prove`` on a 1-token chain the delegator has not seen, by phase."""
    roots: list[Chain] = [world.mint_root(depth=2) for _ in range(2 * samples)]
    d = world.agent_d[0]
    world.prove(world.mint_root(depth=2))
    calls = [
        lambda c=c: d.prove(c, aud=TOOL_AUD, tool=REQ.tool, resource=REQ.resource, args=ARGS)
        for c in roots
    ]
    return _run_delegator("`Delegator.prove`", d, calls, samples)


def delegate_breakdown(world: World, samples: int) -> Breakdown:
    """``Delegator.delegate`` of one hop onto a 1-token chain it has not seen, by phase."""
    roots: list[Chain] = [world.mint_root(depth=2) for _ in range(2 * samples)]
    world.delegate(world.mint_root(depth=2), 1)
    calls = [lambda c=c: world.delegate(c, 1) for c in roots]
    return _run_delegator("`Delegator.delegate` (1-token chain)", world.agent_d[0], calls, samples)


def mint_breakdown(world: World, samples: int) -> Breakdown:
    """``Delegator.mint`` of a root token, by phase."""
    world.mint_root(depth=2)
    calls = [lambda: world.mint_root(depth=2) for _ in range(2 * samples)]
    return _run_delegator("`Delegator.mint` (a root token)", world.root_d, calls, samples)


def importtime_top(code: list[str], n: int = 8) -> list[tuple[str, float, float]]:
    """``python -X importtime``: the ``n`` modules of most own time (name, self ms,
    cumulative ms), after one run to warm the file cache."""
    cmd = [sys.executable, "-X", "importtime", *code]
    env = bench_startup._env()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    err = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((parts[2].strip(), int(parts[0]) / 1000, int(parts[1]) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:n]


def table_lines(b: Breakdown) -> list[str]:
    """A Markdown table of one breakdown: phases by time, then rest and totals."""
    rows = sorted(b.phases.items(), key=lambda kv: -kv[1])
    lines = [
        f"**{b.title}**: {b.samples} calls with the timers and as many without, in blocks "
        f"of {_BLOCK} taking turns.",
        "",
        "| phase | µs per call | share | µs each |",
        "|---|---:|---:|---:|",
    ]
    for label, us in rows:
        each = f"{us / b.per[label]:.1f} x {b.per[label]}" if label in b.per else ""
        lines.append(f"| {label} | {us:.1f} | {us / b.wrapped_us:.0%} | {each} |")
    lines += [
        f"| rest (glue code, the timers themselves) | {b.rest_us:.1f} "
        f"| {b.rest_us / b.wrapped_us:.0%} | |",
        f"| **total with the timers** | **{b.wrapped_us:.1f}** | | |",
        f"| total without them | {b.bare_us:.1f} | | |",
    ]
    return lines


# Which breakdown explains which target of bench_all's table (Target.key).
GROUPS = {
    "cold1": "cold", "cold2": "cold", "tenuo_wire": "cold", "biscuit": "cold",
    "issue2": "cold", "warm": "warm", "tenuo_parsed": "warm", "mint": "mint",
    "prove": "prove", "delegate": "delegate", "import": "startup", "help": "startup",
    "flush": "audit", "group": "audit", "signed": "audit",
}  # fmt: skip

# What was tried, per group: facts from the CHANGELOG, issue 12 and this code.
TRIED = {
    "cold": (
        "Tried (CHANGELOG, issue 12): token JSON through orjson, kept only when it "
        "re-encodes to the input bytes; capabilities memoised by their JSON; Ed25519 "
        "verified by libsodium (PyNaCl) instead of OpenSSL; `Verifier(workers=2)`, which "
        "checks one chain's signatures on a pool thread too (it gains only when the second "
        "core is free: table (b2)); the memo of attenuation verdicts and of whole chains "
        "serves warm chains, not a cold one. Not available: Ed25519 batch verification (no "
        "package for it on the package index here) and compiling the hot modules with "
        "mypyc (it strips pydantic's constraints), both found by issue 12's profile. The "
        "rest is the table: the signatures are the backend's calls; parsing a token is "
        "base64url, JSON, the claims' validation and its capabilities."
    ),
    "warm": (
        "Tried (CHANGELOG): the verified-token cache (parsing and signature verdicts of "
        "the ancestors), passing attenuation verdicts per (parent, child) token-id pair, "
        "and a whole-chain verdict keyed by the chain's text, the settings and the "
        "registry facts, looked up again on every call; times, revocation, replay, the "
        "proof's signature and the policy run on every call."
    ),
    "mint": (
        "Tried (CHANGELOG): tokens encoded without pyjwt (a cached header segment, orjson "
        "payloads held to `json.dumps`'s bytes), Ed25519 signed by libsodium (the same "
        "bytes), the payload built directly, capabilities' wire forms shared."
    ),
    "prove": (
        "Tried, this change: the argument digest computed once (it was computed twice), the "
        "holder's `cnf` compared with the key's own JWK before it is read, "
        "`pattern_matches` memoised, base64url without the `base64` module's Python "
        "frames. Before (CHANGELOG): encoding without pyjwt, libsodium signing, the held "
        "leaf parsed once per delegator (the benchmark hands over a chain the delegator "
        "has not seen, so it is parsed on every call). The leaf is parsed and validated "
        "in full: the holder check and `allows` read its claims, and a leaf the delegator "
        "cannot read is refused as before."
    ),
    "delegate": (
        "Tried, this change: the new hop's claims, built from the parent's validated "
        "claims and the library's own values, are not validated again by pydantic "
        "(`mint._known_valid` checks the caller's `pur` and `rcpt`, the ids and the "
        "dates; anything else is validated as before, with the same errors, and a "
        "hypothesis test compares the verdicts); plus what the proof row lists. The "
        "verifier's time and attenuation checks still run before signing: a delegator "
        "signs no hop a verifier would refuse."
    ),
    "startup": (
        "Tried, this change: `import delegation` imports no submodule (every public name "
        "is loaded on first use, PEP 562); the command line builds its parser from "
        "`delegation.errors` and `delegation.limits` only, and each command imports what "
        "it runs."
    ),
    "audit": (
        "Tried (CHANGELOG): the durability modes `flush` (written to the OS, not fsynced) "
        "and `group` (concurrent writers share one fsync); records encoded by orjson to "
        "the same bytes; the file's last record read again only when another writer has "
        "appended. Two threads overlap only what releases the GIL: the fsync, the "
        "signature checks; the rest of a verification is Python under the GIL."
    ),
}


def missed_section(
    missed: dict[str, str],
    breakdowns: dict[str, Breakdown],
    startup: dict[str, list[float]],
    audit: dict[str, dict[str, float]] | None,
) -> list[str]:
    """ "Breakdown of the missed targets": for each missed target (key -> its row's name),
    the measurements of this run that explain it and what was tried."""
    if not missed:
        return ["Every target computed in this run passes: nothing to break down.", ""]
    out: list[str] = [
        "Measured in this run, after the timed rounds (`bench_breakdown.py`; the method is "
        "in its docstring). Each phase's median µs per call over the calls; a phase that "
        "calls other timed phases carries their timers' cost, which the two totals show.",
        "",
    ]
    groups: dict[str, list[str]] = defaultdict(list)
    for key, name in missed.items():
        groups[GROUPS.get(key, key)].append(name)
    for group, names in groups.items():
        out += [f"### {' / '.join(names)}", ""]
        if group in breakdowns:
            b = breakdowns[group]
            out += [*table_lines(b), ""]
            if group == "cold":
                sig = b.phases.get(_SIGS, 0.0)
                out += [
                    f"Per token (5 tokens + the proof = 6 signed items): {b.bare_us / 6:.1f} "
                    f"µs without the timers, of which {sig / 6:.1f} µs is the signature "
                    f"check; parsing takes {b.phases.get(_PARSE, 0.0) / 5:.1f} µs per chain "
                    "token.",
                    "",
                ]
        elif group == "startup":
            out += _startup_lines(startup)
        elif group == "audit":
            out += _audit_lines(audit)
        out += [TRIED.get(group, "Nothing recorded as tried."), ""]
    return out


def _startup_lines(ms: dict[str, list[float]]) -> list[str]:
    med = {name: statistics.median(v) for name, v in ms.items()}
    top = importtime_top(["-m", "delegation.cli", "--help"])
    lines = [
        f"Wall time, medians: `python -c pass` {med['python -c pass']:.1f} ms, `import "
        f"delegation` {med['import delegation']:.1f} ms, `delegation --help` "
        f"{med['delegation --help']:.1f} ms. The modules of most own import time for "
        "`delegation --help` (`python -X importtime`, one run):",
        "",
        "| module | own ms | cumulative ms |",
        "|---|---:|---:|",
        *(f"| `{name}` | {own:.1f} | {cum:.1f} |" for name, own, cum in top),
        "",
    ]
    return lines


def _audit_lines(audit: dict[str, dict[str, float]] | None) -> list[str]:
    if audit is None:
        return ["bench_governance.py gave no figures in this run.", ""]
    flush, group, fsync, signed = audit["flush"], audit["group"], audit["fsync"], audit["signed"]
    sign = f"; signing one record alone {signed['sign_us']:.1f} µs" if "sign_us" in signed else ""
    return [
        f"From bench_governance.py in this run (cold 5-hop chains): a verification without "
        f"audit {flush['bare_us']:.1f} µs, with a `flush` audit log "
        f"{flush['measured_us']:.1f} µs (+{flush['measured_us'] - flush['bare_us']:.1f} µs "
        f"per record); unsigned `fsync` {signed['unsigned_us']:.1f} µs, signed "
        f"{signed['measured_us']:.1f} µs{sign}. Throughput with `group`: 1 thread "
        f"{group['threads_1_per_s']:,.0f}/s, 2 threads {group['threads_2_per_s']:,.0f}/s "
        f"(`fsync`: {fsync['threads_1_per_s']:,.0f}/s and {fsync['threads_2_per_s']:,.0f}/s).",
        "",
    ]


def measure(samples: int) -> dict[str, Breakdown]:
    """Every breakdown, by the key of the target it explains."""
    world = World(n_agents=5)
    return {
        "cold": verify_breakdown(world, samples),
        "warm": verify_breakdown(world, samples, warm=True),
        "mint": mint_breakdown(world, samples),
        "prove": prove_breakdown(world, samples),
        "delegate": delegate_breakdown(world, samples),
    }


def markdown(samples: int) -> str:
    out: list[str] = []
    for b in measure(samples).values():
        out += [*table_lines(b), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=500, help="calls per table (default 500)")
    args = parser.parse_args(argv)
    print(markdown(args.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
