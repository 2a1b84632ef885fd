"""``encode_jws`` writes byte for byte what pyjwt writes (hypothesis).

Minting encodes tokens itself (a cached header segment, orjson for the payload when its
bytes equal ``json.dumps(..., ensure_ascii=True)``'s, libsodium or OpenSSL for the
Ed25519 signature). Ed25519 is deterministic, so the whole token must equal pyjwt's
``PyJWS.encode`` of the same payload with the same key: every payload shape, non-ASCII
and DEL characters, floats in exponent form (in capabilities, the only claims that can
carry a float), integers past 64 bits, and both backends.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation import AgentKey
from delegation.tokens import encode_jws

KEY = AgentKey.generate("spiffe://acme.example/agent/encoder")

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["\x7f", "é", "\u2028", "\x00", "a/b", '"q"', "1e5"]),
)
_no_floats = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=8),
    st.sampled_from(["\x7f", "é", "\u2028", "\x00", "a/b", '"q"', "1e5"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
_payloads = st.fixed_dictionaries(
    {"iss": st.text(max_size=10), "iat": st.integers(min_value=0, max_value=2**53)},
    optional={
        "caps": st.lists(
            st.fixed_dictionaries(
                {"tool": st.text(max_size=5)},
                optional={"constraints": st.dictionaries(st.text(max_size=4), _values, max_size=3)},
            ),
            max_size=3,
        ),
        # floats only in capabilities, as in every claim set (proofs, receipts: none)
        "extra": st.recursive(_no_floats, lambda i: st.lists(i, max_size=3), max_leaves=6),
    },
)


def _pyjwt(payload: dict[str, Any], typ: str) -> str:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return str(
        jwt.PyJWS().encode(
            body, KEY.private_key, algorithm="EdDSA", headers={"typ": typ, "kid": KEY.kid}
        )
    )


@settings(max_examples=300, deadline=None)
@given(payload=_payloads)
def test_same_bytes_as_pyjwt(payload: dict[str, Any]) -> None:
    assert encode_jws(KEY, "deleg+jwt", payload) == _pyjwt(payload, "deleg+jwt")


@settings(max_examples=100, deadline=None)
@given(value=_values)
def test_any_value_decodes_the_same(value: Any) -> None:
    """A float outside capabilities may be spelt as orjson spells it: the same value."""
    token = encode_jws(KEY, "deleg+jwt", {"extra": value})
    decoded = jwt.PyJWS().decode(token, KEY.private_key.public_key(), algorithms=["EdDSA"])
    assert json.loads(decoded) == {"extra": value}


@pytest.mark.parametrize("backend", ["nacl", "cryptography"])
def test_backends_sign_alike(backend: str) -> None:
    data = b"header.payload" * 50
    assert KEY.sign(data, backend=backend) == KEY.private_key.sign(data)  # type: ignore[arg-type]
    assert KEY.public.verify(KEY.sign(data, backend=backend), data)
