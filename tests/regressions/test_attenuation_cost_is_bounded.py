"""Issue 9, item 10: attenuation checking was quadratic in constraint list sizes.

A holder with depth left adds self-signed hops full of constraints; every garbage
request then made the verifier compare every child value with every parent value.
Now containment is set-based and the sizes are bounded (``Limits``), so the worst case
the default limits allow is decided in a few milliseconds.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

import pytest
from support import World

from delegation import Capability, Chain, DelegationError, Limits
from delegation.errors import SecurityWarning

LIMITS = Limits()
CAPS = LIMITS.max_caps_per_token
NAMES = Limits.MAX_CONSTRAINTS_PER_CAP
VALUES = Limits.MAX_CONSTRAINT_VALUES


def _cap(constraints: dict[str, Any]) -> Capability:
    return Capability(tool="**", constraints=constraints)


def _chain(world: World, parent: list[Capability], child: list[Capability]) -> Chain:
    """root (``**``) -> a0 -> a1 -> a2, where a0 and a1 write whatever hops they like."""
    a = world.agents
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        chain = world.delegator(world.orch).mint(
            to=a[0].agent, to_key=a[0].public_jwk(), caps=[_cap({})], ttl=600, depth=3, task="T"
        )
        chain = world.delegator(a[0]).delegate(
            chain, to=a[1].agent, to_key=a[1].public_jwk(), caps=parent, ttl=500
        )
        return world.delegator(a[1]).delegate(
            chain, to=a[2].agent, to_key=a[2].public_jwk(), caps=child, ttl=400
        )


def _by_bounds(world: World, caps: int, names: int) -> Chain:
    # Every child capability is covered only by the last parent capability, and only
    # its last constraint tells them apart: every pair is compared in full.
    same = {f"c{k}": {"min": 0} for k in range(names - 1)}
    return _chain(
        world,
        [_cap({**same, "z": {"max": j}}) for j in range(caps)],
        [_cap({**same, "z": {"max": caps - 1 - i % 2}}) for i in range(caps)],
    )


def _worst_cases(world: World) -> dict[str, Chain]:
    """The most expensive chains the default limits allow (every cap, every constraint)."""
    cases: dict[str, Chain] = {}
    for caps, names in [(CAPS, 1), (CAPS, 4), (CAPS, NAMES), (CAPS // 2, NAMES)]:
        cases[f"bounds-{caps}x{names}"] = _by_bounds(world, caps, names)
    # Long value lists: each child list is a subset of the parent list with the most.
    values = list(range(VALUES))
    cases["values"] = _chain(
        world,
        [_cap({"x": {"one_of": values[: VALUES - 2 + j]}}) for j in range(3)],
        [_cap({"x": {"one_of": values[::-1]}}) for _ in range(3)],
    )
    strings = [f"s{i:02}" for i in range(VALUES)]
    cases["strings"] = _chain(
        world,
        [_cap({"x": {"one_of": strings}, "y": {"prefix": "s"}})],
        [_cap({"x": {"one_of": strings[::-1]}, "y": {"one_of": strings}})],
    )
    return cases


def _best_of(runs: int, fn: Any) -> float:
    """The least CPU time of ``runs`` calls (this thread's: a busy machine does not count).

    A tracer (coverage under scripts/check) is suspended meanwhile: it would measure
    itself. The warm-up call before has run traced.
    """
    best = float("inf")
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        for _ in range(runs):
            start = time.thread_time()
            fn()
            best = min(best, time.thread_time() - start)
    finally:
        sys.settrace(tracer)
    return best


def test_attenuation_cost_is_bounded(world: World) -> None:
    """The worst case the default limits allow verifies in under 5 ms (fresh tokens)."""
    for name, chain in _worst_cases(world).items():
        assert all(len(t) <= LIMITS.max_token_bytes for t in chain.tokens), name
        verifier = world.verifier(token_cache=0)  # every run parses and checks afresh
        verifier.verify_chain(chain)
        took = _best_of(15, lambda v=verifier, c=chain: v.verify_chain(c))
        assert took < 0.005, f"{name}: {took * 1000:.2f} ms"


@pytest.mark.parametrize(
    "constraints",
    [
        {"x": {"one_of": list(range(VALUES + 1))}},
        {f"c{k}": {"max": 1} for k in range(NAMES + 1)},
    ],
    ids=["values", "names"],
)
def test_constraint_list_sizes_are_limited(constraints: dict[str, Any]) -> None:
    """Lists longer than the limits are refused when a capability is parsed."""
    with pytest.raises(DelegationError) as ei:
        Capability.from_wire({"tool": "a", "constraints": constraints})
    assert ei.value.code == "invalid_capability"
