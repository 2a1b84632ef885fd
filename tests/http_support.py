"""Helpers for the HTTP tests: the extras they need, and real uvicorn servers on loopback.

``require_http()`` skips a test when the ``http`` extra (or ``mcp``) is missing, except
under ``CI=true`` where it fails: the CI script installs the ``dev`` extra, which holds
them. ``serving(app)`` runs uvicorn in a thread on 127.0.0.1, on a port the kernel picks,
and stops it (bounded in time) when the block ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support import unavailable

from delegation import (
    AgentKey,
    Capability,
    Chain,
    ChainGrantsOnly,
    Delegator,
    MemoryAudit,
    MemoryStore,
    Registry,
    Verifier,
)
from delegation.cli.demo import HTTP_EXTRA, http_missing

ORG = "spiffe://acme.example"
TOOL_AUD = f"{ORG}/tool/crm"
START_WITHIN = 10.0  # seconds for a server to start or stop


def require(*modules: str) -> None:
    """Import ``modules``; skip (under CI=true: fail) if one is missing."""
    missing = http_missing(modules)
    if missing:
        reason = f"the HTTP tests need {', '.join(missing)} (pip install -e '.[dev]')"
        unavailable(reason)


def require_http() -> None:
    require(*HTTP_EXTRA)


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1:<ephemeral>; yield its base URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="auto", **config
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_WITHIN
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("uvicorn did not start", pytrace=False)
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_WITHIN)
        assert not thread.is_alive(), "uvicorn did not stop"


class Fleet:
    """An orchestrator, a caller agent and a CRM tool server's verifier, on the real clock."""

    def __init__(self, *, store: Any = None) -> None:
        self.orch = AgentKey.generate(f"{ORG}/orchestrator")
        self.agent = AgentKey.generate(f"{ORG}/agent/researcher")
        self.other = AgentKey.generate(f"{ORG}/agent/intruder")
        self.registry = Registry()
        self.registry.add_root(self.orch.agent, self.orch.public_jwk())
        for key in (self.agent, self.other):
            self.registry.add_agent(key.agent, key.public_jwk())
        self.store = store if store is not None else MemoryStore()
        self.audit = MemoryAudit()

    def chain(self, *caps: Capability, ttl: int = 600, holder: AgentKey | None = None) -> Chain:
        holder = holder or self.agent
        grants = list(caps) or [
            Capability(
                tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 50}}
            )
        ]
        return Delegator(self.orch).mint(
            to=holder.agent, to_key=holder.public_jwk(), caps=grants, ttl=ttl, task="T-42"
        )

    def verifier(self, **kw: Any) -> Verifier:
        kw.setdefault("policy", ChainGrantsOnly())
        return Verifier(
            registry=self.registry,
            audience=TOOL_AUD,
            revocations=self.store,
            replay=self.store,
            audit=self.audit,
            **kw,
        )
