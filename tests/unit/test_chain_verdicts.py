"""Remembered structural verdicts of whole chains never outlive what they relied on.

A verifier with its token cache on remembers that a chain's text passed steps 1-4 and 6
(from its second sighting on). What else the verdict depended on is checked again on
every call: the registry (a new registry, a key no longer registered), the limits, the
algorithms and the receipt requirement; times, revocation, replay and policy always run.
Each case below must give the code and hop that a verifier with no cache at all gives.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import CAP, REQ, World

from delegation import AgentKey, Chain, DelegationError, Limits, Registry, Verifier


def _outcome(v: Verifier, world: World, chain: object) -> tuple[str, int | None] | str:
    try:
        held = Chain.parse(chain) if isinstance(chain, str) else chain
        v.verify(chain, world.prove(held), REQ)  # type: ignore[arg-type]
    except DelegationError as exc:
        return exc.code, exc.hop
    return "allowed"


def _remembered(world: World, chain: object) -> Verifier:
    v = world.verifier()
    for _ in range(3):  # admitted on the second sighting, used from the third
        assert _outcome(v, world, chain) == "allowed"
    assert len(v._chains) == 1
    return v


def _new_registry(world: World, skip: str | None = None) -> Registry:
    registry = Registry()
    registry.add_root(world.orch.agent, world.orch.public_jwk())
    for a in world.agents:
        if a.agent != skip:
            registry.add_agent(a.agent, a.public_jwk(), baseline=[CAP])
    return registry


Change = Callable[[Verifier, World], None]


def _no_root(v: Verifier, world: World) -> None:
    registry = Registry()
    for a in world.agents:
        registry.add_agent(a.agent, a.public_jwk(), baseline=[CAP])
    v.registry = registry


def _rekeyed_agent(v: Verifier, world: World) -> None:
    registry = _new_registry(world, skip=world.agents[2].agent)
    other = AgentKey.generate(world.agents[2].agent)
    registry.add_agent(world.agents[2].agent, other.public_jwk(), baseline=[CAP])
    v.registry = registry


def _short_limits(v: Verifier, world: World) -> None:
    v.limits = Limits(max_chain_length=3)


def _es256_only(v: Verifier, world: World) -> None:
    v.algorithms = frozenset({"ES256"})


def _receipts(v: Verifier, world: World) -> None:
    v.require_receipts = True


@pytest.mark.parametrize(
    "change", [_no_root, _rekeyed_agent, _short_limits, _es256_only, _receipts]
)
@pytest.mark.parametrize("as_text", [True, False])
def test_a_changed_dependency_gives_the_uncached_verdict(
    world: World, change: Change, as_text: bool
) -> None:
    chain = world.chain(5)
    given = str(chain) if as_text else chain
    v = _remembered(world, given)
    fresh = world.verifier(token_cache=0)
    change(v, world)
    change(fresh, world)
    expected = _outcome(fresh, world, given)
    assert expected != "allowed"
    assert _outcome(v, world, given) == expected


def test_time_and_revocation_still_run(world: World) -> None:
    chain = world.chain(4)
    v = _remembered(world, chain)
    leaf_id = v.verify_chain(chain).token_ids[-1]
    world.store.revoke("token", leaf_id, now=world.clock.now())
    assert _outcome(v, world, chain) == ("revoked", 3)
    other = world.chain(4)
    v2 = _remembered(world, other)
    world.clock.advance(10_000)
    assert _outcome(v2, world, other)[0] == "expired"  # type: ignore[index]


def test_off_with_the_cache(world: World) -> None:
    chain = world.chain(3)
    v = world.verifier(token_cache=0)
    for _ in range(3):
        assert _outcome(v, world, chain) == "allowed"
    assert len(v._chains) == 0
