"""Every error `delegation` raises, each with a stable snake_case ``code``.

Callers need one ``except DelegationError``: third-party exceptions (pyjwt,
cryptography, pydantic, json, sqlite3) are translated at the boundary. The codes are
an API: renaming one breaks scripts that match on them (a test pins the list).

The tree::

    DelegationError
    ├── TokenRejected                 a token, chain, proof or request was refused
    │   ├── MalformedError            malformed
    │   ├── OversizedError            oversized
    │   ├── AlgNotAllowed             alg_not_allowed
    │   ├── BadHeader                 bad_header
    │   ├── WrongTokenType            wrong_token_type
    │   ├── UntrustedRoot             untrusted_root
    │   ├── BadSignature              bad_signature
    │   ├── BrokenLink                broken_link
    │   ├── KeyNotRegistered          key_not_registered
    │   ├── NotYetValid               not_yet_valid
    │   ├── Expired                   expired
    │   ├── LifetimeExceeded          lifetime_exceeded
    │   ├── ScopeEscalation           scope_escalation
    │   ├── DepthExceeded             depth_exceeded
    │   ├── TaskMismatch              task_mismatch
    │   ├── PrincipalMismatch         principal_mismatch
    │   ├── ActMismatch               act_mismatch
    │   ├── Revoked                   revoked
    │   ├── HolderMismatch            holder_mismatch
    │   ├── AudienceMismatch          audience_mismatch
    │   ├── ProofMismatch             proof_mismatch
    │   ├── ProofReplayed             proof_replayed
    │   ├── ActionNotGranted          action_not_granted
    │   ├── PolicyDenied              policy_denied
    │   ├── ReceiptMissing            receipt_missing
    │   ├── BadReceipt                bad_receipt
    │   ├── AlreadyAccepted           already_accepted
    │   └── TaskNotOpen               task_not_open
    ├── InvalidInput                  bad input that is not a token
    │   ├── InvalidKey                invalid_key
    │   ├── InvalidCapability         invalid_capability
    │   ├── InvalidRequest            invalid_request
    │   ├── InvalidRegistry           invalid_registry
    │   ├── InvalidPolicy             invalid_policy
    │   ├── InvalidAuditRecord        invalid_audit_record
    │   ├── FileError                 file_error
    │   ├── TaskUnknown               task_unknown
    │   ├── TaskAlreadyOpen           task_already_open
    │   └── TaskDeadlineTooFar        task_deadline_too_far
    ├── StoreUnavailable              store_unavailable
    ├── ConfigurationError            configuration_error
    └── InternalError                 internal_error

    SecurityWarning (a UserWarning)   allowed but risky

Three codes are outcomes, not exceptions: nothing raises them, but they appear where codes
do (audit records, the command line's JSON) and are pinned with the rest.
:func:`error_codes` maps them to ``None``; :data:`OUTCOME_CODES` says what each means::

    allowed          an audit record of a decision that allowed
    audit_tampered   ``audit verify`` / ``AuditReport.to_dict``: the hash chain is broken
    usage_error      the command line could not parse its arguments (exit 2)

Examples
--------
>>> try:
...     raise Expired("token expired", hop=2)
... except DelegationError as e:
...     (e.code, e.hop, str(e))
('expired', 2, 'token expired')
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "OUTCOME_CODES",
    "ActMismatch",
    "ActionNotGranted",
    "AlgNotAllowed",
    "AlreadyAccepted",
    "AudienceMismatch",
    "BadHeader",
    "BadReceipt",
    "BadSignature",
    "BrokenLink",
    "ConfigurationError",
    "DelegationError",
    "DepthExceeded",
    "Expired",
    "FileError",
    "HolderMismatch",
    "InternalError",
    "InvalidCapability",
    "InvalidInput",
    "InvalidKey",
    "InvalidPolicy",
    "InvalidRegistry",
    "InvalidRequest",
    "KeyNotRegistered",
    "LifetimeExceeded",
    "MalformedError",
    "NotYetValid",
    "OversizedError",
    "PolicyDenied",
    "PrincipalMismatch",
    "ProofMismatch",
    "ProofReplayed",
    "ReceiptMissing",
    "Revoked",
    "ScopeEscalation",
    "SecurityWarning",
    "StoreUnavailable",
    "TaskAlreadyOpen",
    "TaskDeadlineTooFar",
    "TaskMismatch",
    "TaskNotOpen",
    "TaskUnknown",
    "TokenRejected",
    "UntrustedRoot",
    "WrongTokenType",
    "error_codes",
]


class DelegationError(Exception):
    """Root of every error raised by `delegation`.

    Attributes: ``code`` (stable snake_case string), ``hop`` (0-based index of the token
    in the chain, ``None`` for the proof or when not about a hop), ``claim`` (the claim or
    field concerned, when one is), ``jti``.
    """

    code: ClassVar[str] = "delegation_error"

    def __init__(
        self,
        message: str,
        *,
        hop: int | None = None,
        claim: str | None = None,
        jti: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hop = hop
        self.claim = claim
        self.jti = jti

    def to_dict(self) -> dict[str, object]:
        """The error as the JSON object the CLI prints (``ok`` is always false)."""
        out: dict[str, object] = {"ok": False, "code": self.code, "message": self.message}
        if self.hop is not None:
            out["hop"] = self.hop
        if self.claim is not None:
            out["claim"] = self.claim
        return out


# --- rejections of tokens, chains, proofs and requests --- #


class TokenRejected(DelegationError):
    """A chain, token, proof or request was refused (the caller is not authorized)."""

    code = "token_rejected"


class MalformedError(TokenRejected):
    """Not well-formed: base64url, UTF-8, JSON, duplicate keys, claim types."""

    code = "malformed"


class OversizedError(TokenRejected):
    """Over a configured limit (token bytes, chain length, capabilities per token)."""

    code = "oversized"


class AlgNotAllowed(TokenRejected):
    """``alg`` outside the verifier's allow-list, or not the one pinned to the key."""

    code = "alg_not_allowed"


class BadHeader(TokenRejected):
    """A forbidden or unknown JOSE header member (``crit``, ``jku``, ``jwk``, ``x5u``...)."""

    code = "bad_header"


class WrongTokenType(TokenRejected):
    """The ``typ`` header names another kind of token (a proof used as a token...)."""

    code = "wrong_token_type"


class UntrustedRoot(TokenRejected):
    """The first token's issuer, or its signing key, is not a trusted root."""

    code = "untrusted_root"


class BadSignature(TokenRejected):
    """The signature does not verify under the key the chain says must have made it."""

    code = "bad_signature"


class BrokenLink(TokenRejected):
    """A hop does not follow from its parent (``prf``, ``iss``, duplicate ``jti``)."""

    code = "broken_link"


class KeyNotRegistered(TokenRejected):
    """A token binds a key that the registry does not list for its subject."""

    code = "key_not_registered"


class NotYetValid(TokenRejected):
    """``nbf`` or ``iat`` lies in the future (beyond the allowed clock skew)."""

    code = "not_yet_valid"


class Expired(TokenRejected):
    """``exp`` has passed (beyond the allowed clock skew)."""

    code = "expired"


class LifetimeExceeded(TokenRejected):
    """A lifetime over the maximum, or a child outliving its parent."""

    code = "lifetime_exceeded"


class ScopeEscalation(TokenRejected):
    """A hop grants what its parent does not cover (widening)."""

    code = "scope_escalation"


class DepthExceeded(TokenRejected):
    """``dpth`` not strictly decreasing, or delegation below a leaf."""

    code = "depth_exceeded"


class TaskMismatch(TokenRejected):
    """``task`` changes along the chain."""

    code = "task_mismatch"


class PrincipalMismatch(TokenRejected):
    """``obo`` changes along the chain."""

    code = "principal_mismatch"


class ActMismatch(TokenRejected):
    """``act`` does not mirror the chain's path of issuers."""

    code = "act_mismatch"


class Revoked(TokenRejected):
    """A token, ``jti``, task or key of the chain is revoked."""

    code = "revoked"


class HolderMismatch(TokenRejected):
    """The proof's ``iss`` is not the chain's final holder."""

    code = "holder_mismatch"


class AudienceMismatch(TokenRejected):
    """The proof is addressed to another verifier."""

    code = "audience_mismatch"


class ProofMismatch(TokenRejected):
    """The proof is for another chain (``chn``) or another request (``req``)."""

    code = "proof_mismatch"


class ProofReplayed(TokenRejected):
    """The proof's ``jti`` was seen before."""

    code = "proof_replayed"


class ActionNotGranted(TokenRejected):
    """The request is not allowed by the leaf's capabilities."""

    code = "action_not_granted"


class PolicyDenied(TokenRejected):
    """The verifier's own policy denied the request.

    ``explanation`` holds the policy's short lines saying why (``Decision.explanation``:
    the rules considered and the condition each missed, or the deny rule that matched);
    :meth:`to_dict` includes it when there is one.

    >>> PolicyDenied("policy denied: no rule allows it",
    ...              explanation=("reads: max_depth 3 < depth 4",)).to_dict()["explanation"]
    ['reads: max_depth 3 < depth 4']
    """

    code = "policy_denied"

    def __init__(
        self,
        message: str,
        *,
        explanation: tuple[str, ...] = (),
        hop: int | None = None,
        claim: str | None = None,
        jti: str | None = None,
    ) -> None:
        super().__init__(message, hop=hop, claim=claim, jti=jti)
        self.explanation = tuple(explanation)

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        if self.explanation:
            out["explanation"] = list(self.explanation)
        return out


class ReceiptMissing(TokenRejected):
    """A receipt is required and a hop carries none (no evidence it was re-authorized)."""

    code = "receipt_missing"


class BadReceipt(TokenRejected):
    """A hop's receipt is malformed, signed by the wrong key, or names another token."""

    code = "bad_receipt"


class AlreadyAccepted(TokenRejected):
    """This delegation (token id) was already accepted once."""

    code = "already_accepted"


class TaskNotOpen(TokenRejected):
    """The task is unknown, closed or past its deadline: nothing may be minted for it."""

    code = "task_not_open"


# --- bad input that is not a token --- #


class InvalidInput(DelegationError):
    """Input that is not a token was refused (a key, capability, request, file)."""

    code = "invalid_input"


class InvalidKey(InvalidInput):
    """A key or JWK is malformed, of an unsupported type, or has members it must not."""

    code = "invalid_key"


class InvalidCapability(InvalidInput):
    """A capability, pattern or constraint is malformed."""

    code = "invalid_capability"


class InvalidRequest(InvalidInput):
    """A request's tool, resource or arguments are malformed."""

    code = "invalid_request"


class InvalidRegistry(InvalidInput):
    """A registry file or entry is malformed."""

    code = "invalid_registry"


class InvalidPolicy(InvalidInput):
    """A policy file or policy text is malformed (the message names line and field)."""

    code = "invalid_policy"


class InvalidAuditRecord(InvalidInput):
    """A line of an audit log is not a valid record (JSON, version, event, field types)."""

    code = "invalid_audit_record"


class FileError(InvalidInput):
    """A file could not be read or written."""

    code = "file_error"


class TaskUnknown(InvalidInput):
    """The task was never opened on this store (e.g. closing it would be a no-op)."""

    code = "task_unknown"


class TaskAlreadyOpen(InvalidInput):
    """The task is open already: opening it again would silently move its deadline."""

    code = "task_already_open"


class TaskDeadlineTooFar(InvalidInput):
    """A task deadline beyond the configured maximum (``Tasks(max_ttl=...)``)."""

    code = "task_deadline_too_far"


# --- the environment --- #


class StoreUnavailable(DelegationError):
    """A revocation store, replay cache or audit sink failed; verification denies."""

    code = "store_unavailable"


class ConfigurationError(DelegationError):
    """The library was configured wrongly (not a verdict on any token)."""

    code = "configuration_error"


class InternalError(DelegationError):
    """An unexpected failure inside a check; the check denies."""

    code = "internal_error"


class SecurityWarning(UserWarning):
    """Allowed but risky: a broad capability that may still be re-delegated, and so on."""


OUTCOME_CODES: dict[str, str] = {
    "allowed": "an audit record of a decision that allowed (verify, accept)",
    "audit_tampered": "an audit log's hash chain is broken (audit verify, AuditReport)",
    "usage_error": "the command line could not parse its arguments (exit 2)",
}
"""Codes that are outcomes rather than exceptions: nothing raises them, but they appear in
audit records and the command line's JSON, so they are as stable as the error codes."""


def error_codes() -> dict[str, type[DelegationError] | None]:
    """Map every stable code to its exception class, or to ``None`` for an outcome code.

    The outcome codes (:data:`OUTCOME_CODES`: ``allowed``, ``audit_tampered``,
    ``usage_error``) are never raised, so they have no class.

    Examples
    --------
    >>> error_codes()["expired"].__name__
    'Expired'
    >>> error_codes()["allowed"] is None
    True
    """
    out: dict[str, type[DelegationError] | None] = dict.fromkeys(OUTCOME_CODES)
    todo: list[type[DelegationError]] = [DelegationError]
    while todo:
        cls = todo.pop()
        out[cls.code] = cls
        todo.extend(cls.__subclasses__())
    return dict(sorted(out.items()))
