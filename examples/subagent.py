"""A sub-agent: accepts a delegation over HTTP (signing a receipt), then uses it.

Run by examples/orchestrator.py as its own process:
    python examples/subagent.py DIR PORT
DIR holds this agent's key (researcher.json), the registry and the tool's address.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from delegation import AgentKey, ChainGrantsOnly, Delegator, Registry, VerifiedChain, Verifier
from delegation.http import DelegationAuth, Routes, accept_endpoint

work = Path(sys.argv[1])
me = AgentKey.load(work / "researcher.json")
tool = json.loads((work / "tool.json").read_text())  # {"url": ..., "agent": ...}
routes = Routes({"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")})
held: list[VerifiedChain] = []  # the delegations this agent accepted


async def run(request: Request) -> JSONResponse:
    """The orchestrator's instruction: read one customer with the delegation held."""
    job = await request.json()
    auth = DelegationAuth(Delegator(me), held[-1].chain, audience=tool["agent"], routes=routes)
    async with httpx.AsyncClient(base_url=tool["url"], auth=auth, timeout=10) as client:
        try:
            answer = await client.post(
                f"/customers/{job['region']}/{job['id']}", json={"max_rows": 5}
            )
        except Exception as exc:  # delegation refused before sending: the chain does not allow it
            return JSONResponse({"status": "refused here", "code": getattr(exc, "code", "?")})
    return JSONResponse({"status": answer.status_code, "answer": answer.json()})


verifier = Verifier(
    registry=Registry.load(work / "registry.json"), audience=me.agent, policy=ChainGrantsOnly()
)
app = Starlette(
    routes=[
        Route(
            "/delegations", accept_endpoint(verifier, me, on_accept=held.append), methods=["POST"]
        ),
        Route("/run", run, methods=["POST"]),
        Route("/healthz", lambda _: JSONResponse({"ok": True})),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
