"""Step 8, every refusal of a proof with its exact code, claim and message.

test_step8_proof.py attacks each check; a mutation run of ``verify.py`` (docs/mutation.md)
showed that most of their messages, and the lifetime of the replay entry, were pinned
nowhere. A check that starts refusing for the wrong reason now fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from forging import forge
from support import REQ, T0, TOOL_AUD, World
from verify_support import RecordingStore, rejected

from delegation import Chain, DelegationError, Limits, Request

LIMITS = Limits()
SKEW = LIMITS.clock_skew
OTHER_ARGS = Request(tool=REQ.tool, resource=REQ.resource, args={"max_rows": 11})
OTHER_RESOURCE = Request(tool=REQ.tool, resource="customers/eu/43", args=REQ.args)
NOT_GRANTED = Request(tool="crm.write", resource="customers/eu/42", args=REQ.args)


def _holder_signed(world: World, chain: Chain, claims: dict[str, Any]) -> str:
    return forge(world.prove(chain), signer=world.holder(chain), claims=claims)


Make = Callable[[World, Chain], tuple[str, Request]]
CASES: dict[str, tuple[Make, tuple[str, str | None, str]]] = {
    "holder": (
        lambda w, c: (_holder_signed(w, c, {"iss": w.agents[0].agent}), REQ),
        (
            "holder_mismatch",
            "iss",
            f"proof is from {World().agents[0].agent}, but the chain is held by "
            f"{World().agents[1].agent}",
        ),
    ),
    "audience": (
        lambda w, c: (w.prove(c, aud="spiffe://acme.example/tool/other"), REQ),
        (
            "audience_mismatch",
            "aud",
            f"proof is for spiffe://acme.example/tool/other, not for this verifier ({TOOL_AUD})",
        ),
    ),
    "lifetime": (
        lambda w, c: (_holder_signed(w, c, {"exp": T0 + LIMITS.max_proof_lifetime + 1}), REQ),
        ("lifetime_exceeded", "exp", f"proof lifetime must be 1..{LIMITS.max_proof_lifetime}s"),
    ),
    "future": (
        lambda w, c: (_holder_signed(w, c, {"iat": T0 + SKEW + 1, "exp": T0 + SKEW + 61}), REQ),
        ("not_yet_valid", "iat", "proof was issued in the future (iat)"),
    ),
    "expired": (
        lambda w, c: (_holder_signed(w, c, {"iat": T0 - 100, "exp": T0 - SKEW}), REQ),
        ("expired", "exp", "proof expired"),
    ),
    "chain": (
        lambda w, c: (_holder_signed(w, c, {"chn": "another-token-id"}), REQ),
        ("proof_mismatch", "chn", "proof is for another chain (chn)"),
    ),
    "request": (
        lambda w, c: (w.prove(c, request=OTHER_RESOURCE), REQ),
        ("proof_mismatch", "req", "proof is for another request (req tool/resource)"),
    ),
    "arguments": (
        lambda w, c: (w.prove(c, request=OTHER_ARGS), REQ),
        ("proof_mismatch", "req", "proof is for other arguments (req.args)"),
    ),
    "not-granted": (
        lambda w, c: (
            _holder_signed(
                w,
                c,
                {
                    "req": {
                        "tool": NOT_GRANTED.tool,
                        "resource": NOT_GRANTED.resource,
                        "args": NOT_GRANTED.args_digest,
                    }
                },
            ),
            NOT_GRANTED,
        ),
        (
            "action_not_granted",
            None,
            "the chain does not allow crm.write on customers/eu/42 with these arguments",
        ),
    ),
    "signature": (
        lambda w, c: (forge(w.prove(c), signer=w.agents[0]), REQ),
        (
            "bad_signature",
            None,
            "proof: signature does not verify under the key bound to the holder",
        ),
    ),
    "oversized": (
        lambda w, c: ("x" * 20_000, REQ),
        ("oversized", None, "proof is 20000 bytes, over the 8192-byte limit"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_proof_refusal_has_its_code_claim_and_message(world: World, name: str) -> None:
    """Fault: a proof check refuses with another code, claim or message (or none)."""
    make, (code, claim, message) = CASES[name]
    chain = world.chain(2)
    proof, request = make(world, chain)
    err = rejected(world, chain, proof, request)
    assert (err.code, err.hop, err.claim, err.message) == (code, None, claim, message)


def test_a_replayed_proof_names_its_jti(world: World) -> None:
    """Fault: the replay refusal loses its message."""
    chain = world.chain(2)
    proof = world.prove(chain)
    world.verifier().verify(chain, proof, REQ)
    err = rejected(world, chain, proof)
    assert (err.code, err.message) == ("proof_replayed", "proof was already used (jti seen before)")


def test_a_proof_may_live_exactly_the_maximum_lifetime(world: World) -> None:
    """Fault: a proof living exactly ``max_proof_lifetime`` seconds is refused (``>=``)."""
    chain = world.chain(2)
    proof = _holder_signed(world, chain, {"iat": T0, "exp": T0 + LIMITS.max_proof_lifetime})
    assert world.verifier().verify(chain, proof, REQ).holder == world.agents[1].agent


def test_the_proof_size_limit_is_the_verifiers_own(world: World) -> None:
    """Fault: the proof is parsed under the default size limit, not the verifier's."""
    chain = world.chain(1)
    proof = "x" * 5000
    err = rejected(world, chain, proof, limits=Limits(max_token_bytes=4096))
    assert (err.code, err.message) == ("oversized", "proof is 5000 bytes, over the 4096-byte limit")


def test_a_used_proof_is_remembered_until_it_can_no_longer_verify(world: World) -> None:
    """Fault: the replay entry of a proof expires before the proof does (``exp - skew``) or
    never (``None``): a replay in the last seconds of the skew is then accepted, or the
    shared store grows without bound.
    """
    store = RecordingStore()
    chain = world.chain(2)
    proof = world.prove(chain)  # iat T0, exp T0 + 60
    world.verifier(revocations=store, replay=store).verify(chain, proof, REQ)
    ((key, expires),) = store.expiries.items()
    assert key.startswith(f"proof:{world.agents[1].kid}:")
    assert expires == T0 + 60 + SKEW
    world.clock.advance(60 + SKEW - 1)  # the proof still verifies (within the skew)...
    with pytest.raises(DelegationError) as ei:
        world.verifier(revocations=store, replay=store).verify(chain, proof, REQ)
    assert ei.value.code == "proof_replayed"  # ...so its entry must still be there
