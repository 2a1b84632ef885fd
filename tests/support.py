"""Shared test world: fixed keys' owners, a fixed clock, and a chain builder.

Import it as ``from support import World`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NoReturn

import pytest

from delegation import (
    AgentKey,
    Capability,
    Chain,
    ChainGrantsOnly,
    Delegator,
    FixedClock,
    MemoryAudit,
    MemoryStore,
    Registry,
    Request,
    Verifier,
)
from delegation.policy import Decision, PolicyContext

T0 = 1_800_000_000  # a fixed "now" for every test (2027-01-15)
ORG = "spiffe://acme.example"
TOOL_AUD = f"{ORG}/tool/crm"
CAP = Capability(tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 100}})
NARROW = Capability(
    tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 50}}
)
REQ = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10})


@dataclass
class World:
    """An orchestrator and ``n`` agents, all registered, on a fixed clock.

    ``world.chain(hops)`` builds a valid chain of ``hops`` tokens (root first) handing
    ``CAP`` then ``NARROW`` down the agents; ``world.prove(chain)`` a proof for ``REQ``.
    """

    n: int = 6
    alg: str = "EdDSA"
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    store: MemoryStore = field(default_factory=MemoryStore)
    audit: MemoryAudit = field(default_factory=MemoryAudit)

    def __post_init__(self) -> None:
        self.orch = AgentKey.generate(f"{ORG}/orchestrator", alg=self.alg)  # type: ignore[arg-type]
        self.agents = [
            AgentKey.generate(f"{ORG}/agent/a{i}", alg=self.alg)  # type: ignore[arg-type]
            for i in range(self.n)
        ]
        self.registry = Registry()
        self.registry.add_root(self.orch.agent, self.orch.public_jwk())
        for a in self.agents:
            self.registry.add_agent(a.agent, a.public_jwk(), baseline=[CAP])

    def delegator(self, key: AgentKey) -> Delegator:
        return Delegator(key, clock=self.clock)

    def chain(
        self, hops: int = 3, *, ttl: int = 600, task: str = "T-42", obo: str | None = "user:alice"
    ) -> Chain:
        """A valid chain: orch -> a0 -> a1 -> ... (``hops`` tokens); holder agents[hops-1]."""
        chain = self.delegator(self.orch).mint(
            to=self.agents[0].agent,
            to_key=self.agents[0].public_jwk(),
            caps=[CAP],
            ttl=ttl,
            depth=hops + 2,
            task=task,
            obo=obo,
        )
        for i in range(1, hops):
            chain = self.delegator(self.agents[i - 1]).delegate(
                chain,
                to=self.agents[i].agent,
                to_key=self.agents[i].public_jwk(),
                caps=[NARROW],
                ttl=ttl - i,
            )
        return chain

    def holder(self, chain: Chain) -> AgentKey:
        return self.agents[len(chain) - 1]

    def prove(
        self,
        chain: Chain,
        *,
        request: Request = REQ,
        aud: str = TOOL_AUD,
        key: AgentKey | None = None,
        **kw: Any,
    ) -> str:
        return self.delegator(key or self.holder(chain)).prove(
            chain, aud=aud, tool=request.tool, resource=request.resource, args=request.args, **kw
        )

    def verifier(self, **kw: Any) -> Verifier:
        kw.setdefault("registry", self.registry)
        kw.setdefault("audience", TOOL_AUD)
        kw.setdefault("policy", ChainGrantsOnly())
        kw.setdefault("revocations", self.store)
        kw.setdefault("replay", self.store)
        kw.setdefault("audit", self.audit)
        kw.setdefault("clock", self.clock)
        # scripts/check runs the adversarial, property and vector suites with the cache off too
        kw.setdefault("token_cache", int(os.environ.get("DELEGATION_TOKEN_CACHE", "4096")))
        # ... and with signatures checked on a worker pool (DELEGATION_WORKERS=2)
        kw.setdefault("workers", int(os.environ.get("DELEGATION_WORKERS", "1")))
        return Verifier(**kw)


@dataclass
class Recorder:
    """A policy that gives one ``decision`` and keeps every context it is asked about."""

    decision: Decision
    digest: str = "recorder"
    seen: list[PolicyContext] = field(default_factory=list)

    def decide(self, context: PolicyContext) -> Decision:
        self.seen.append(context)
        return self.decision


def one_hop_context(request: Request, *, holder: str, root: str, **more: Any) -> PolicyContext:
    """The policy context of ``request`` made by ``holder``, one hop below ``root``, in
    task T-1 at time 0 (``more`` overrides or adds fields)."""
    fields: dict[str, Any] = {
        "holder": holder,
        "request": request,
        "path": (root, holder),
        "root": root,
        "depth": 1,
        "remaining_depth": 0,
        "task": "T-1",
        "obo": None,
        "purpose": None,
        "capabilities": (),
        "time": 0.0,
    }
    return PolicyContext(**{**fields, **more})


def require_optional(module: str, install: str) -> ModuleType:
    """Import an optional dependency for a test module: skip without it, but under
    ``CI=true`` fail, so a CI image that lost the extra cannot turn its tests into skips
    (the Redis tests do the same, tests/integration/conftest.py).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        unavailable(f"these tests need {module} ({install})", module_level=True)


def require_all(who: str, needs: dict[str, bool]) -> None:
    """``unavailable`` unless every need (description -> present) is met; the reason names
    all the missing ones: ``require_all("the browser test", {"playwright (...)": False})``."""
    missing = [need for need, present in needs.items() if not present]
    if missing:
        unavailable(f"{who} needs " + " and ".join(missing))


def importable(module: str) -> bool:
    """True when ``module`` is installed (found, not imported)."""
    return importlib.util.find_spec(module) is not None


def unavailable(reason: str, *, module_level: bool = False) -> NoReturn:
    """A service or package a test needs is missing: skip locally, fail under ``CI=true``
    (a CI image that lost an install step must not turn tests into skips)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run must install it", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)  # outside CI only: CI fails above
