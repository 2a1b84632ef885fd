"""``Delegator.delegate`` skips validating claims it knows are valid: the verdicts stay
those of ``DelegationClaims`` (hypothesis).

A delegated hop's task, obo and act come from the parent's validated claims, its ids
from the library; only ``pur`` and ``rcpt`` (the caller's) and the signer's id and dates
are checked by ``mint._known_valid``. Whatever they are, ``delegate`` must accept exactly
the hops ``DelegationClaims`` accepts, with its message when it refuses one.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from support import NARROW, World

from delegation import Chain, InvalidInput, OversizedError, parse_unverified
from delegation._jose import b64url_decode, json_object
from delegation.mint import _known_valid
from delegation.tokens import DelegationClaims

WORLD = World()
PARENT = WORLD.chain(1)
BASE = WORLD.delegator(WORLD.agents[0]).delegate(
    PARENT, to=WORLD.agents[1].agent, to_key=WORLD.agents[1].public_jwk(), caps=[NARROW], ttl=60
)

_values = st.one_of(
    st.none(),
    st.text(max_size=1100),
    st.text(min_size=1020, max_size=1030),
    st.integers(),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.text(max_size=3), max_size=2),
)


def _expected(pur: Any, rcpt: Any) -> str | None:
    """None when DelegationClaims accepts the hop with these values, else its message."""
    payload = json_object(b64url_decode(BASE.tokens[-1].split(".")[1]))
    for name, value in (("pur", pur), ("rcpt", rcpt)):
        if value is not None:
            payload[name] = value
    try:
        DelegationClaims.model_validate(payload)
    except ValidationError as exc:
        return f"cannot mint: {exc.errors()[0]['msg']}"
    return None


@settings(max_examples=200, deadline=None)
@given(pur=_values, rcpt=_values)
def test_delegate_accepts_exactly_what_the_claims_model_accepts(pur: Any, rcpt: Any) -> None:
    expected = _expected(pur, rcpt)
    to = WORLD.agents[1]

    def delegate() -> Chain:
        return WORLD.delegator(WORLD.agents[0]).delegate(
            PARENT, to=to.agent, to_key=to.public_jwk(), caps=[NARROW], ttl=60,
            purpose=pur, receipt=rcpt,
        )  # fmt: skip

    if expected is not None:
        with pytest.raises(InvalidInput) as refused:
            delegate()
        assert refused.value.message == expected
        return
    try:
        chain = delegate()
    except OversizedError:  # valid claims, but escaped text can outgrow the token limit
        return
    claims = parse_unverified(chain)[-1].claims
    assert (claims.pur, claims.rcpt) == (pur, rcpt)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({}, True),
        ({"iat": -1}, False),
        ({"exp": 2**53 + 1}, False),
        ({"exp": 2**53}, True),
        ({"iss": "no scheme"}, False),
        ({"iss": "x:" + "a" * 511}, False),
        ({"sub": "spiffe://acme.example/é"}, False),
        ({"pur": "p" * 1025}, False),
        ({"pur": "p" * 1024}, True),
        ({"rcpt": 5}, False),
    ],
)
def test_known_valid_says_no_when_the_model_would(change: dict[str, Any], valid: bool) -> None:
    """Each value the fast path checks, on both sides of the model's limit."""
    payload = json_object(b64url_decode(BASE.tokens[-1].split(".")[1]))
    caps = list(parse_unverified(BASE)[-1].claims.caps)
    payload.update(change)
    assert _known_valid(payload, caps) is valid
    try:
        DelegationClaims.model_validate(payload)
    except ValidationError:
        assert not valid
    else:
        assert valid
    assert not _known_valid(payload, [])  # a hop grants at least one capability
