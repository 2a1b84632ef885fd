"""The argument digest's orjson path writes exactly what ``rfc8785`` writes (hypothesis).

``args_digest`` canonicalises simple arguments (ASCII member names, strings, integers
in the safe range, booleans, null) with orjson and everything else with ``rfc8785``;
here both must give the same bytes on every JSON value, or refuse the same values.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation._jose import _canonical_simple, args_digest, b64url_encode
from delegation.errors import InvalidRequest

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**54), max_value=2**54),
    st.sampled_from([2**53 - 1, 2**53, -(2**53) + 1, -(2**53), 0, -1]),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.sampled_from(["\x00", "\x1b", "\x7f", "é", "\u2028", "\ud800", "\U0001f600", '"\\/']),
)
_keys = st.one_of(st.text(max_size=4), st.sampled_from(["a", "B", "é", "\ue000", "\U0001f600"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=15,
)


def _reference(value: Any) -> bytes | None:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return None


@settings(max_examples=500, deadline=None)
@given(args=st.dictionaries(_keys, _values, max_size=5))
def test_orjson_path_writes_rfc8785(args: dict[str, Any]) -> None:
    fast = _canonical_simple(args)
    reference = _reference(args)
    if fast is not None:
        assert fast == reference
    if reference is None:
        try:
            args_digest(args)
        except InvalidRequest:
            return
        raise AssertionError("args_digest accepted what rfc8785 refuses")
    assert args_digest(args) == b64url_encode(hashlib.sha256(reference).digest())
