"""Error code -> HTTP status, and the RFC 9457 ``application/problem+json`` body.

One table, :data:`STATUS`, decides the status of every stable error code:

* **401** authentication: the chain or proof is not genuine, not fresh, not this
  holder's, not for this audience or request, or replayed (steps 1-5 and 8);
* **403** authorization: attenuation (step 6), revocation (step 7), the request not
  granted by the chain, the verifier's policy (step 9), a missing re-authorization;
* **400** input that is not a token (a request the route map cannot read);
* **503** a store is unavailable (with ``Retry-After``; the request was still denied);
* **500** the server is misconfigured or a check failed unexpectedly (denied too).

A body over the route's limit is answered **413** by the middleware itself (code
``oversized``), before the verifier runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from ..errors import DelegationError, error_codes

__all__ = ["PROBLEM_JSON", "STATUS", "problem", "status_for"]

PROBLEM_JSON = "application/problem+json"

_401 = (
    "token_rejected malformed oversized alg_not_allowed bad_header wrong_token_type "
    "untrusted_root bad_signature broken_link key_not_registered not_yet_valid expired "
    "lifetime_exceeded holder_mismatch audience_mismatch proof_mismatch proof_replayed "
    "bad_receipt"
)
_403 = (
    "scope_escalation depth_exceeded task_mismatch principal_mismatch act_mismatch revoked "
    "action_not_granted policy_denied receipt_missing already_accepted task_not_open"
)
_400 = (
    "invalid_input invalid_key invalid_capability invalid_request invalid_registry "
    "invalid_policy invalid_audit_record file_error task_unknown task_already_open "
    "task_deadline_too_far"
)
_500 = "delegation_error configuration_error internal_error"

STATUS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(_401.split(), 401),
        **dict.fromkeys(_403.split(), 403),
        **dict.fromkeys(_400.split(), 400),
        **dict.fromkeys(_500.split(), 500),
        "store_unavailable": 503,
    }
)
"""Every stable error code's HTTP status (a test checks none is missing)."""


def status_for(code: str) -> int:
    """The HTTP status of error ``code``; an unknown code is a denial the server did not
    expect (500), never an allow.

    >>> status_for("proof_replayed"), status_for("policy_denied"), status_for("store_unavailable")
    (401, 403, 503)
    """
    return STATUS.get(code, 500)


def _title(code: str) -> str:
    cls = error_codes().get(code)
    doc = (cls.__doc__ or "").strip().splitlines() if cls is not None else []
    return doc[0].replace("``", "") if doc else code.replace("_", " ")


def problem(
    exc: DelegationError, *, status: int | None = None, retry_after: int = 1
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and RFC 9457 body answering a request denied by ``exc``.

    The body's ``code`` is the stable error code (``hop`` and ``claim`` when known).

    >>> from delegation import ProofReplayed
    >>> status, headers, body = problem(ProofReplayed("seen before"))
    >>> status, json.loads(body)["code"], (b"www-authenticate", b"Delegation") in headers
    (401, 'proof_replayed', True)
    """
    status = status if status is not None else status_for(exc.code)
    body: dict[str, object] = {
        "type": f"urn:delegation:error:{exc.code}",
        "title": _title(exc.code),
        "status": status,
        "detail": exc.message,
        "code": exc.code,
    }
    if exc.hop is not None:
        body["hop"] = exc.hop
    if exc.claim is not None:
        body["claim"] = exc.claim
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(raw)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Delegation"))
    if status == 503:
        headers.append((b"retry-after", str(retry_after).encode()))
    if status == 413:
        headers.append((b"connection", b"close"))
    return status, headers, raw
