"""Step 5, time: lifetimes, iat/nbf/exp within the clock skew, children inside parents.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import pytest
from forging import DROP, decode, forge
from support import CAP, REQ, T0, World
from verify_support import extend, rejected, rejected_forgery

from delegation import Chain, DelegationError


def test_child_outliving_parent_is_refused(world: World) -> None:
    """A hop whose ``exp`` is after its parent's is lifetime_exceeded."""
    chain = world.chain(2)
    parent_exp = decode(chain.tokens[0])[1]["exp"]
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims={"exp": parent_exp + 1})
    assert (err.code, err.hop, err.claim) == ("lifetime_exceeded", 1, "exp")
    with pytest.raises(DelegationError) as ei:
        extend(world, Chain(chain.tokens[:1]), world.agents[1], ttl=601)
    assert ei.value.code == "lifetime_exceeded"


def test_expired_middle_hop_is_refused(world: World) -> None:
    """When a middle hop has expired the chain is refused, naming that hop."""
    chain = world.delegator(world.orch).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, depth=3, task="T-42"
    )
    chain = extend(world, chain, world.agents[1], ttl=100)
    chain = extend(world, chain, world.agents[2], ttl=100)
    world.clock.advance(100 + world.verifier().limits.clock_skew)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("expired", 1, "exp")


def test_expiry_honours_clock_skew_boundary(world: World) -> None:
    """A token is accepted until ``exp + skew`` and expired from that second on."""
    chain = world.chain(1)
    world.clock.advance(600 + 29)
    world.verifier().verify(chain, world.prove(chain), REQ)
    world.clock.advance(1)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("expired", 0)


@pytest.mark.parametrize(("claim", "shift"), [("iat", 3600), ("iat", 31), ("nbf", 31)])
def test_future_issued_token_is_refused(world: World, claim: str, shift: int) -> None:
    """A token issued (``iat``) or valid (``nbf``) beyond the skew in the future is refused."""
    chain = world.chain(1)
    claims: dict[str, object] = {claim: T0 + shift}
    if claim == "iat":
        claims.update(nbf=DROP, exp=T0 + shift + 600)
    forged = forge(chain.tokens[0], signer=world.orch, claims=claims)
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("not_yet_valid", 0, claim)


def test_iat_within_skew_is_accepted(world: World) -> None:
    """An ``iat`` a little in the future (within the skew) is accepted."""
    chain = world.chain(1)
    forged = Chain(
        [forge(chain.tokens[0], signer=world.orch, claims={"iat": T0 + 20, "nbf": T0 + 20})]
    )
    world.verifier().verify(forged, world.prove(forged), REQ)


@pytest.mark.parametrize(
    ("life", "code"),
    [(3601, "lifetime_exceeded"), (0, "lifetime_exceeded"), (-5, "lifetime_exceeded")],
)
def test_token_lifetime_bounds_are_enforced(world: World, life: int, code: str) -> None:
    """``exp - iat`` must be positive and at most the maximum lifetime."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, claims={"exp": T0 + life})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == (code, 0, "exp")
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.orch).mint(
            to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=life
        )
    assert ei.value.code == code
