from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448

from delegation import AgentKey, DelegationError, PublicKey, thumbprint
from delegation._jose import b64url_encode

AGENT = "spiffe://acme.example/agent/planner"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_generate_save_load_round_trip(tmp_path: Path, alg: str) -> None:
    """A key saved to a file loads back identical, the private file is 0600."""
    key = AgentKey.generate(AGENT, alg=alg)  # type: ignore[arg-type]
    key.save(tmp_path / "k.json", public_path=tmp_path / "k.pub.json")
    back = AgentKey.load(tmp_path / "k.json")
    assert (back.agent, back.kid, back.alg) == (AGENT, key.kid, alg)
    assert stat.S_IMODE(os.stat(tmp_path / "k.json").st_mode) == 0o600
    pub = json.loads((tmp_path / "k.pub.json").read_text())
    assert "d" not in pub and pub["agent"] == AGENT and pub["kid"] == key.kid
    assert PublicKey.from_jwk(pub).kid == key.kid
    sig = back.sign(b"msg")
    assert key.public.is_valid(sig, b"msg")
    assert not key.public.is_valid(sig, b"other")


def test_kid_is_rfc7638_thumbprint() -> None:
    """kid is the RFC 7638 thumbprint of the required members only."""
    key = AgentKey.generate(AGENT)
    jwk = key.public_jwk()
    assert key.kid == thumbprint({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
    assert key.kid == thumbprint({**jwk, "use": "sig"})


@pytest.mark.parametrize(
    ("jwk", "fragment"),
    [
        ({"kty": "OKP", "crv": "Ed448", "x": b64url_encode(b"\x00" * 57)}, "Ed448"),
        ({"kty": "RSA", "crv": "x", "n": "AQAB", "e": "AQAB", "x": "AA"}, "unsupported"),
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "P-384"),
        ({"kty": "oct", "crv": "x", "k": "c2VjcmV0", "x": "AA"}, "private"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ"}, "32 bytes"),
        ({"kty": "OKP", "crv": "Ed25519"}, "coordinates"),
        (
            {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url_encode(b"\x01" * 32),
                "y": b64url_encode(b"\x01" * 32),
            },
            "curve",
        ),
        ("not a dict", "JSON object"),
    ],
)
def test_bad_public_jwks_are_refused(jwk: object, fragment: str) -> None:
    """Unknown kty/crv, Ed448, private members, bad sizes and off-curve points are refused."""
    with pytest.raises(DelegationError) as ei:
        PublicKey.from_jwk(jwk)
    assert ei.value.code == "invalid_key"
    assert fragment in ei.value.message


def test_private_member_in_public_jwk_is_refused() -> None:
    """A public JWK that carries 'd' is refused (a leaked private key is not a public key)."""
    with pytest.raises(DelegationError, match="private member"):
        PublicKey.from_jwk(AgentKey.generate(AGENT).private_jwk())


def test_wrong_kid_and_alg_members_are_refused() -> None:
    """A kid that is not the thumbprint, or an alg for another key type, is refused."""
    jwk = AgentKey.generate(AGENT).public_jwk()
    with pytest.raises(DelegationError, match="thumbprint"):
        PublicKey.from_jwk({**jwk, "kid": "other"})
    with pytest.raises(DelegationError, match="alg"):
        PublicKey.from_jwk({**jwk, "alg": "ES256"})


def test_key_file_errors(tmp_path: Path) -> None:
    """Missing files, JSON garbage, public-only files and mismatched d are clear errors."""
    with pytest.raises(DelegationError) as ei:
        AgentKey.load(tmp_path / "missing.json")
    assert ei.value.code == "file_error"
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(DelegationError) as ei:
        AgentKey.load(tmp_path / "bad.json")
    assert ei.value.code == "invalid_key"
    key = AgentKey.generate(AGENT)
    (tmp_path / "pub.json").write_text(json.dumps(key.public_jwk()))
    with pytest.raises(DelegationError, match="public key file"):
        AgentKey.load(tmp_path / "pub.json")
    other = AgentKey.generate(AGENT).private_jwk()
    (tmp_path / "mix.json").write_text(json.dumps({**key.private_jwk(), "d": other["d"]}))
    with pytest.raises(DelegationError, match="does not match"):
        AgentKey.load(tmp_path / "mix.json")
    no_agent = {k: v for k, v in key.private_jwk().items() if k != "agent"}
    with pytest.raises(DelegationError, match="agent"):
        AgentKey.from_jwk(no_agent)
    assert AgentKey.from_jwk(no_agent, agent=AGENT).kid == key.kid


def test_ed448_private_key_cannot_become_an_agent_key() -> None:
    """Ed448 is refused even though pyjwt's EdDSA would accept it."""
    raw = ed448.Ed448PrivateKey.generate().public_key().public_bytes_raw()
    with pytest.raises(DelegationError, match="Ed448") as ei:
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed448", "x": b64url_encode(raw)})
    assert ei.value.code == "invalid_key"


@pytest.mark.parametrize(
    ("agent", "why"),
    [
        ("spiffe://acme.example/agent/pl\u0430nner", "(U+0430) at position 30 is not ASCII"),
        ("spiffe://acme.example/agënt", "'ë' (U+00EB) at position 24 is not ASCII"),
        ("no scheme", "' ' at position 2 is a space"),
        ("planner", "it needs a scheme"),
        ("urn:", "nothing follows the scheme's ':'"),
    ],
)
def test_agent_ids_must_be_ascii_uris(agent: str, why: str) -> None:
    """A bad agent id is the caller's input (not a key): the message names what is wrong."""
    with pytest.raises(DelegationError, match=re.escape(why)) as ei:
        AgentKey.generate(agent)
    assert ei.value.code == "invalid_input"


def test_verify_raises_on_a_forgery_and_is_valid_says_false() -> None:
    """``verify`` follows cryptography's convention (an ignored call still refuses)."""
    for alg in ("EdDSA", "ES256"):
        key = AgentKey.generate(AGENT, alg=alg)  # type: ignore[arg-type]
        sig = key.sign(b"m")
        assert key.public.verify(sig, b"m") is True
        with pytest.raises(DelegationError) as ei:
            key.public.verify(sig, b"other")
        assert ei.value.code == "bad_signature" and key.kid in ei.value.message
        assert key.public.is_valid(sig, b"other") is False


def test_es256_signature_is_raw_r_s() -> None:
    """ES256 signatures are 64-byte r||s (JWS form), anything else fails to verify."""
    key = AgentKey.generate(AGENT, alg="ES256")
    sig = key.sign(b"m")
    assert len(sig) == 64
    assert key.public.is_valid(sig, b"m")
    assert not key.public.is_valid(sig + b"\x00", b"m")
