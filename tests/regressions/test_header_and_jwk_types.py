"""Regressions: header and JWK members of the wrong JSON type must be refused with a code."""

from __future__ import annotations

import json

import pytest
from support import REQ, World

from delegation import DelegationError, PublicKey
from delegation._jose import b64url_encode


def _resign_with_header(world: World, header: dict[str, object]) -> str:
    token = world.chain(1).tokens[0]
    payload = token.split(".")[1]
    h = b64url_encode(json.dumps(header).encode())
    signing_input = f"{h}.{payload}".encode()
    return f"{h}.{payload}.{b64url_encode(world.orch.sign(signing_input))}"


@pytest.mark.parametrize("alg", [["EdDSA"], {"EdDSA": 1}, 1, None])
def test_non_string_alg_is_alg_not_allowed(world: World, alg: object) -> None:
    """A list/object/number alg was an unhashable lookup (internal_error); now alg_not_allowed."""
    token = _resign_with_header(world, {"alg": alg, "typ": "deleg+jwt", "kid": world.orch.kid})
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify_chain(token)
    assert ei.value.code == "alg_not_allowed"
    assert ei.value.hop == 0


def test_non_string_alg_in_proof(world: World) -> None:
    """The same holds for a proof's header."""
    chain = world.chain(1)
    proof = world.prove(chain)
    payload = proof.split(".")[1]
    h = b64url_encode(json.dumps({"alg": {"a": 1}, "typ": "deleg-proof+jwt"}).encode())
    forged = f"{h}.{payload}.{b64url_encode(world.agents[0].sign(f'{h}.{payload}'.encode()))}"
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify(chain, forged, REQ)
    assert ei.value.code == "alg_not_allowed"


@pytest.mark.parametrize("ops", [["encrypt"], ["wrapKey", "decrypt"], "verify", []])
def test_key_ops_without_verify_is_refused(world: World, ops: object) -> None:
    """A JWK whose key_ops exclude signatures was accepted; it is now invalid_key."""
    jwk = {**world.agents[0].public.jwk, "key_ops": ops}
    with pytest.raises(DelegationError) as ei:
        PublicKey.from_jwk(jwk)
    assert ei.value.code == "invalid_key"
    assert PublicKey.from_jwk({**world.agents[0].public.jwk, "key_ops": ["verify"]})
