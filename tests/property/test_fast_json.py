"""The orjson fast path and the strict JSON path agree on every input (hypothesis).

``json_object(raw, fast=True)`` keeps orjson's parse only when it re-encodes to exactly
``raw``; these properties feed both paths JSON texts built to hit the edges (duplicate
members at every depth, escapes, big numbers, floats, non-UTF-8, whitespace) and require
the same value or the same ``MalformedError`` message.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from delegation._jose import json_object
from delegation.errors import MalformedError

_keys = st.sampled_from(["a", "b", "é", "\\u0061", "\\n", 'k\\"', "\\ud800", "\U0001f600", ""])
_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1e5", "1E+2", "-0", "-0.0", "0.1", "1.0e-7", "NaN", "Infinity", "01"]),
)
_strings = st.one_of(
    st.text(max_size=6),
    st.sampled_from(['\\"', "\\/", "\\u00e9", "\\u0000", "\\ud83d\\ude00", "\\udc00", "\x7f"]),
)


def _scalar_text(x: Any) -> str:
    if isinstance(x, str) and not x.startswith("\\") and x not in ("\x7f",):
        return json.dumps(x, ensure_ascii=False)
    if isinstance(x, str) and x in (
        "1e5",
        "1E+2",
        "-0",
        "-0.0",
        "0.1",
        "1.0e-7",
        "NaN",
        "Infinity",
        "01",
    ):
        return x
    if isinstance(x, str):
        return '"' + x + '"'
    if isinstance(x, float):
        return orjson.dumps(x).decode() if x == x else "0"
    return json.dumps(x)


def _value(depth: int) -> st.SearchStrategy[str]:
    scalars = st.one_of(
        _numbers.map(_scalar_text),
        _strings.map(_scalar_text),
        st.sampled_from(["true", "false", "null"]),
    )
    if depth == 0:
        return scalars
    inner = _value(depth - 1)
    objects = st.lists(st.tuples(_keys, inner), max_size=4).map(
        lambda kv: "{" + ",".join(f'"{k}":{v}' for k, v in kv) + "}"
    )
    arrays = st.lists(inner, max_size=3).map(lambda vs: "[" + ",".join(vs) + "]")
    return st.one_of(scalars, objects, arrays)


_objects = st.lists(st.tuples(_keys, _value(3)), max_size=5).map(
    lambda kv: "{" + ",".join(f'"{k}":{v}' for k, v in kv) + "}"
)


def _outcome(raw: bytes, fast: bool) -> tuple[str, Any]:
    try:
        return "ok", json_object(raw, fast=fast)
    except MalformedError as exc:
        return "error", exc.message


def _same(raw: bytes) -> None:
    fast, strict = _outcome(raw, True), _outcome(raw, False)
    if fast[0] == "ok" and strict[0] == "ok":
        # repr compares floats bit for bit (-0.0, not 0.0) and keys in order
        assert repr(fast[1]) == repr(strict[1])
    else:
        assert fast == strict


@settings(max_examples=600, deadline=None)
@given(_objects, st.sampled_from(["", " ", "\n"]))
def test_fast_and_strict_agree_on_generated_json(text: str, pad: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    _same(raw)
    _same(raw.replace(b":", b":" + pad.encode()))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fast_and_strict_agree_on_any_bytes(raw: bytes) -> None:
    _same(raw)
    _same(b'{"a":' + raw + b"}")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=4),
        st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(max_size=4),
        max_size=4,
    )
)
def test_canonical_objects_take_the_fast_path_with_the_same_value(d: dict[str, Any]) -> None:
    raw = orjson.dumps(d)
    _same(raw)
    assert json_object(raw, fast=True) == d


def test_duplicates_at_every_depth_are_refused_by_both() -> None:
    for raw in (
        b'{"a":1,"a":1}',
        b'{"a":{"b":1,"b":1}}',
        b'{"a":[{"c":{"d":1,"d":2}}]}',
        b'{"x":1,"a":[[{"b":null,"b":null}]]}',
    ):
        assert _outcome(raw, True) == _outcome(raw, False)
        assert _outcome(raw, True)[0] == "error"


def test_deep_nesting_agrees() -> None:
    """orjson reads deeper than it writes: such input falls back (strict: malformed)."""
    for depth in (100, 1000, 2000, 200_000):
        for raw in (
            b'{"x":' + b"[" * depth + b"]" * depth + b"}",
            b'{"x":' + b'{"":' * depth + b"1" + b"}" * depth + b"}",
        ):
            _same(raw)


def test_non_utf8_and_surrogates_agree() -> None:
    for raw in (b'{"a":"\xff"}', b'{"a":"\\ud800"}', b'{"\xc3":1}', b"\xef\xbb\xbf{}"):
        _same(raw)
