"""Step 10, audit: every decision recorded; a failing sink denies.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import pytest
from forging import forge
from support import ORG, REQ, World
from verify_support import DownAudit, with_hop

from delegation import Chain, ChainGrantsOnly, DelegationError, MemoryAudit, StoreUnavailable


def test_audit_unavailable_turns_allow_into_store_unavailable(world: World) -> None:
    """An otherwise allowed verification whose audit append fails raises store_unavailable."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(StoreUnavailable("disk full"))).verify(
            chain, world.prove(chain), REQ
        )
    assert ei.value.code == "store_unavailable"


def test_audit_unavailable_on_denial_is_store_unavailable(world: World) -> None:
    """A denial that cannot be audited is still a denial, reported as store_unavailable."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(StoreUnavailable("disk full"))).verify(
            chain, world.prove(chain, aud=f"{ORG}/tool/mail"), REQ
        )
    assert ei.value.code == "store_unavailable"
    assert isinstance(ei.value.__cause__, DelegationError)
    assert ei.value.__cause__.code == "audience_mismatch"


def test_audit_sink_crash_is_a_delegation_error(world: World) -> None:
    """An audit sink raising a foreign exception denies with store_unavailable (fail closed)."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(OSError("disk"))).verify(chain, world.prove(chain), REQ)
    assert ei.value.code == "store_unavailable"


def test_every_denial_is_audited_with_its_code(world: World) -> None:
    """A run of different denials leaves one deny record each, in order, with its code."""
    chain = world.chain(3)
    attempts: list[tuple[Chain, str, str]] = [
        (Chain(chain.tokens[1:]), world.prove(chain), "broken_link"),
        (chain, world.prove(chain, aud=f"{ORG}/tool/mail"), "audience_mismatch"),
        (chain, forge(world.prove(chain), header={"alg": "none"}), "alg_not_allowed"),
        (
            with_hop(chain, 1, forge(chain.tokens[1], claims={"dpth": 9})),
            world.prove(chain),
            "bad_signature",
        ),
    ]
    audit = MemoryAudit()
    verifier = world.verifier(audit=audit)
    for bad_chain, proof, code in attempts:
        with pytest.raises(DelegationError) as ei:
            verifier.verify(bad_chain, proof, REQ)
        assert ei.value.code == code
    assert [(r["decision"], r["code"]) for r in audit.records] == [
        ("deny", code) for _, _, code in attempts
    ]
    verifier.verify(chain, world.prove(chain), REQ)
    assert audit.records[-1]["decision"] == "allow"


def test_verify_chain_without_proof_applies_steps_one_to_seven(world: World) -> None:
    """``verify_chain`` accepts a valid chain and refuses a forged one with the same code."""
    chain = world.chain(3)
    assert world.verifier().verify_chain(chain).remaining_depth >= 0
    forged = forge(chain.tokens[2], signer=world.agents[1], claims={"dpth": 9})
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify_chain(with_hop(chain, 2, forged))
    assert (ei.value.code, ei.value.hop) == ("depth_exceeded", 2)


def test_chain_grants_only_is_the_explicit_default(world: World) -> None:
    """A verifier built with ChainGrantsOnly allows exactly what the chain grants."""
    chain = world.chain(2)
    verified = world.verifier(policy=ChainGrantsOnly()).verify(chain, world.prove(chain), REQ)
    assert verified.decision is not None
    assert verified.decision.allowed
