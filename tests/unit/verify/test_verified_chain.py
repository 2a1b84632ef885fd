"""What a verification returns: the ``VerifiedChain``, its JSON form, and what it refuses.

Found by a mutation run of ``verify.py`` (docs/mutation.md): the JSON form printed by
``delegation verify --json`` was pinned only for its ``decision`` member.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest
from forging import token_id
from support import CAP, NARROW, REQ, T0, World

from delegation import Capability, DelegationError
from delegation.stores.memory import MemoryStore


def test_to_dict_of_a_verified_request_is_the_whole_json_form(world: World) -> None:
    """Fault: a member of ``to_dict`` is renamed, dropped, or given another value."""
    chain = world.chain(2, ttl=600)
    verified = world.verifier().verify(chain, world.prove(chain), REQ)
    a = world.agents
    assert verified.to_dict() == {
        "ok": True,
        "holder": a[1].agent,
        "path": [world.orch.agent, a[0].agent, a[1].agent],
        "root": world.orch.agent,
        "task": "T-42",
        "obo": "user:alice",
        "depth": 2,
        "remaining_depth": 3,  # minted with depth 4 (hops + 2); the hop below used one
        "capabilities": [NARROW.to_wire()],
        "token_ids": [token_id(t) for t in chain.tokens],
        "expires_at": T0 + 599,  # the second hop's ttl is one second shorter
        "purpose": None,
        "request": {"tool": REQ.tool, "resource": REQ.resource},
        "decision": {
            "effect": "allow",
            "rules": ["chain-grants-only"],
            "policy": "chain-grants-only",
        },
    }


def test_to_dict_of_a_chain_check_has_no_request_or_decision(world: World) -> None:
    """Fault: ``verify_chain`` reports a request or a decision it never made."""
    chain = world.chain(1)
    verified = world.verifier().verify_chain(chain)
    out = verified.to_dict()
    assert "request" not in out and "decision" not in out
    assert out["capabilities"] == [CAP.to_wire()]
    assert (verified.action, verified.policy_digest, verified.decision) == ("chain", None, None)
    assert verified.chain == chain


def test_a_verified_chain_cannot_be_pickled_but_copies_are_itself(world: World) -> None:
    """Fault: pickling a ``VerifiedChain`` succeeds (it must be verified again, not shipped)."""
    verified = world.verifier().verify_chain(world.chain(1))
    with pytest.raises(
        TypeError, match=r"^a VerifiedChain cannot be pickled: send the chain and verify it again$"
    ):
        pickle.dumps(verified)
    assert copy.copy(verified) is verified
    assert copy.deepcopy(verified) is verified
    assert verified.sealed
    assert isinstance(verified.capabilities[0], Capability)


class _CrashingRevocations(MemoryStore):
    """A revocation store whose lookup raises a foreign exception."""

    def first_revoked(self, items: Any, now: float) -> Any:
        raise RuntimeError("backend bug")


@pytest.mark.parametrize("call", ["verify", "verify_chain"])
def test_a_check_that_errors_denies_with_internal_error_naming_the_exception(
    world: World, call: str
) -> None:
    """Fault: the ``internal_error`` of ``verify_chain`` loses its message or its cause."""
    chain = world.chain(2)
    store = _CrashingRevocations()
    verifier = world.verifier(revocations=store, replay=store)
    proof = world.prove(chain)
    run = {
        "verify": lambda: verifier.verify(chain, proof, REQ),
        "verify_chain": lambda: verifier.verify_chain(chain),
    }[call]
    with pytest.raises(DelegationError) as ei:
        run()
    assert ei.value.code == "internal_error"
    assert ei.value.message == "verification failed unexpectedly: RuntimeError"
    assert isinstance(ei.value.__cause__, RuntimeError)


def test_only_the_verifier_builds_a_verified_chain(world: World) -> None:
    """Fault: the refusal to build a ``VerifiedChain`` outside the verifier loses its text."""
    verified = world.verifier().verify_chain(world.chain(1))
    with pytest.raises(TypeError, match=r"^VerifiedChain is built only by Verifier$"):
        dataclasses.replace(verified, holder="spiffe://acme.example/agent/mallory")
