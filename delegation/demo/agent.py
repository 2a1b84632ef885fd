"""One agent of the multi-process demo, as its own process: ``python -m delegation.demo.agent``.

    python -m delegation.demo.agent ROLE DIR FD PARENT

``ROLE`` is ``orchestrator``, ``planner``, ``researcher`` or ``tool``; ``DIR`` the demo's
directory (its key, the registry, its rules file, the shared SQLite store and audit log,
``agents.json`` with everyone's address); ``FD`` the listening socket the demo opened for
it; ``PARENT`` the demo's pid (the agent exits when it is gone). Every agent is a
Starlette app served by uvicorn, built on :mod:`delegation.http`:

* the planner and the researcher accept delegations at ``POST /delegations``
  (:func:`~delegation.http.accept_endpoint`, under their own rules file, receipt back) and
  take instructions at ``POST /run``; the researcher calls the tool with
  :class:`~delegation.http.DelegationAuth` (a fresh proof per request);
* the CRM tool serves ``POST /customers/{region}/{id}`` behind
  :class:`~delegation.http.DelegationMiddleware` (its rules, receipts required, replay and
  revocation in the shared store);
* the orchestrator opens and closes the task and grants the planner.

The ``/attack/...`` routes are the compromised agents' misdeeds, played on request. The
process exits when the demo that started it is gone. Each answer is
``{"events": [{"what", "outcome", "detail", ...}]}``: what happened, for the story.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from delegation import (
    AgentKey,
    Chain,
    DelegationError,
    Delegator,
    JsonlAudit,
    Registry,
    RulesPolicy,
    SQLiteStore,
    Tasks,
    VerifiedChain,
    Verifier,
)
from delegation.http import (
    CHAIN_HEADER,
    PROOF_HEADER,
    DelegationAuth,
    DelegationMiddleware,
    Routes,
    accept_endpoint,
    offer_delegation_async,
    raise_for_problem,
)
from delegation.keys import PublicKey

from .story import (
    ALLOW,
    GRANT,
    PLANNER,
    RESEARCHER,
    SERVERS,
    SLICE,
    TASK,
    TOOL,
    open_and_grant,
    rerooted,
    widened,
)

__all__ = ["CRM_ROUTES", "build_app", "main"]

CRM_ROUTES = Routes(
    {"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")},
    public=["GET /healthz"],
)
TIMEOUT = 10.0
Event = dict[str, Any]


def event(what: str, outcome: str = "ok", detail: str = "", **extra: Any) -> Event:
    """One thing that happened in this agent, for the demo's story."""
    return {"what": what, "outcome": outcome, "detail": detail, **extra}


def _answer(events: list[Event]) -> JSONResponse:
    return JSONResponse({"events": events})


class Agent:
    """One agent's world: its key, the registry, the shared store and log, the others."""

    def __init__(self, role: str, out: Path) -> None:
        self.role = role
        self.out = out
        self.key = AgentKey.load(out / f"{role}.key.json")
        self.registry = Registry.load(out / "registry.json")
        self.store = SQLiteStore(out / "store.sqlite")
        self.audit = JsonlAudit(out / "audit.jsonl")
        self.tasks = Tasks(self.store, audit=self.audit)
        self.peers: dict[str, str] = json.loads((out / "agents.json").read_text())["urls"]
        self.held: list[VerifiedChain] = []  # the delegations this agent accepted

    def public(self, agent: str) -> PublicKey:
        """``agent``'s registered key."""
        return next(iter(self.registry.agents[agent].keys.values()))

    def delegator(self) -> Delegator:
        return Delegator(self.key, tasks=self.tasks, registry=self.registry, audit=self.audit)

    def client(self, role: str, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.peers[role], auth=auth, timeout=TIMEOUT)

    async def offer(self, role: str, chain: Chain | VerifiedChain) -> Event:
        """Hand ``chain`` to ``role``'s accept endpoint: its receipt, or its refusal."""
        async with self.client(role) as client:
            try:
                answer = await offer_delegation_async(client, "/delegations", chain)
            except DelegationError as exc:
                return event(f"{role}_accepts", exc.code, exc.message)
        receipt = (
            f"signed receipt for token {answer['token_id'][:12]}..., held by {answer['holder']}"
        )
        return event(f"{role}_accepts", ALLOW, receipt)

    async def instruct(self, role: str, path: str, job: dict[str, Any]) -> list[Event]:
        """Ask ``role`` to do ``job`` at ``path``; the events it reports."""
        async with self.client(role) as client:
            response = await client.post(path, json=job)
            response.raise_for_status()
            events: list[Event] = response.json()["events"]
            return events

    def accepting(self) -> Route:
        verifier = Verifier(
            registry=self.registry,
            audience=self.key.agent,
            policy=RulesPolicy.load(self.out / f"{self.role}-policy.yaml"),
            revocations=self.store,
            audit=self.audit,
        )
        endpoint = accept_endpoint(verifier, self.key, on_accept=self.held.append)
        return Route("/delegations", endpoint, methods=["POST"])


def _orchestrator(me: Agent) -> list[Route]:
    async def open_task(request: Request) -> JSONResponse:
        job = await request.json()
        deadline, root = open_and_grant(me.tasks, me.delegator(), me.public(PLANNER))
        events = [
            event("task_opened", detail=f"deadline {deadline}"),
            event("root_minted", detail=f"bound to the planner's key {me.public(PLANNER).kid[:8]}"),
        ]
        events.append(await me.offer("planner", root))
        if events[-1]["outcome"] == ALLOW:
            events += await me.instruct("planner", "/run", job)
        return _answer(events)

    async def close_task(request: Request) -> JSONResponse:
        me.tasks.close(TASK, reason="review finished")
        return _answer([event("task_closed")])

    return [
        Route("/task/open", open_task, methods=["POST"]),
        Route("/task/close", close_task, methods=["POST"]),
    ]


def _planner(me: Agent) -> list[Route]:
    researcher = me.public(RESEARCHER)

    async def run(request: Request) -> JSONResponse:
        job = await request.json()
        chain = me.delegator().delegate(
            me.held[-1], to=RESEARCHER, to_key=researcher, caps=[SLICE], ttl=300
        )
        events = [event("slice_delegated", detail="chain.txt", chain=str(chain))]
        events.append(await me.offer("researcher", chain))
        if events[-1]["outcome"] == ALLOW:
            events += await me.instruct("researcher", "/run", job)
        return _answer(events)

    async def reroot(request: Request) -> JSONResponse:
        forged = rerooted(me.key, RESEARCHER, researcher, int(time.time()))
        refused = await me.offer("researcher", forged)
        return _answer([{**refused, "what": "reroot", "chain": str(forged)}])

    return [
        me.accepting(),
        Route("/run", run, methods=["POST"]),
        Route("/attack/reroot", reroot, methods=["POST"]),
    ]


def _researcher(me: Agent) -> list[Route]:
    async def call_tool(chain: Chain, job: dict[str, Any]) -> Event:
        """Read one customer record from the CRM tool with ``chain``; what came back."""
        auth = DelegationAuth(Delegator(me.key), chain, audience=TOOL, routes=CRM_ROUTES)
        path = f"/customers/{job['region']}/{job['id']}"
        async with me.client("tool", auth) as client:
            try:
                response = await client.post(path, json={"max_rows": job["max_rows"]})
            except DelegationError as exc:  # the library would not sign a proof for it
                return event("tool_call", exc.code, f"refused before sending: {exc.message}")
        try:
            raise_for_problem(response)
        except DelegationError as exc:
            return event("tool_call", exc.code, f"HTTP {response.status_code}: {exc.message}")
        sent = response.request
        wire = {
            "path": path,
            "body": sent.content.decode(),
            "chain": sent.headers[CHAIN_HEADER],
            "proof": sent.headers[PROOF_HEADER],
        }
        return event(
            "tool_call", ALLOW, f"HTTP {response.status_code}: {response.json()}", wire=wire
        )

    async def run(request: Request) -> JSONResponse:
        job = await request.json()
        if not me.held:
            return _answer([event("tool_call", "no_delegation", "this agent holds no delegation")])
        return _answer([await call_tool(me.held[-1].chain, job)])

    async def widen(request: Request) -> JSONResponse:
        job = await request.json()
        held = me.held[-1].chain
        try:  # through the library first: it refuses to widen
            Delegator(me.key).delegate(
                held, to=me.key.agent, to_key=me.key.public, caps=[GRANT], ttl=60
            )
            library = event("widen_library", ALLOW)
        except DelegationError as exc:
            library = event("widen_library", exc.code, exc.message)
        forged = widened(held, me.key, int(time.time()))
        called = await call_tool(forged, job)
        return _answer([library, {**called, "what": "widen_forged", "chain": str(forged)}])

    return [
        me.accepting(),
        Route("/run", run, methods=["POST"]),
        Route("/attack/widen", widen, methods=["POST"]),
    ]


def _tool(me: Agent) -> list[Route]:
    async def customer(request: Request) -> JSONResponse:
        p = request.path_params
        return JSONResponse({"customer": f"{p['region']}/{p['id']}", "churn_risk": "low"})

    return [Route("/customers/{region}/{id}", customer, methods=["POST"])]


_ROLES: dict[str, Callable[[Agent], list[Route]]] = {
    "orchestrator": _orchestrator,
    "planner": _planner,
    "researcher": _researcher,
    "tool": _tool,
}


def build_app(role: str, out: Path) -> Any:
    """The ASGI app of ``role`` (one of :data:`~.story.SERVERS`) over the demo's ``out``."""
    me = Agent(role, out)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "agent": me.key.agent, "pid": os.getpid()})

    app = Starlette(routes=[Route("/healthz", health), *_ROLES[role](me)])
    if role != "tool":
        return app
    verifier = Verifier(
        registry=me.registry,
        audience=TOOL,
        policy=RulesPolicy.load(out / "tool-policy.yaml"),
        revocations=me.store,
        replay=me.store,
        audit=me.audit,
        require_receipts=True,
    )
    return DelegationMiddleware(app, verifier=verifier, routes=CRM_ROUTES)


def _exit_with_parent(parent: int) -> None:
    """Exit this process as soon as the demo that started it (pid ``parent``) is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Serve one agent on the listening socket the demo handed over."""
    role, out, fd, parent = argv if argv is not None else sys.argv[1:]
    if role not in SERVERS:
        print(f"error: invalid_input: no demo agent {role!r}", file=sys.stderr)
        return 2
    _exit_with_parent(int(parent))
    app = build_app(role, Path(out))
    sock = socket.socket(fileno=int(fd))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
