"""Step 8, proof of possession: holder, audience, request, freshness, single use.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import hashlib

import pytest
import rfc8785
from forging import b64e, decode, forge
from support import ORG, REQ, T0, TOOL_AUD, World
from verify_support import rejected

from delegation import AgentKey, DelegationError, Request


def test_proof_by_an_ancestor_key_is_refused(world: World) -> None:
    """A proof signed by an ancestor (not the leaf's bound key) is refused."""
    chain = world.chain(3)
    for ancestor in (world.agents[0], world.agents[1], world.orch):
        with pytest.raises(DelegationError) as ei:
            world.prove(chain, key=ancestor)
        assert ei.value.code == "holder_mismatch"
        forged = forge(
            world.prove(chain),
            signer=ancestor,
            header={"kid": ancestor.kid},
            claims={"iss": ancestor.agent},
        )
        err = rejected(world, chain, forged)
        assert (err.code, err.hop) == ("bad_signature", None)
        same_kid = forge(world.prove(chain), signer=ancestor)
        err = rejected(world, chain, same_kid)
        assert (err.code, err.hop) == ("bad_signature", None)


def test_proof_issuer_other_than_holder_is_refused(world: World) -> None:
    """A proof signed by the bound key but naming another ``iss`` is holder_mismatch."""
    chain = world.chain(2)
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"iss": world.agents[0].agent})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == ("holder_mismatch", None, "iss")


@pytest.mark.parametrize("aud", [f"{ORG}/tool/mail", f"{TOOL_AUD}/", f"{ORG}/TOOL/crm"])
def test_proof_for_another_audience_is_refused(world: World, aud: str) -> None:
    """A proof addressed to another verifier is audience_mismatch."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain, aud=aud))
    assert (err.code, err.hop, err.claim) == ("audience_mismatch", None, "aud")


@pytest.mark.parametrize(
    "request_",
    [
        Request(tool="crm.read", resource="customers/eu/43", args={"max_rows": 10}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 11}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10, "x": 1}),
        Request(tool="crm.read", resource="customers/eu/42"),
    ],
    ids=["resource", "args-value", "args-extra", "args-none"],
)
def test_proof_for_another_request_is_refused(world: World, request_: Request) -> None:
    """A proof for one request does not authorize a different request: proof_mismatch."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), request=request_)
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "req")


def test_proof_binds_the_arguments_of_a_copied_request(world: World) -> None:
    """A request derived with ``model_copy(update=...)`` is bound by its own arguments."""
    chain = world.chain(2)
    derived = REQ.model_copy(update={"args": {"max_rows": 49}})
    err = rejected(world, chain, world.prove(chain), request=derived)
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "req")


def test_proof_for_another_tool_is_refused(world: World) -> None:
    """A proof for ``crm.read`` does not authorize ``crm.write``: proof_mismatch."""
    chain = world.chain(1)
    other = Request(tool="crm.write", resource="customers/eu/42", args={"max_rows": 10})
    err = rejected(world, chain, world.prove(chain), request=other)
    assert (err.code, err.claim) == ("proof_mismatch", "req")


def test_proof_for_another_leaf_is_refused(world: World) -> None:
    """A proof made for one chain does not work with another chain of the same holder."""
    first, second = world.chain(2), world.chain(2)
    err = rejected(world, first, world.prove(second))
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "chn")


def test_stale_proof_is_refused(world: World) -> None:
    """A proof past ``exp + skew`` is expired; one second earlier it is accepted."""
    chain = world.chain(2)
    fresh = world.prove(chain, ttl=60)
    stale = world.prove(chain, ttl=60)
    world.clock.advance(60 + 29)
    world.verifier().verify(chain, fresh, REQ)
    world.clock.advance(1)
    err = rejected(world, chain, stale)
    assert (err.code, err.hop, err.claim) == ("expired", None, "exp")


def test_replayed_proof_is_refused(world: World) -> None:
    """A proof is single use, also across verifiers sharing the replay cache."""
    chain = world.chain(2)
    proof = world.prove(chain)
    world.verifier().verify(chain, proof, REQ)
    err = rejected(world, chain, proof)
    assert (err.code, err.hop) == ("proof_replayed", None)
    assert err.jti == decode(proof)[1]["jti"]


def test_rejected_proof_is_not_consumed(world: World) -> None:
    """A proof refused before the replay step keeps its jti unused."""
    chain = world.chain(2)
    proof = world.prove(chain)
    other = AgentKey.generate(f"{ORG}/agent/elsewhere")
    assert rejected(world, chain, proof, audience=other.agent).code == "audience_mismatch"
    world.verifier().verify(chain, proof, REQ)


@pytest.mark.parametrize(
    ("life", "code"),
    [(121, "lifetime_exceeded"), (3600, "lifetime_exceeded"), (0, "lifetime_exceeded")],
)
def test_proof_lifetime_is_bounded(world: World, life: int, code: str) -> None:
    """A proof living longer than 120 s (or not at all) is lifetime_exceeded."""
    chain = world.chain(2)
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"exp": T0 + life})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == (code, None, "exp")
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, ttl=life)
    assert ei.value.code == code


def test_future_proof_is_refused(world: World) -> None:
    """A proof issued beyond the skew in the future is not_yet_valid."""
    chain = world.chain(2)
    proof = forge(
        world.prove(chain), signer=world.agents[1], claims={"iat": T0 + 3600, "exp": T0 + 3660}
    )
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == ("not_yet_valid", None, "iat")


@pytest.mark.parametrize(
    "request_",
    [
        Request(tool="crm.read", resource="customers/us/42", args={"max_rows": 10}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 51}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": "10"}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": True}),
        Request(tool="crm.read", resource="customers/eu/42", args={}),
        Request(tool="crm.delete", resource="customers/eu/42", args={"max_rows": 1}),
    ],
    ids=["resource", "over-max", "string-number", "bool", "absent", "tool"],
)
def test_request_beyond_the_leaf_is_not_granted(world: World, request_: Request) -> None:
    """A holder-signed proof for a request outside its capabilities is action_not_granted."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, request=request_)
    assert ei.value.code == "action_not_granted"
    digest = b64e(hashlib.sha256(rfc8785.dumps(request_.args)).digest())
    req = {"tool": request_.tool, "resource": request_.resource, "args": digest}
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"req": req})
    err = rejected(world, chain, proof, request=request_)
    assert (err.code, err.hop) == ("action_not_granted", None)
