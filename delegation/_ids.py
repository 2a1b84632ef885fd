"""Identifiers every layer needs: checking agent ids, making random token ids (glue, not API).

Kept below ``keys``, ``tokens``, ``tasks`` and ``mint`` so that none of them has to import
another for these helpers (which made import cycles: ``mint`` <-> ``tasks``, ``keys`` ->
``tokens``).
"""

from __future__ import annotations

import re
import secrets

from ._jose import b64url_encode
from .errors import DelegationError, MalformedError

__all__ = ["check_agent_id", "is_agent_id", "new_jti"]

_AGENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[\x21-\x7e]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def check_agent_id(
    value: str, *, what: str = "agent id", error: type[DelegationError] = MalformedError
) -> str:
    """An agent id must be an ASCII URI (``scheme:rest``, no spaces): no homoglyphs.

    Raises ``error`` (``MalformedError`` by default; each caller names its own code).

    >>> check_agent_id("spiffe://acme.example/agent/planner")
    'spiffe://acme.example/agent/planner'
    """
    if not isinstance(value, str) or len(value) > 512 or not _AGENT_ID.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:60]}...'"
        raise error(f"{what} {shown} is not an ASCII URI (scheme:rest, no spaces): {_why(value)}")
    return value


def is_agent_id(value: object) -> bool:
    """Whether :func:`check_agent_id` would accept ``value`` (a plain ``str``), without raising.

    >>> is_agent_id("spiffe://acme.example/agent/a"), is_agent_id("no scheme")
    (True, False)
    """
    return type(value) is str and len(value) <= 512 and _AGENT_ID.fullmatch(value) is not None


def _why(value: object) -> str:
    # Only on failure: name the first thing wrong, so that the fix is obvious.
    if not isinstance(value, str):
        return f"it is not a string but {type(value).__name__}"
    if len(value) > 512:
        return f"it is {len(value)} characters long, over 512"
    for i, ch in enumerate(value):
        if not ch.isascii():
            return (
                f"{ch!r} (U+{ord(ch):04X}) at position {i} is not ASCII; agent ids are ASCII "
                "so that a look-alike letter cannot pass for another agent"
            )
        if not ch.isprintable() or ch.isspace():
            return f"{ch!r} at position {i} is a space or control character"
    if _SCHEME.match(value):
        return "nothing follows the scheme's ':'"
    return "it needs a scheme (a letter, then letters, digits, '+', '-' or '.') and ':'"


def new_jti() -> str:
    """128 random bits, base64url: a token's or proof's ``jti``, a task or elevation id.

    >>> len(new_jti())
    22
    """
    return b64url_encode(secrets.token_bytes(16))
