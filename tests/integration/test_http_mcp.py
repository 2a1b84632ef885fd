"""The MCP round trip with the real SDK: a guarded MCPServer (the SDK 2.x name of FastMCP)
on a loopback uvicorn server, called by the SDK's client through DelegationAuth."""

from __future__ import annotations

import asyncio
from typing import Any

from http_support import TOOL_AUD, Fleet, require, require_http, serving

from delegation import Delegator

require_http()
require("mcp", "httpx2")

import httpx2  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.server.mcpserver import Context, MCPServer  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from delegation.http import DelegationAuth, DelegationMiddleware, McpRoutes, verified_chain  # noqa: E402

ROUTES = McpRoutes("/mcp", resources={"crm.read": "customers/{region}"})
BOUND = 30.0  # seconds for a whole client session


def crm_server(ran: list[str]) -> MCPServer:
    server = MCPServer("crm")

    @server.tool(name="crm.read")
    async def crm_read(region: str, max_rows: int, ctx: Context) -> str:
        verified = verified_chain(ctx.request_context.request)
        ran.append(region)
        return f"{verified.holder} read {max_rows} rows in {region}"

    return server


async def session(url: str, auth: Any, *calls: tuple[str, dict[str, Any]]) -> list[Any]:
    """Open one MCP session and make ``calls``; each result or the exception it raised."""
    out: list[Any] = []
    async with (
        httpx2.AsyncClient(auth=auth, timeout=10) as http,
        Client(streamable_http_client(url + "/mcp", http_client=http)) as client,
    ):
        out.append([t.name for t in (await client.list_tools()).tools])
        for name, args in calls:
            try:
                out.append(await client.call_tool(name, args))
            except MCPError as exc:
                out.append(exc)
    return out


def test_mcp_tools_call_guarded_allowed_and_refused() -> None:
    fleet = Fleet()
    ran: list[str] = []
    app = DelegationMiddleware(
        crm_server(ran).streamable_http_app(), verifier=fleet.verifier(), routes=ROUTES
    )
    auth = DelegationAuth(Delegator(fleet.agent), fleet.chain(), audience=TOOL_AUD, routes=ROUTES)
    call = ("crm.read", {"region": "eu", "max_rows": 5})
    with serving(app) as url:
        tools, allowed, again = asyncio.run(asyncio.wait_for(session(url, auth, call, call), BOUND))
        assert tools == ["crm.read"]  # tools/list needs no delegation
        assert not allowed.is_error and not again.is_error
        assert allowed.content[0].text == f"{fleet.agent.agent} read 5 rows in eu"
        assert ran == ["eu", "eu"]  # a fresh proof per call: the second is no replay

        # No delegation at all: the session opens, the tool call is refused (401).
        tools, refused = asyncio.run(asyncio.wait_for(session(url, None, call), BOUND))
        assert tools == ["crm.read"] and isinstance(refused, MCPError)

        # The task is closed on the server's store: refused (403), the tool never runs.
        fleet.store.revoke("task", "T-42")
        _, refused = asyncio.run(asyncio.wait_for(session(url, auth, call), BOUND))
        assert isinstance(refused, MCPError)
    assert ran == ["eu", "eu"]
    denials = [r for r in fleet.audit.records if r["event"] == "verify" and "revoked" in str(r)]
    assert denials, "the refusal was not audited"


def test_mcp_refusal_is_a_problem_response() -> None:
    """What the SDK reports as an error response is the middleware's problem+json."""
    fleet = Fleet()
    app = DelegationMiddleware(
        crm_server([]).streamable_http_app(), verifier=fleet.verifier(), routes=ROUTES
    )
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "crm.read", "arguments": {"region": "eu", "max_rows": 5}},
    }
    with serving(app) as url:
        response = httpx2.post(url + "/mcp", json=body, timeout=10)
        batch = httpx2.post(url + "/mcp", json=[body], timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "malformed"
    assert batch.status_code == 400 and batch.json()["code"] == "invalid_request"
