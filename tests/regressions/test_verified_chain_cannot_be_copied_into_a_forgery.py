"""Regression (hardening, robustness): ``dataclasses.replace`` forged a ``VerifiedChain``.

``replace()`` carried the verifier's private seal into the copy, so any holder, action
or policy digest could be swapped in, and ``Delegator.delegate`` signed a receipt from
the forgery (an ``accept`` that never happened). Now ``replace()`` refuses, copies are
the object itself (it is immutable), pickling refuses, and ``delegate`` signs a receipt
only from an object the ``Verifier`` built.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from support import NARROW, World

from delegation import ChainGrantsOnly, ConfigurationError, VerifiedChain, Verifier


def _accepted(world: World) -> VerifiedChain:
    chain = world.chain(1)
    v = Verifier(
        registry=world.registry,
        audience=world.agents[0].agent,
        policy=ChainGrantsOnly(),
        revocations=world.store,
        replay=world.store,
        clock=world.clock,
    )
    return v.accept(chain)


@pytest.mark.parametrize(
    "changes",
    [
        {"holder": "spiffe://acme.example/agent/mallory"},
        {"action": "accept", "policy_digest": "sha256:forged"},
        {},
    ],
)
def test_replace_refuses(world: World, changes: dict[str, object]) -> None:
    verified = world.verifier().verify_chain(world.chain(1))
    with pytest.raises(TypeError):
        dataclasses.replace(verified, **changes)


def test_copies_are_the_object_itself_and_pickling_refuses(world: World) -> None:
    verified = _accepted(world)
    assert copy.copy(verified) is verified
    assert copy.deepcopy(verified) is verified
    with pytest.raises(TypeError):
        pickle.dumps(verified)


def test_delegate_signs_receipts_only_from_the_verifiers_object(world: World) -> None:
    accepted = _accepted(world)
    kw = {
        "to": world.agents[1].agent,
        "to_key": world.agents[1].public_jwk(),
        "caps": [NARROW],
        "ttl": 60,
    }
    me = world.delegator(world.agents[0])
    assert me.delegate(accepted, **kw)  # the genuine object works

    forged = object.__new__(VerifiedChain)  # what copy/pickle used to build: no __init__
    forged.__dict__.update(accepted.__dict__)
    with pytest.raises(ConfigurationError):
        me.delegate(forged, **kw)
