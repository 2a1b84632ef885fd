"""Edges of token parsing and encoding that a first mutation run of ``tokens.py`` found
untested (docs/mutation.md).
"""

from __future__ import annotations

import json

import pytest
from forging import b64d
from support import CAP, World

from delegation import DelegationError
from delegation.tokens import Chain, DelegationClaims, parse_jws, parse_unverified


def test_chains_are_equal_only_with_the_same_tokens(world: World) -> None:
    """Fault: ``Chain.__eq__`` joins its conditions with ``or`` (every two chains equal)."""
    one, two = world.chain(1), world.chain(2)
    assert one == Chain(list(one.tokens))
    assert one != two
    assert one != list(one.tokens)


def test_a_chain_holds_up_to_256_tokens(world: World) -> None:
    """Fault: the token count limit of a ``Chain`` is off by one."""
    token = world.chain(1).tokens[0]
    assert len(Chain([token] * 256)) == 256
    with pytest.raises(DelegationError) as ei:
        Chain([token] * 257)
    assert (ei.value.code, ei.value.message) == ("oversized", "chain has 257 tokens, over 256")


def test_a_token_of_exactly_max_bytes_is_read(world: World) -> None:
    """Fault: the size limit of ``parse_jws`` refuses a token of exactly ``max_bytes``."""
    token = world.chain(1).tokens[0]
    assert parse_jws(token, DelegationClaims, max_bytes=len(token)).raw == token
    with pytest.raises(DelegationError) as ei:
        parse_jws(token, DelegationClaims, max_bytes=len(token) - 1)
    assert ei.value.code == "oversized"


def test_a_header_of_512_characters_is_read_and_513_is_oversized(world: World) -> None:
    """Fault: the header size limit is off by one either way."""
    rest = world.chain(1).tokens[0].split(".", 1)[1]
    with pytest.raises(DelegationError) as at_limit:
        parse_jws("A" * 512 + "." + rest, DelegationClaims)
    assert at_limit.value.code == "malformed"  # decoded (and refused as not JSON)
    with pytest.raises(DelegationError) as over:
        parse_jws("A" * 513 + "." + rest, DelegationClaims)
    assert (over.value.code, over.value.message) == (
        "oversized",
        "token header is over 512 bytes",
    )


def test_tokens_are_compact_ascii_json(world: World) -> None:
    """Fault: ``encode_jws`` writes JSON with spaces or raw non-ASCII characters."""
    chain = world.delegator(world.orch).mint(
        to=world.agents[0].agent,
        to_key=world.agents[0].public_jwk(),
        caps=[CAP],
        ttl=600,
        task="T-1",
        purpose="revue trimestrielle \u00e9t\u00e9",
    )
    payload = b64d(chain.tokens[0].split(".")[1])
    payload.decode("ascii")  # raises if a raw non-ASCII byte was written
    assert b"\\u00e9" in payload
    assert payload == json.dumps(json.loads(payload), separators=(",", ":")).encode()


def test_parse_unverified_reads_the_text_form_of_a_chain(world: World) -> None:
    """Fault: ``parse_unverified`` drops or never parses a chain given as text."""
    chain = world.chain(2)
    tokens = parse_unverified(str(chain))
    assert [t.raw for t in tokens] == list(chain.tokens)
    with pytest.raises(DelegationError) as ei:
        parse_unverified(Chain([chain.tokens[0], "a.b.c"]))
    assert (ei.value.code, ei.value.hop) == ("malformed", 1)
    assert ei.value.message.startswith("token 1 ")
