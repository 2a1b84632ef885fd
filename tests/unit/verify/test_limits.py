"""Limits: tighter bounds reject what the defaults accept, raised ones admit more; the clock
skew is honoured."""

from __future__ import annotations

import pytest
from forging import forge
from support import REQ, World
from verify_support import rejected

from delegation import Chain, Limits, parse_unverified


@pytest.mark.parametrize(
    ("limits", "code", "hop"),
    [
        (Limits(max_chain_length=2), "oversized", None),
        (Limits(max_token_bytes=256), "oversized", 0),
        (Limits(max_caps_per_token=0), "oversized", 0),
        (Limits(max_token_lifetime=300), "lifetime_exceeded", 0),
        (Limits(max_proof_lifetime=30), "lifetime_exceeded", None),
    ],
    ids=["chain-length", "token-bytes", "caps", "token-lifetime", "proof-lifetime"],
)
def test_limits_are_honoured(world: World, limits: Limits, code: str, hop: int | None) -> None:
    """Tighter ``Limits`` reject a chain that the defaults accept."""
    chain = world.chain(3)
    world.verifier().verify(chain, world.prove(chain), REQ)
    err = rejected(world, chain, world.prove(chain, ttl=60), limits=limits)
    assert (err.code, err.hop) == (code, hop)


def test_clock_skew_limit_is_honoured(world: World) -> None:
    """With zero skew a token is expired at ``exp``; with the default it is not."""
    chain = world.chain(1)
    world.clock.advance(600)
    world.verifier().verify(chain, world.prove(chain), REQ)
    err = rejected(world, chain, world.prove(chain), limits=Limits(clock_skew=0))
    assert (err.code, err.hop) == ("expired", 0)


def test_raised_limits_admit_larger_tokens(world: World) -> None:
    """A token over the default 8 KiB verifies when the limit is raised."""
    chain = world.chain(1)
    root = parse_unverified(chain)[0].claims
    padding = [{"tool": f"pad{i}", "resource": "r/" + "a" * 900} for i in range(8)]
    caps = [c.to_wire() for c in root.caps] + padding
    big = Chain(
        [forge(chain.tokens[0], signer=world.orch, claims={"pur": "x" * 1024, "caps": caps})]
    )
    proof = world.prove(big)
    assert rejected(world, big, proof).code == "oversized"
    world.verifier(limits=Limits(max_token_bytes=16 * 1024)).verify(big, proof, REQ)
