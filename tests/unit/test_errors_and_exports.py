from __future__ import annotations

import delegation
from delegation import DelegationError, error_codes
from delegation.errors import TokenRejected

PINNED_CODES = [
    "act_mismatch",
    "action_not_granted",
    "alg_not_allowed",
    "allowed",
    "already_accepted",
    "audience_mismatch",
    "audit_tampered",
    "bad_header",
    "bad_receipt",
    "bad_signature",
    "broken_link",
    "configuration_error",
    "delegation_error",
    "depth_exceeded",
    "expired",
    "file_error",
    "holder_mismatch",
    "internal_error",
    "invalid_audit_record",
    "invalid_capability",
    "invalid_input",
    "invalid_key",
    "invalid_policy",
    "invalid_registry",
    "invalid_request",
    "key_not_registered",
    "lifetime_exceeded",
    "malformed",
    "not_yet_valid",
    "oversized",
    "policy_denied",
    "principal_mismatch",
    "proof_mismatch",
    "proof_replayed",
    "receipt_missing",
    "revoked",
    "scope_escalation",
    "store_unavailable",
    "task_already_open",
    "task_deadline_too_far",
    "task_mismatch",
    "task_not_open",
    "task_unknown",
    "token_rejected",
    "untrusted_root",
    "usage_error",
    "wrong_token_type",
]

OUTCOMES = {"allowed", "audit_tampered", "usage_error"}  # codes that no exception carries


def test_error_codes_are_pinned() -> None:
    """Renaming or dropping a code is an API break: the list is pinned here."""
    assert list(error_codes()) == PINNED_CODES


def test_every_code_is_unique_snake_case() -> None:
    """Each class has its own snake_case code."""
    codes = error_codes()
    classes = [c for c in codes.values() if c is not None]
    assert len({c.code for c in classes}) == len(classes)
    assert {code for code, c in codes.items() if c is None} == OUTCOMES
    assert all(c.code == code for code, c in codes.items() if c is not None)
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_error_carries_context_and_json() -> None:
    """Errors keep hop/claim context and render as the CLI's JSON object."""
    err = delegation.Expired("token 2 expired", hop=2, claim="exp")
    assert isinstance(err, TokenRejected)
    assert err.to_dict() == {
        "ok": False,
        "code": "expired",
        "message": "token 2 expired",
        "hop": 2,
        "claim": "exp",
    }


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists exactly the public names of the package (as httpx checks)."""
    public = sorted(
        {
            n
            for n in vars(delegation)
            if not n.startswith("_") and not isinstance(getattr(delegation, n), type(delegation))
        }
        | set(delegation._LAZY),  # imported on first use (test_import_time.py)
        key=str.casefold,
    )
    assert len(delegation.__all__) == len(set(delegation.__all__))  # ruff RUF022 keeps it sorted
    assert set(delegation.__all__) == set(public) - {"annotations"}


def test_design_api_names_exist() -> None:
    """The names DESIGN.md promises are importable from the package root."""
    for name in [
        "AgentKey",
        "Registry",
        "Capability",
        "Delegator",
        "Verifier",
        "Request",
        "Chain",
        "VerifiedChain",
        "DelegationError",
        "ChainGrantsOnly",
        "parse_unverified",
    ]:
        assert name in delegation.__all__
    assert issubclass(delegation.DelegationError, Exception)
    assert DelegationError.code == "delegation_error"


def test_version_matches_metadata() -> None:
    """__version__ comes from the installed metadata."""
    from importlib.metadata import version

    assert delegation.__version__ == version("delegation")
