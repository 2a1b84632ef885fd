"""Issue 9, item 9: the replay key was the proof's jti alone, global to the store."""

from __future__ import annotations

import json

import pytest
from support import REQ, World

from delegation import Chain, DelegationError
from delegation._jose import b64url_decode


def _jti(proof: str) -> str:
    jti: str = json.loads(b64url_decode(proof.split(".")[1]))["jti"]
    return jti


def test_replay_key_scoped_to_issuer_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder of another chain who spends a seen proof's jti first cannot block that proof."""
    victim_chain = world.chain(2)
    victim_proof = world.prove(victim_chain)
    # The attacker holds a chain of their own (another task, another key) and signs a valid
    # proof that reuses the victim's jti, presenting it before the victim does.
    attacker_chain: Chain = world.chain(1, task="T-other")
    monkeypatch.setattr("delegation.mint.new_jti", lambda: _jti(victim_proof))
    attacker_proof = world.prove(attacker_chain)
    assert _jti(attacker_proof) == _jti(victim_proof)
    verifier = world.verifier()
    verifier.verify(attacker_chain, attacker_proof, REQ)
    verifier.verify(victim_chain, victim_proof, REQ)  # was proof_replayed
    with pytest.raises(DelegationError) as ei:
        verifier.verify(victim_chain, victim_proof, REQ)
    assert ei.value.code == "proof_replayed"
