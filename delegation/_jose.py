"""Strict, lean readers for compact JWS pieces (glue, not API).

Verification parses every token once with these: base64url must be canonical (no
padding, no stray bits, so one token has exactly one spelling), JSON must be a UTF-8
object with no duplicate member names and no NaN/Infinity. Encoding goes through pyjwt.

JSON fast path: orjson parses, and its result is accepted only when re-encoding it gives
back exactly the input bytes. A dropped duplicate member, whitespace, an escape orjson
would not write, a number outside its range, NaN: none can re-encode to the same bytes,
so every such input falls back to the strict stdlib path and gets its verdict and message
from there; the two paths agree on every input (a hypothesis test checks it). Input with
more than 256 opening brackets never reaches orjson (it crashes on very deep nesting). Set
``DELEGATION_FAST_JSON=0`` in the environment before import to force the strict path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

import orjson
import rfc8785

from .errors import InvalidRequest, MalformedError

__all__ = [
    "STRICT_JSON",
    "args_digest",
    "b64url_decode",
    "b64url_encode",
    "json_object",
    "plain_json",
    "split_compact",
    "token_id_of",
]


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url text of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Low bits of the last character that carry no data, by len % 4; they must be zero.
_SPARE_BITS = {2: 0x0F, 3: 0x03}


def b64url_decode(text: str, *, what: str = "segment") -> bytes:
    """Decode unpadded, canonical base64url; anything else is ``malformed``.

    >>> b64url_decode("AQ")
    b'\\x01'
    >>> b64url_decode("AR", what="x")
    Traceback (most recent call last):
    ...
    delegation.errors.MalformedError: x is not canonical base64url
    """
    rem = len(text) % 4
    if rem == 1:
        raise MalformedError(f"{what} is not unpadded base64url")
    # One translation: -_ become +/, and the standard alphabet's own specials (+ / =)
    # become "!", which strict a2b_base64 refuses like anything else outside the alphabet.
    try:
        raw = binascii.a2b_base64(
            text.encode("ascii").translate(_TO_STANDARD) + b"=" * (-rem % 4), strict_mode=True
        )
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedError(f"{what} is not unpadded base64url") from None
    # Unused low bits in the last character would give one value several spellings.
    if rem and _ALPHABET.index(text[-1]) & _SPARE_BITS[rem]:
        raise MalformedError(f"{what} is not canonical base64url")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise MalformedError(f"duplicate JSON member {dup!r}: an object repeats it")
    return out


def _no_constant(name: str) -> Any:
    raise MalformedError(f"{name} is not JSON")


# The one strict JSON decoder (no repeated members, no NaN/Infinity): tokens, HTTP bodies
# and policy files. A repeat or a constant raises MalformedError; bad syntax, ValueError.
STRICT_JSON = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


FAST_JSON = os.environ.get("DELEGATION_FAST_JSON", "1") != "0"
_ORJSON_ERROR = orjson.JSONDecodeError
_loads, _dumps = orjson.loads, orjson.dumps
_FAST_MAX_BRACKETS = 256  # nesting depth <= the number of opening brackets


def json_object(raw: bytes, *, what: str = "JSON", fast: bool = FAST_JSON) -> dict[str, Any]:
    """Parse ``raw`` as a strict UTF-8 JSON object (no duplicate names, no NaN).

    ``fast``: try orjson first, keeping its result only when it re-encodes to exactly
    ``raw`` (module docstring); the verdict is the strict path's either way.

    >>> json_object(b'{"a": 1, "a": 2}')
    Traceback (most recent call last):
    ...
    delegation.errors.MalformedError: JSON: duplicate JSON member 'a': an object repeats it
    >>> json_object(b'{"a":1}') == json_object(b'{"a": 1}', fast=False) == {"a": 1}
    True
    """
    # orjson (3.8) recurses without a limit while reading and crashes the process on
    # input nested some 10^5 deep: only input with few brackets, so shallow, may take it.
    if fast and raw.count(b"[") + raw.count(b"{") <= _FAST_MAX_BRACKETS:
        try:
            value = _loads(raw)
            if type(value) is dict and _dumps(value) == raw:
                return value
        except (_ORJSON_ERROR, orjson.JSONEncodeError):  # e.g. nested deeper than dumps goes
            pass
    return _strict_object(raw, what)


def _strict_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = STRICT_JSON.decode(raw.decode("utf-8"))
    except MalformedError as exc:
        raise MalformedError(f"{what}: {exc}") from None
    except UnicodeDecodeError:
        raise MalformedError(f"{what} is not UTF-8") from None
    except RecursionError:
        raise MalformedError(f"{what} is nested too deeply") from None
    except ValueError as exc:
        raise MalformedError(f"{what} is not JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(value, dict):
        raise MalformedError(f"{what} is not a JSON object")
    return value


def split_compact(token: str, *, what: str = "token") -> tuple[str, str, str]:
    """Split a compact JWS into its three base64url parts."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise MalformedError(f"{what} is not a compact JWS (header.payload.signature)")
    return parts[0], parts[1], parts[2]


def token_id_of(signing_input: bytes) -> str:
    """Token id: base64url(SHA-256(header.payload)); the signature is left out on purpose."""
    return b64url_encode(hashlib.sha256(signing_input).digest())


_MAX_SAFE = 2**53 - 1  # rfc8785 refuses integers past +-(2**53 - 1) (I-JSON's safe range)
_SORTED = orjson.OPT_SORT_KEYS


def plain_json(value: object, *, ascii_keys: bool = False, max_int: int | None = None) -> bool:
    """Whether ``value`` holds only str-keyed objects, lists, strings, ints, bools, null
    (with ``ascii_keys``, ASCII member names only; with ``max_int``, integers within it).

    >>> plain_json({"a": [1, "x", None]}), plain_json({"a": 1.5})
    (True, False)
    >>> plain_json({"é": 1}, ascii_keys=True), plain_json(2**60, max_int=2**53)
    (False, False)
    """
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            for k in v:  # type: ignore[attr-defined]
                if type(k) is not str or (ascii_keys and not k.isascii()):
                    return False
            stack.extend(v.values())  # type: ignore[attr-defined]
        elif t is list:
            stack.extend(v)  # type: ignore[arg-type]
        elif t is int:
            if max_int is not None and not -max_int <= v <= max_int:  # type: ignore[operator]
                return False
        elif t is not str and t is not bool and v is not None:
            return False
    return True


def _canonical_simple(value: object) -> bytes | None:
    """RFC 8785 of ``value`` by orjson, when they write the same bytes, else None.

    They do for objects with ASCII member names (sorted alike: by UTF-16 code units, by
    bytes), strings (the same escapes: ``\\b \\t \\n \\f \\r``, other controls as
    lowercase ``\\u00xx``, the rest as UTF-8), integers within 2**53 - 1, booleans and null.
    Floats (spelt differently), longer integers, lone surrogates and any other type go
    through ``rfc8785``; a hypothesis test holds the two to the same bytes.
    """
    if not plain_json(value, ascii_keys=True, max_int=_MAX_SAFE):
        return None
    try:
        return _dumps(value, option=_SORTED)
    except orjson.JSONEncodeError:  # a lone surrogate, nesting orjson will not write
        return None


def args_digest(args: dict[str, Any] | None) -> str:
    """base64url SHA-256 of the RFC 8785 canonical JSON of ``args`` (``{}`` when None).

    >>> args_digest({}) == args_digest(None)
    True
    """
    canonical = _canonical_simple(args or {})
    if canonical is not None:
        return b64url_encode(hashlib.sha256(canonical).digest())
    try:
        canonical = rfc8785.dumps(args or {})
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidRequest(f"request arguments are not canonical JSON: {exc}") from None
    return b64url_encode(hashlib.sha256(canonical).digest())
