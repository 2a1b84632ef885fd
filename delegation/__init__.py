"""delegation: signed, attenuated, short-lived delegation tokens for multi-agent systems.

Orchestrator code mints a token per hop, bound to the receiving agent's key and to a
task; every downstream agent re-authenticates the sender (proof of possession) and
re-authorizes the request under its own policy; every decision is recorded.

>>> from delegation import AgentKey, Capability, Delegator
>>> orch = AgentKey.generate("spiffe://acme.example/orchestrator")
>>> planner = AgentKey.generate("spiffe://acme.example/agent/planner")
>>> chain = Delegator(orch).mint(to=planner.agent, to_key=planner.public_jwk(),
...     caps=[Capability(tool="crm.read", resource="customers/**")], ttl=600, task="T-42")
>>> len(chain)
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

# Every public name is imported on first use (PEP 562), not by ``import delegation``: a
# program pays for the modules it uses (``delegation --help`` for none of the library;
# ``from delegation import Verifier`` for the verifier's). ``__all__`` is the list below.
_EXPORTS: dict[str, tuple[str, ...]] = {
    ".audit": ("AuditReport", "AuditSink", "JsonlAudit", "MemoryAudit", "read_log", "verify_log"),
    ".capabilities": ("Capability", "Constraint", "Request", "allows", "covers"),
    ".clock": ("Clock", "FixedClock", "SystemClock"),
    ".errors": (
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
        "InvalidAuditRecord",
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
        "TaskMismatch",
        "TaskNotOpen",
        "TokenRejected",
        "UntrustedRoot",
        "WrongTokenType",
        "error_codes",
    ),
    ".keys": ("AgentKey", "PublicKey", "thumbprint"),
    ".limits": ("Limits",),
    ".mint": ("Delegator",),
    ".policy": ("ChainGrantsOnly", "Decision", "Policy", "PolicyContext"),
    ".policy.cedar": ("CedarPolicy",),
    ".policy.rules": ("RulesPolicy",),
    ".registry": ("Registry",),
    ".stores": ("MemoryStore", "ReplayCache", "RevocationStore", "SQLiteStore", "open_store"),
    ".tasks": ("Elevation", "TaskInfo", "Tasks"),
    ".tokens": ("Chain", "UnverifiedToken", "parse_unverified"),
    ".verify": ("VerifiedChain", "Verifier"),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> _Any:
    if name == "__version__":  # importlib.metadata (and email parsing) only when asked
        value: _Any = _version()
    else:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'delegation' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("delegation")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "0.0.0"


if _TYPE_CHECKING:  # pragma: no cover - what mypy and IDEs see: the names, imported eagerly
    from .audit import AuditReport, AuditSink, JsonlAudit, MemoryAudit, read_log, verify_log
    from .capabilities import Capability, Constraint, Request, allows, covers
    from .clock import Clock, FixedClock, SystemClock
    from .errors import (
        ActionNotGranted,
        ActMismatch,
        AlgNotAllowed,
        AlreadyAccepted,
        AudienceMismatch,
        BadHeader,
        BadReceipt,
        BadSignature,
        BrokenLink,
        ConfigurationError,
        DelegationError,
        DepthExceeded,
        Expired,
        FileError,
        HolderMismatch,
        InternalError,
        InvalidAuditRecord,
        InvalidCapability,
        InvalidInput,
        InvalidKey,
        InvalidPolicy,
        InvalidRegistry,
        InvalidRequest,
        KeyNotRegistered,
        LifetimeExceeded,
        MalformedError,
        NotYetValid,
        OversizedError,
        PolicyDenied,
        PrincipalMismatch,
        ProofMismatch,
        ProofReplayed,
        ReceiptMissing,
        Revoked,
        ScopeEscalation,
        SecurityWarning,
        StoreUnavailable,
        TaskMismatch,
        TaskNotOpen,
        TokenRejected,
        UntrustedRoot,
        WrongTokenType,
        error_codes,
    )
    from .keys import AgentKey, PublicKey, thumbprint
    from .limits import Limits
    from .mint import Delegator
    from .policy import ChainGrantsOnly, Decision, Policy, PolicyContext
    from .policy.cedar import CedarPolicy
    from .policy.rules import RulesPolicy
    from .registry import Registry
    from .stores import MemoryStore, ReplayCache, RevocationStore, SQLiteStore, open_store
    from .tasks import Elevation, TaskInfo, Tasks
    from .tokens import Chain, UnverifiedToken, parse_unverified
    from .verify import VerifiedChain, Verifier

    __version__: str

__all__ = [
    "ActMismatch",
    "ActionNotGranted",
    "AgentKey",
    "AlgNotAllowed",
    "AlreadyAccepted",
    "AudienceMismatch",
    "AuditReport",
    "AuditSink",
    "BadHeader",
    "BadReceipt",
    "BadSignature",
    "BrokenLink",
    "Capability",
    "CedarPolicy",
    "Chain",
    "ChainGrantsOnly",
    "Clock",
    "ConfigurationError",
    "Constraint",
    "Decision",
    "DelegationError",
    "Delegator",
    "DepthExceeded",
    "Elevation",
    "Expired",
    "FileError",
    "FixedClock",
    "HolderMismatch",
    "InternalError",
    "InvalidAuditRecord",
    "InvalidCapability",
    "InvalidInput",
    "InvalidKey",
    "InvalidPolicy",
    "InvalidRegistry",
    "InvalidRequest",
    "JsonlAudit",
    "KeyNotRegistered",
    "LifetimeExceeded",
    "Limits",
    "MalformedError",
    "MemoryAudit",
    "MemoryStore",
    "NotYetValid",
    "OversizedError",
    "Policy",
    "PolicyContext",
    "PolicyDenied",
    "PrincipalMismatch",
    "ProofMismatch",
    "ProofReplayed",
    "PublicKey",
    "ReceiptMissing",
    "Registry",
    "ReplayCache",
    "Request",
    "RevocationStore",
    "Revoked",
    "RulesPolicy",
    "SQLiteStore",
    "ScopeEscalation",
    "SecurityWarning",
    "StoreUnavailable",
    "SystemClock",
    "TaskInfo",
    "TaskMismatch",
    "TaskNotOpen",
    "Tasks",
    "TokenRejected",
    "UntrustedRoot",
    "UnverifiedToken",
    "VerifiedChain",
    "Verifier",
    "WrongTokenType",
    "allows",
    "covers",
    "error_codes",
    "open_store",
    "parse_unverified",
    "read_log",
    "thumbprint",
    "verify_log",
]
