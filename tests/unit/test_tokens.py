from __future__ import annotations

import pytest
from pydantic import ValidationError
from support import World

from delegation import Chain, DelegationError, parse_unverified
from delegation._jose import args_digest, b64url_decode, b64url_encode, json_object
from delegation.tokens import DelegationClaims, parse_jws


def test_chain_text_and_json_forms(world: World) -> None:
    """Chain.parse reads the ~-joined form and the JSON list form; str() writes the first."""
    chain = world.chain(3)
    assert Chain.parse(str(chain)) == chain
    assert Chain.parse(f"  {chain}\n") == chain
    import json

    assert Chain.parse(json.dumps(chain.to_json())) == chain
    assert len(chain) == 3 and list(chain) == list(chain.tokens)
    with pytest.raises(AttributeError):
        chain._tokens = ()  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", "   ", "a~~b", "[1, 2]", '{"a": 1}', "[", "~"])
def test_bad_chain_text(text: str) -> None:
    """Empty, hole-y or mistyped chains are malformed."""
    with pytest.raises(DelegationError) as ei:
        Chain.parse(text)
    assert ei.value.code == "malformed"


def test_parse_unverified_reads_claims(world: World) -> None:
    """parse_unverified exposes claims and token ids without verifying anything."""
    chain = world.chain(2)
    toks = parse_unverified(chain)
    assert [t.claims.sub for t in toks] == [world.agents[0].agent, world.agents[1].agent]
    assert toks[1].claims.prf == toks[0].token_id
    assert toks[0].header["typ"] == "deleg+jwt"


def test_parse_unverified_sets_the_hop(world: World) -> None:
    """An unparseable token is reported with its position."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        parse_unverified(Chain([chain.tokens[0], "x.y.z"]))
    assert (ei.value.code, ei.value.hop) == ("malformed", 1)


def test_base64url_is_strict() -> None:
    """Padding, standard-alphabet characters and non-canonical trailing bits are refused."""
    assert b64url_decode(b64url_encode(b"\xff\xfe")) == b"\xff\xfe"
    for bad in ["AB==", "A+B", "A/B", "A", "AR", "AB C"]:
        with pytest.raises(DelegationError) as ei:
            b64url_decode(bad)
        assert ei.value.code == "malformed", bad


@pytest.mark.parametrize(
    "raw", [b'{"a":1,"a":2}', b"[1]", b'{"a": NaN}', b"\xff\xfe", b"{", b"[" * 5000 + b"]" * 5000]
)
def test_json_is_strict(raw: bytes) -> None:
    """Duplicate names, non-objects, NaN, bad UTF-8, bad and deep JSON are malformed."""
    with pytest.raises(DelegationError) as ei:
        json_object(raw)
    assert ei.value.code == "malformed"


def test_args_digest_is_canonical() -> None:
    """The request digest is over RFC 8785 JSON: key order and number spelling do not matter."""
    assert args_digest({"b": 1, "a": 2.0}) == args_digest({"a": 2, "b": 1})
    assert args_digest(None) == args_digest({})
    assert args_digest({"a": 1}) != args_digest({"a": "1"})


def test_claims_are_closed_and_strict(world: World) -> None:
    """Unknown claims and wrongly typed claims are refused with the claim named."""
    leaf = parse_jws(world.chain(1).tokens[0], DelegationClaims)
    payload = leaf.claims.to_payload()
    for mutation, claim in [
        ({"extra": 1}, "extra"),
        ({"exp": "soon"}, "exp"),
        ({"aud": [payload["aud"]]}, "aud"),
        ({"dpth": -1}, "dpth"),
        ({"iat": 1.5}, "iat"),
        ({"caps": []}, "caps"),
    ]:
        with pytest.raises(ValidationError) as ei:
            DelegationClaims.model_validate({**payload, **mutation})
        assert claim in str(ei.value)
