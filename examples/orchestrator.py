"""An orchestrator: serves a guarded CRM tool, starts a sub-agent process, delegates to it.

    python examples/orchestrator.py
The sub-agent accepts the delegation (receipt back), then calls the tool with a fresh
proof per request: reading an EU customer works, a US one is refused.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from delegation import AgentKey, Capability, ChainGrantsOnly, Delegator, Registry, Verifier
from delegation.http import DelegationMiddleware, Routes, offer_delegation, verified_chain

ORG = "spiffe://acme.example"
orch, researcher = (
    AgentKey.generate(f"{ORG}/orchestrator"),
    AgentKey.generate(f"{ORG}/agent/researcher"),
)
registry = Registry()
registry.add_root(orch.agent, orch.public_jwk())
registry.add_agent(researcher.agent, researcher.public_jwk())


async def customer(request: Request) -> JSONResponse:
    who = verified_chain(request).holder
    return JSONResponse({"customer": request.path_params["id"], "read_by": who})


routes = Routes({"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")})
crm = DelegationMiddleware(
    Starlette(routes=[Route("/customers/{region}/{id}", customer, methods=["POST"])]),
    verifier=Verifier(registry=registry, audience=f"{ORG}/tool/crm", policy=ChainGrantsOnly()),
    routes=routes,
)
tool = uvicorn.Server(uvicorn.Config(crm, host="127.0.0.1", port=0, log_level="warning"))
threading.Thread(target=tool.run, daemon=True).start()
while not tool.started:
    time.sleep(0.01)
tool_url = f"http://127.0.0.1:{tool.servers[0].sockets[0].getsockname()[1]}"

work = Path(tempfile.mkdtemp())
researcher.save(work / "researcher.json")
registry.save(work / "registry.json")
(work / "tool.json").write_text(json.dumps({"url": tool_url, "agent": f"{ORG}/tool/crm"}))
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
sub = subprocess.Popen(
    [sys.executable, str(Path(__file__).with_name("subagent.py")), str(work), str(port)]
)
try:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for _ in range(300):  # the sub-agent process starts
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        grant = Capability(
            tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 10}}
        )
        chain = Delegator(orch).mint(
            to=researcher.agent, to_key=researcher.public_jwk(), caps=[grant], ttl=300, task="T-1"
        )
        print(
            "accepted, receipt:",
            offer_delegation(client, "/delegations", chain)["receipt"][:40],
            "...",
        )
        eu = client.post("/run", json={"region": "eu", "id": 42}).json()
        us = client.post("/run", json={"region": "us", "id": 7}).json()
        print("eu:", eu, "\nus:", us)
        sys.exit(0 if eu["status"] == 200 and us["status"] == "refused here" else 1)
finally:
    sub.terminate()
    sub.wait(timeout=10)
    tool.should_exit = True
