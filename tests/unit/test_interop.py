"""Interoperability with joserfc, an independent JOSE implementation (test-only dependency).

(a) joserfc verifies our tokens and proofs under our public JWKs and reads the same
claims; (b) tokens and proofs joserfc signs with our private JWKs, header
``{alg, typ, kid}`` and our claim set, are accepted by our Verifier; (c) what joserfc
adds by default (``typ: JWT``), any extra header, or its RFC 9864 ``Ed25519`` algorithm
name is refused with the exact code.

joserfc refuses algorithms outside its "recommended" set (HS256, RS256, ES256) unless
``algorithms=`` names them, so every call passes the algorithm explicitly. It also warns
that ``EdDSA`` is deprecated by RFC 9864 (``joserfc.errors.SecurityWarning``): our wire
format pins ``EdDSA``, so that one warning is ignored here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from forging import b64e, token_id
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, OKPKey
from support import REQ, TOOL_AUD, World

from delegation import (
    AgentKey,
    Chain,
    DelegationError,
    Delegator,
    VerifiedChain,
    parse_unverified,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:EdDSA is deprecated via RFC 9864:joserfc.errors.SecurityWarning"
)

Header = dict[str, Any]
HeaderFor = Callable[[AgentKey], Header]


@pytest.fixture(params=["EdDSA", "ES256"])
def any_world(request: pytest.FixtureRequest) -> World:
    """A fresh world with Ed25519 keys, then with P-256 keys."""
    return World(alg=request.param)


def _joserfc_key(jwk: dict[str, str]) -> OKPKey | ECKey:
    data: dict[str, str | list[str]] = dict(jwk)
    if jwk["kty"] == "OKP":
        return OKPKey.import_key(data)
    return ECKey.import_key(data)


def _signers(world: World, chain: Chain) -> list[AgentKey]:
    """Who signed each token: the orchestrator, then each hop's delegator."""
    return [world.orch, *world.agents[: len(chain) - 1]]


def _standard(typ: str) -> HeaderFor:
    return lambda key: {"alg": key.alg, "typ": typ, "kid": key.kid}


def _joserfc_chain(
    world: World,
    chain: Chain,
    *,
    header_for: HeaderFor | None = None,
    proof_header_for: HeaderFor | None = None,
) -> tuple[Chain, str]:
    """Re-sign ``chain`` and a proof for REQ with joserfc, relinking ``prf`` and ``chn``.

    Headers default to ours: ``{alg, typ, kid}`` with ``deleg+jwt`` / ``deleg-proof+jwt``.
    """
    header_for = header_for or _standard("deleg+jwt")
    proof_header_for = proof_header_for or _standard("deleg-proof+jwt")
    tokens: list[str] = []
    parent: str | None = None
    for parsed, signer in zip(parse_unverified(chain), _signers(world, chain), strict=True):
        claims = parsed.claims.to_payload()
        if parent is not None:
            claims["prf"] = parent  # the parent's bytes changed, so its token id did too
        header = header_for(signer)
        private = _joserfc_key(signer.private_jwk())
        tokens.append(jwt.encode(header, claims, private, algorithms=[header["alg"]]))
        parent = token_id(tokens[-1])
    holder = world.holder(chain)
    proof_claims = jwt.decode(
        world.prove(chain), _joserfc_key(holder.public.jwk), algorithms=[holder.alg]
    ).claims
    proof_claims["chn"] = parent
    header = proof_header_for(holder)
    proof = jwt.encode(
        header, proof_claims, _joserfc_key(holder.private_jwk()), algorithms=[header["alg"]]
    )
    return Chain(tokens), proof


# --- (a) joserfc reads what we write --- #


def test_joserfc_imports_our_jwks_with_the_same_thumbprint(any_world: World) -> None:
    """joserfc imports our public and private JWKs and computes our kid as the thumbprint."""
    for key in (any_world.orch, *any_world.agents):
        assert _joserfc_key(key.public_jwk()).thumbprint() == key.kid
        assert _joserfc_key(key.private_jwk()).thumbprint() == key.kid
        assert _joserfc_key(key.public.jwk).as_dict()["x"] == key.public.jwk["x"]


def test_joserfc_verifies_our_tokens_and_reads_the_same_claims(any_world: World) -> None:
    """joserfc verifies each hop of our 3-hop chain under its signer's JWK, same header/claims."""
    chain = any_world.chain(3)
    for raw, parsed, signer in zip(
        chain.tokens, parse_unverified(chain), _signers(any_world, chain), strict=True
    ):
        obj = jws.deserialize_compact(raw, _joserfc_key(signer.public.jwk), algorithms=[signer.alg])
        assert obj.headers() == {"alg": signer.alg, "typ": "deleg+jwt", "kid": signer.kid}
        token = jwt.decode(raw, _joserfc_key(signer.public.jwk), algorithms=[signer.alg])
        assert token.claims == parsed.claims.to_payload()
        assert token.claims.get("prf") == (None if raw == chain.tokens[0] else parsed.claims.prf)
    links = [token_id(t) for t in chain.tokens[:-1]]
    assert [t.claims.prf for t in parse_unverified(chain)[1:]] == links


def test_joserfc_rejects_our_token_under_another_key(any_world: World) -> None:
    """joserfc refuses hop 1 under the root's key: only the parent's cnf key signed it."""
    chain = any_world.chain(2)
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(
            chain.tokens[1],
            _joserfc_key(any_world.orch.public.jwk),
            algorithms=[any_world.orch.alg],
        )


def test_joserfc_verifies_our_proof_and_reads_its_binding(any_world: World) -> None:
    """joserfc verifies our proof under the holder's JWK; chn and req.args match the spec."""
    chain = any_world.chain(2)
    holder = any_world.holder(chain)
    proof = any_world.prove(chain)
    obj = jws.deserialize_compact(proof, _joserfc_key(holder.public.jwk), algorithms=[holder.alg])
    assert obj.headers() == {"alg": holder.alg, "typ": "deleg-proof+jwt", "kid": holder.kid}
    claims = json.loads(obj.payload)
    assert claims["iss"] == holder.agent
    assert claims["aud"] == TOOL_AUD
    assert claims["chn"] == token_id(chain.tokens[-1])
    digest = b64e(hashlib.sha256(rfc8785.dumps(REQ.args)).digest())
    assert claims["req"] == {"tool": REQ.tool, "resource": REQ.resource, "args": digest}
    assert 0 < claims["exp"] - claims["iat"] <= 120


# --- (b) we accept what joserfc writes --- #


def test_verifier_accepts_joserfc_signed_chain_and_proof(any_world: World) -> None:
    """A 3-hop chain and proof signed by joserfc with our keys and claims verify."""
    ours = any_world.chain(3)
    chain, proof = _joserfc_chain(any_world, ours)
    assert all(h.startswith("eyJ0eXAi") for h in chain.tokens)  # joserfc's {"typ":...} order
    verified = any_world.verifier().verify(chain, proof, REQ)
    assert isinstance(verified, VerifiedChain)
    assert verified.holder == any_world.agents[2].agent
    assert verified.token_ids == tuple(token_id(t) for t in chain.tokens)
    assert verified.capabilities == tuple(parse_unverified(ours)[-1].claims.caps)


def test_verifier_accepts_our_proof_over_joserfc_chain(any_world: World) -> None:
    """Our Delegator proves possession of a joserfc-signed chain and the Verifier accepts it."""
    chain, _ = _joserfc_chain(any_world, any_world.chain(2))
    holder = any_world.holder(chain)
    proof = Delegator(holder, clock=any_world.clock).prove(
        chain, aud=TOOL_AUD, tool=REQ.tool, resource=REQ.resource, args=REQ.args
    )
    assert any_world.verifier().verify(chain, proof, REQ).holder == holder.agent


# --- (c) what joserfc adds, we refuse, with the exact code --- #


def _code(world: World, chain: Chain, proof: str) -> tuple[str, int | None]:
    with pytest.raises(DelegationError) as excinfo:
        world.verifier().verify(chain, proof, REQ)
    return excinfo.value.code, excinfo.value.hop


def test_joserfc_default_typ_is_refused(any_world: World) -> None:
    """A joserfc jwt.encode without our typ writes typ JWT: wrong_token_type at hop 0."""
    chain, proof = _joserfc_chain(
        any_world, any_world.chain(2), header_for=lambda k: {"alg": k.alg, "kid": k.kid}
    )
    assert jws.extract_compact(chain.tokens[0].encode()).headers()["typ"] == "JWT"
    assert _code(any_world, chain, proof) == ("wrong_token_type", 0)


def test_joserfc_default_typ_on_proof_is_refused(any_world: World) -> None:
    """A joserfc-signed proof with joserfc's default typ JWT is refused as wrong_token_type."""
    chain, proof = _joserfc_chain(
        any_world, any_world.chain(2), proof_header_for=lambda k: {"alg": k.alg, "kid": k.kid}
    )
    assert _code(any_world, chain, proof) == ("wrong_token_type", None)


@pytest.mark.parametrize(
    ("extra", "hop"),
    [
        pytest.param({"cty": "JWT"}, 0, id="cty-root"),
        pytest.param({"x5t": "AAAA"}, 0, id="x5t-root"),
        pytest.param({"jwk": "signer"}, 0, id="jwk-root"),
    ],
)
def test_joserfc_extra_header_is_refused(any_world: World, extra: Header, hop: int) -> None:
    """Any header member beyond alg/typ/kid, as joserfc lets one add, is bad_header."""

    def header(key: AgentKey) -> Header:
        more = {"jwk": key.public.jwk} if extra == {"jwk": "signer"} else extra
        return {"alg": key.alg, "typ": "deleg+jwt", "kid": key.kid, **more}

    chain, proof = _joserfc_chain(any_world, any_world.chain(2), header_for=header)
    assert _code(any_world, chain, proof) == ("bad_header", hop)


def test_joserfc_extra_header_on_middle_hop_is_refused(world: World) -> None:
    """An extra header only on hop 1 of a joserfc-signed chain is bad_header at hop 1."""

    def header(key: AgentKey) -> Header:
        base = {"alg": key.alg, "typ": "deleg+jwt", "kid": key.kid}
        return {**base, "cty": "JWT"} if key is world.agents[0] else base

    chain, proof = _joserfc_chain(world, world.chain(3), header_for=header)
    assert _code(world, chain, proof) == ("bad_header", 1)


def test_joserfc_ed25519_algorithm_name_is_refused(world: World) -> None:
    """joserfc's RFC 9864 alg "Ed25519" is not our pinned "EdDSA": alg_not_allowed at hop 0."""
    chain, proof = _joserfc_chain(
        world,
        world.chain(2),
        header_for=lambda k: {"alg": "Ed25519", "typ": "deleg+jwt", "kid": k.kid},
    )
    assert _joserfc_key(world.orch.public.jwk).thumbprint() == world.orch.kid
    assert _code(world, chain, proof) == ("alg_not_allowed", 0)
