"""Step 1: a token that cannot be read is refused with a message naming its hop.

The step 1 and 2 tests pin codes and hops; a mutation run of ``verify.py``
(docs/mutation.md) found these messages pinned nowhere.
"""

from __future__ import annotations

from typing import Any

import pytest
from support import ORG, REQ, World
from verify_support import rejected, rejected_forgery, with_hop

from delegation import Limits


def test_an_unreadable_token_is_named_by_its_hop(world: World) -> None:
    """Fault: the parse error of a token names no hop (``token`` instead of ``token 1``)."""
    chain = world.chain(2)
    err = rejected(world, with_hop(chain, 1, "x.y.z"), world.prove(chain))
    assert (err.code, err.hop, err.message) == (
        "malformed",
        1,
        "token 1 header is not unpadded base64url",
    )


@pytest.mark.parametrize(
    ("claims", "claim", "message"),
    [
        pytest.param(
            {"aud": f"{ORG}/agent/not-the-receiver"},
            "aud",
            "token 1: aud must name the hop's receiver (sub)",
            id="aud-not-sub",
        ),
        pytest.param(
            {"cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}}},
            "cnf",
            "token 1: cnf.jwk: JWK member 'x' must be 32 bytes, not 3",
            id="bad-bound-key",
        ),
    ],
)
def test_a_malformed_hop_is_refused_with_the_reason(
    world: World, claims: dict[str, Any], claim: str, message: str
) -> None:
    """Fault: the aud/sub or the cnf.jwk refusal loses its message."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims=claims)
    assert (err.code, err.hop, err.claim, err.message) == ("malformed", 1, claim, message)


def test_too_many_capabilities_are_counted_in_the_message(world: World) -> None:
    """Fault: the capability-count refusal loses its message."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), REQ, limits=Limits(max_caps_per_token=0))
    assert (err.code, err.hop, err.message) == (
        "oversized",
        0,
        "token 0 has 1 capabilities, over 0",
    )
