"""Where the time goes: µs per phase of a cold 5-hop verification, of a proof and of a hop.

Each phase is a method of the verifier or the delegator, or a function the module calls,
wrapped (for this measurement only) by a timer that charges it its own time, that of the
wrapped phases it calls taken out (exclusive time). The calls run with their wrappers;
their total is also timed without them, interleaved, so the wrappers' own cost shows:
"rest" is the wrapped total minus the phases (glue code and the wrappers themselves).
Every figure is a median over the calls (robust to the pauses of a shared machine); the
medians of the phases need not add up exactly to the median total.

Usage: ``python benchmarks/bench_breakdown.py [--samples N]`` prints the tables;
``bench_all.py`` calls :func:`markdown` for its "Breakdown of the missed targets".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from _common import ARGS, REQ, TOOL_AUD, World

import delegation.mint as mint_module
import delegation.verify as verify_module
from delegation import Chain, Delegator, Request, Verifier

__all__ = ["Breakdown", "delegate_breakdown", "markdown", "prove_breakdown", "verify_breakdown"]


@dataclass
class Breakdown:
    """Median exclusive µs per phase over ``samples`` calls, and the median totals."""

    title: str
    samples: int
    phases: dict[str, float]  # label -> median µs per call (exclusive)
    wrapped_us: float  # median µs per call with the timers in place
    bare_us: float  # median µs per call without them (interleaved)
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


def _measure(
    title: str,
    calls: Sequence[Callable[[], object]],
    targets: Callable[[], Sequence[tuple[object, str, str]]],
    phases: _Phases,
    per: dict[str, int],
    extra: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> Breakdown:
    """Odd calls timed bare, even calls with the timers (interleaved pairs)."""
    bare: list[int] = []
    wrapped: list[int] = []
    per_call: dict[str, list[int]] = defaultdict(list)
    clock = time.perf_counter_ns
    for j, call in enumerate(calls):
        if j % 2:
            started = clock()
            call()
            bare.append(clock() - started)
            continue
        with _patched(phases, targets()), extra():
            started = clock()
            call()
            wrapped.append(clock() - started)
        for label, ns in phases.ns.items():
            per_call[label].append(ns)
        phases.ns.clear()
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


def verify_breakdown(world: World, samples: int, hops: int = 5) -> Breakdown:
    """``Verifier.verify`` of a cold ``hops``-hop chain and proof (one thread), by step."""
    items = [(str(c), world.prove(c)) for c in (world.chain(hops) for _ in range(2 * samples))]
    v: Verifier = world.new_verifier()
    v.verify(*items.pop(), REQ)  # warm the code paths (not the tokens: each chain is new)
    phases = _Phases()

    def targets() -> list[tuple[object, str, str]]:
        steps = [
            ("_parse_chain", "chain: split, cache lookups, facts"),
            ("_parse_token", f"parse {hops} tokens (JSON, claims, cnf key)"),
            ("_check_header", "headers (alg, typ, kid)"),
            ("_check_signature", f"signatures ({hops + 1}, Ed25519 verify)"),
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
    per = {f"parse {hops} tokens (JSON, claims, cnf key)": hops}
    per[f"signatures ({hops + 1}, Ed25519 verify)"] = hops + 1
    return _measure(f"Cold N={hops} `Verifier.verify`", calls, targets, phases, per)


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


def table_lines(b: Breakdown) -> list[str]:
    """A Markdown table of one breakdown: phases by time, then rest and totals."""
    rows = sorted(b.phases.items(), key=lambda kv: -kv[1])
    lines = [
        f"**{b.title}**: {b.samples} calls with the timers, as many without, interleaved.",
        "",
        "| phase | µs per call | share | µs each |",
        "|---|---:|---:|---:|",
    ]
    for label, us in rows:
        each = f"{us / b.per[label]:.1f} × {b.per[label]}" if label in b.per else ""
        lines.append(f"| {label} | {us:.1f} | {us / b.wrapped_us:.0%} | {each} |")
    lines += [
        f"| rest (glue code, the timers themselves) | {b.rest_us:.1f} "
        f"| {b.rest_us / b.wrapped_us:.0%} | |",
        f"| **total with the timers** | **{b.wrapped_us:.1f}** | | |",
        f"| total without them | {b.bare_us:.1f} | | |",
    ]
    return lines


def measure(samples: int) -> list[Breakdown]:
    world = World(n_agents=5)
    return [
        verify_breakdown(world, samples),
        prove_breakdown(world, samples),
        delegate_breakdown(world, samples),
    ]


def markdown(samples: int) -> str:
    out: list[str] = []
    for b in measure(samples):
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
