"""A guarded MCP tool server: each tools/call must carry a delegation for that call.

    python examples/mcp_tool_server.py
serves a CRM tool over MCP streamable HTTP on a loopback port, then plays an agent
calling it with the MCP SDK's client: once with a delegation (answered), once without
(refused), and stops.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx2  # the MCP SDK's HTTP client
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError

from delegation import AgentKey, Capability, ChainGrantsOnly, Delegator, Registry, Verifier
from delegation.http import DelegationAuth, DelegationMiddleware, McpRoutes, verified_chain

ORG = "spiffe://acme.example"
TOOL = f"{ORG}/tool/crm"
orch, agent = AgentKey.generate(f"{ORG}/orchestrator"), AgentKey.generate(f"{ORG}/agent/planner")
registry = Registry()
registry.add_root(orch.agent, orch.public_jwk())

server = MCPServer("crm")


@server.tool(name="crm.read")
async def crm_read(region: str, max_rows: int, ctx: Context) -> str:
    """Read up to max_rows customers of a region."""
    holder = verified_chain(ctx.request_context.request).holder  # who the chain says acts
    return f"{max_rows} customers of {region}, read for {holder}"


routes = McpRoutes("/mcp", resources={"crm.read": "customers/{region}"})  # tool = params.name
verifier = Verifier(registry=registry, audience=TOOL, policy=ChainGrantsOnly())
app = DelegationMiddleware(server.streamable_http_app(), verifier=verifier, routes=routes)


async def agent_calls(url: str) -> tuple[str, str]:
    grant = Capability(
        tool="crm.read", resource="customers/eu", constraints={"max_rows": {"max": 20}}
    )
    chain = Delegator(orch).mint(
        to=agent.agent, to_key=agent.public_jwk(), caps=[grant], ttl=300, task="T-7"
    )
    answers = []
    for auth in (DelegationAuth(Delegator(agent), chain, audience=TOOL, routes=routes), None):
        async with (
            httpx2.AsyncClient(auth=auth, timeout=10) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            try:
                result = await client.call_tool("crm.read", {"region": "eu", "max_rows": 5})
                answers.append(result.content[0].text)  # type: ignore[union-attr]
            except MCPError as exc:
                answers.append(f"refused: {exc}")
    return answers[0], answers[1]


if __name__ == "__main__":
    web = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=web.run, daemon=True).start()
    while not web.started:
        time.sleep(0.01)
    port = web.servers[0].sockets[0].getsockname()[1]
    try:
        allowed, refused = asyncio.run(
            asyncio.wait_for(agent_calls(f"http://127.0.0.1:{port}/mcp"), 30)
        )
        print("with a delegation:", allowed, "\nwithout:", refused)
    finally:
        web.should_exit = True
