"""Step 6, re-authorization evidence: a receipt is dated within the hop it evidences.

The receipt on token 1 must be dated no earlier than its parent (token 0) was issued and no
later than the child (token 1) was issued, each edge widened by the clock skew. The parent
is issued at T0 and the child at T0 + 100, so the two edges are distinct.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from forging import b64d, b64e, decode, forge
from support import REQ, T0, World
from verify_support import extend, rejected

from delegation import Chain, Delegator, FixedClock, Limits

CHILD_AT = T0 + 100


def _chain_with_receipt_at(world: World, receipt_iat: int) -> Chain:
    """orch -> a0 at T0, then a0 -> a1 at CHILD_AT carrying a0's receipt dated receipt_iat."""
    root = world.chain(1)
    parent_id = world.verifier().verify_chain(root).token_ids[0]
    receipt = Delegator(world.agents[0], clock=FixedClock(receipt_iat)).receipt(
        parent_id, policy_digest="accept-v1"
    )
    world.clock.set(CHILD_AT)
    return extend(world, root, world.agents[1], receipt=receipt)


@pytest.mark.parametrize("skew", [30, 0])
@pytest.mark.parametrize(
    ("offset", "inside"),
    [
        pytest.param(lambda s: T0 - s, True, id="at-parent-iat-minus-skew"),
        pytest.param(lambda s: T0 - s - 1, False, id="before-parent"),
        pytest.param(lambda s: T0 - 86_400, False, id="a-day-before-parent"),
        pytest.param(lambda s: CHILD_AT + s, True, id="at-child-iat-plus-skew"),
        pytest.param(lambda s: CHILD_AT + s + 1, False, id="after-child"),
        pytest.param(lambda s: T0 + 50, True, id="inside"),
    ],
)
def test_receipt_is_dated_within_the_hop(
    world: World, skew: int, offset: Callable[[int], int], inside: bool
) -> None:
    """Under require_receipts, a receipt dated before its parent (minus skew) or after its
    child (plus skew) is bad_receipt at hop 1; on either edge it verifies."""
    chain = _chain_with_receipt_at(world, offset(skew))
    kw = {"require_receipts": True, "limits": Limits(clock_skew=skew)}
    proof = world.prove(chain)
    if inside:
        assert world.verifier(**kw).verify(chain, proof, REQ).depth == 2
    else:
        err = rejected(world, chain, proof, **kw)
        assert (err.code, err.hop, err.claim) == ("bad_receipt", 1, "rcpt")
        assert "dated outside the hop" in err.message


def test_receipt_with_a_bad_signature_is_refused(world: World) -> None:
    """A receipt naming the right key (kid, alg) and the right parent, whose signature does
    not verify, is bad_receipt: the receipt's signature itself is checked, not only its kid."""
    chain = _chain_with_receipt_at(world, T0 + 50)
    leaf = decode(chain.tokens[1])[1]
    h64, p64, s64 = leaf["rcpt"].split(".")
    sig = bytearray(b64d(s64))
    sig[0] ^= 1
    tampered_rcpt = f"{h64}.{p64}.{b64e(bytes(sig))}"
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"rcpt": tampered_rcpt})
    tampered = Chain([chain.tokens[0], forged])
    err = rejected(world, tampered, world.prove(tampered), require_receipts=True)
    assert (err.code, err.hop, err.claim) == ("bad_receipt", 1, "rcpt")
    assert "signature" in err.message
