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

from importlib.metadata import PackageNotFoundError, version

from .audit import AuditReport, AuditSink, JsonlAudit, MemoryAudit, read_log, verify_log
from .capabilities import Capability, Constraint, Request, allows, covers
from .clock import Clock, FixedClock, SystemClock
from .errors import *  # noqa: F403 - the error tree is part of the API
from .errors import __all__ as _error_names
from .keys import AgentKey, PublicKey, thumbprint
from .limits import Limits
from .mint import Delegator
from .policy import ChainGrantsOnly, Decision, Policy, PolicyContext
from .registry import Registry
from .stores import MemoryStore, ReplayCache, RevocationStore, SQLiteStore, open_store
from .tokens import Chain, UnverifiedToken, parse_unverified
from .verify import VerifiedChain, Verifier

try:
    __version__ = version("delegation")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = sorted(  # noqa: PLE0605
    [
        "AgentKey",
        "AuditReport",
        "AuditSink",
        "Capability",
        "Chain",
        "ChainGrantsOnly",
        "Clock",
        "Constraint",
        "Decision",
        "Delegator",
        "FixedClock",
        "JsonlAudit",
        "Limits",
        "MemoryAudit",
        "MemoryStore",
        "Policy",
        "PolicyContext",
        "PublicKey",
        "Registry",
        "ReplayCache",
        "Request",
        "RevocationStore",
        "SQLiteStore",
        "SystemClock",
        "UnverifiedToken",
        "VerifiedChain",
        "Verifier",
        "allows",
        "covers",
        "open_store",
        "parse_unverified",
        "read_log",
        "thumbprint",
        "verify_log",
        *_error_names,
    ],
    key=str.casefold,
)
