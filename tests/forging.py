"""Forging helpers for tests: decode, mutate and re-sign compact JWS by hand.

The one place tests build raw tokens without the library (adversarial cases, graph
scenarios with planted problems).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from delegation import AgentKey

__all__ = [
    "DROP",
    "Signer",
    "b64d",
    "b64e",
    "decode",
    "forge",
    "jbytes",
    "payload_bytes",
    "token_id",
]

DROP: Final = object()  # a forge() update value that deletes the member

Signer = AgentKey | Callable[[bytes], bytes]


def b64e(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jbytes(value: object) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def decode(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Header, payload and raw signature of a compact JWS (no checks)."""
    h64, p64, s64 = token.split(".")
    return json.loads(b64d(h64)), json.loads(b64d(p64)), b64d(s64)


def _apply(target: dict[str, Any], updates: Mapping[str, object] | None) -> None:
    for name, value in (updates or {}).items():
        if value is DROP:
            target.pop(name, None)
        else:
            target[name] = value


def forge(
    token: str,
    *,
    signer: Signer | None = None,
    header: Mapping[str, object] | None = None,
    claims: Mapping[str, object] | None = None,
    raw_header: bytes | None = None,
    raw_payload: bytes | None = None,
) -> str:
    """Mutate a compact JWS; re-sign it with ``signer`` or keep the old signature."""
    h64, p64, s64 = token.split(".")
    head, body = json.loads(b64d(h64)), json.loads(b64d(p64))
    _apply(head, header)
    _apply(body, claims)
    new_h = b64e(raw_header if raw_header is not None else jbytes(head))
    new_p = b64e(raw_payload if raw_payload is not None else jbytes(body))
    signing_input = f"{new_h}.{new_p}".encode("ascii")
    if signer is None:
        sig = s64
    elif isinstance(signer, AgentKey):
        sig = b64e(signer.sign(signing_input))
    else:
        sig = b64e(signer(signing_input))
    return f"{new_h}.{new_p}.{sig}"


def payload_bytes(token: str) -> bytes:
    """The raw payload bytes of a compact JWS."""
    return b64d(token.split(".")[1])


def token_id(token: str) -> str:
    """The token id: base64url(SHA-256(header.payload)), computed independently."""
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    return b64e(hashlib.sha256(signing_input).digest())
