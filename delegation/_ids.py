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

__all__ = ["check_agent_id", "new_jti"]

_AGENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[\x21-\x7e]+")


def check_agent_id(
    value: str, *, what: str = "agent id", error: type[DelegationError] = MalformedError
) -> str:
    """An agent id must be an ASCII URI (``scheme:rest``, no spaces): no homoglyphs.

    Raises ``error`` (``MalformedError`` by default; each caller names its own code).

    >>> check_agent_id("spiffe://acme.example/agent/planner")
    'spiffe://acme.example/agent/planner'
    """
    if not isinstance(value, str) or len(value) > 512 or not _AGENT_ID.fullmatch(value):
        raise error(f"{what} {value!r} is not an ASCII URI (scheme:rest, no spaces)")
    return value


def new_jti() -> str:
    """128 random bits, base64url: a token's or proof's ``jti``, a task or elevation id.

    >>> len(new_jti())
    22
    """
    return b64url_encode(secrets.token_bytes(16))
