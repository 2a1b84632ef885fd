"""delegation.http in process: the status table, route maps, the middleware and the guard.

The middleware runs here under httpx's ASGI transport (no socket); tests/integration
drives it through real uvicorn servers.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from http_support import TOOL_AUD, Fleet, require_http

from delegation import (
    Capability,
    DelegationError,
    Delegator,
    InvalidRequest,
    MalformedError,
    error_codes,
)

require_http()

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request as HttpRequest  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route as StarletteRoute  # noqa: E402

from delegation.http import (  # noqa: E402
    STATUS,
    DelegationAuth,
    DelegationMiddleware,
    McpRoutes,
    Routes,
    current_chain,
    guard,
    presenting,
    status_for,
    verified_chain,
)

ROUTES = Routes(
    {"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")},
    public=["GET /healthz"],
)


def test_every_error_code_has_a_status() -> None:
    """Every refusal code maps to a status; outcome codes (allowed, ...) are not refusals."""
    refusals = {code for code, cls in error_codes().items() if cls is not None}
    assert refusals - set(STATUS) == set()
    assert set(STATUS) - refusals == set(), "the table names a code that is gone"
    assert status_for("bad_signature") == 401
    assert status_for("revoked") == 403
    assert status_for("store_unavailable") == 503
    assert status_for("no_such_code") == 500


def test_the_core_package_imports_no_web_framework() -> None:
    code = (
        "import sys, delegation, delegation.cli; "
        "bad = {'httpx', 'anyio', 'starlette', 'uvicorn', 'mcp'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_routes_map_method_path_and_body() -> None:
    req = ROUTES.request("POST", "/customers/eu/42", b"", b'{"max_rows": 5}')
    assert req is not None and (req.tool, req.resource, req.args) == (
        "crm.read",
        "customers/eu/42",
        {"max_rows": 5},
    )
    assert ROUTES.request("GET", "/healthz", b"", b"") is None


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "match"),
    [
        ("GET", "/customers/eu/42", b"", b"", "no route"),
        ("POST", "/customers/eu/42", b"x=1", b"", "query"),
        ("POST", "/customers/eu/42", b"", b'{"a": 1, "a": 2}', "repeats"),
        ("POST", "/customers/eu/42", b"", b'{"a": NaN}', "not JSON"),
        ("POST", "/customers/eu/42", b"", b"[1]", "JSON object"),
        ("POST", "/customers/eu/..", b"", b"", "path trick"),
    ],
)
def test_routes_refuse_what_they_cannot_map(
    method: str, path: str, query: bytes, body: bytes, match: str
) -> None:
    with pytest.raises(InvalidRequest, match=match):
        ROUTES.request(method, path, query, body)


def test_mcp_routes_guard_only_tools_call() -> None:
    mcp = McpRoutes("/mcp/", resources={"crm.read": "customers/{region}"})
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call"}
    body = json.dumps({**call, "params": {"name": "crm.read", "arguments": {"region": "eu"}}})
    req = mcp.request("POST", "/mcp", b"", body.encode())
    assert req is not None and (req.tool, req.resource) == ("crm.read", "customers/eu")
    other = json.dumps({**call, "params": {"name": "echo"}}).encode()
    assert mcp.request("POST", "/mcp", b"", other).resource == "echo"  # type: ignore[union-attr]
    assert mcp.request("POST", "/mcp", b"", b'{"jsonrpc":"2.0","method":"tools/list"}') is None
    assert mcp.request("GET", "/mcp", b"", b"") is None
    with pytest.raises(InvalidRequest, match="batch"):
        mcp.request("POST", "/mcp", b"", f"[{body}]".encode())
    with pytest.raises(InvalidRequest, match="needs 'region'"):
        mcp.request(
            "POST", "/mcp", b"", json.dumps({**call, "params": {"name": "crm.read"}}).encode()
        )


async def customers(request: HttpRequest) -> JSONResponse:
    verified = verified_chain(request)
    assert request.state.delegation is verified
    return JSONResponse({"holder": verified.holder, "args": await request.json()})


def app(fleet: Fleet, **kw: Any) -> DelegationMiddleware:
    inner = Starlette(
        routes=[
            StarletteRoute("/customers/{region}/{id}", customers, methods=["POST"]),
            StarletteRoute("/healthz", lambda r: JSONResponse({"ok": True})),
        ]
    )
    return DelegationMiddleware(inner, verifier=fleet.verifier(), routes=ROUTES, **kw)


def test_middleware_in_process() -> None:
    fleet = Fleet()
    auth = DelegationAuth(Delegator(fleet.agent), fleet.chain(), audience=TOOL_AUD, routes=ROUTES)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app(fleet, max_body=64))
        async with httpx.AsyncClient(transport=transport, base_url="http://crm", auth=auth) as c:
            ok = await c.post("/customers/eu/42", json={"max_rows": 10})
            assert ok.status_code == 200, ok.text
            assert ok.json() == {"holder": fleet.agent.agent, "args": {"max_rows": 10}}
            assert (await c.get("/healthz")).status_code == 200
            denied = await c.post("/customers/us/1", json={"max_rows": 10}, auth=None)
            assert denied.status_code == 401 and denied.json()["code"] == "malformed"
            big = await c.post("/customers/eu/42", content=b"{" + b" " * 100 + b"}", auth=None)
            assert big.status_code == 413 and big.json()["code"] == "oversized"

    asyncio.run(run())


def test_guard_verifies_the_presented_proof() -> None:
    fleet = Fleet()
    chain = fleet.chain()
    holder = Delegator(fleet.agent)

    @guard(fleet.verifier(), tool="crm.read", resource="customers/{region}/{id}")
    def read(region: str, id: int, max_rows: int = 5) -> str:
        return f"{current_chain().holder} read {region}/{id}"

    args = {"region": "eu", "id": 7, "max_rows": 3}
    proof = holder.prove(chain, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/7", args=args)
    with presenting(chain, proof):
        assert read(**args) == f"{fleet.agent.agent} read eu/7"
        with pytest.raises(DelegationError) as replay:
            read(**args)
        assert replay.value.code == "proof_replayed"
    with pytest.raises(MalformedError):
        read("eu", 7)

    @guard(fleet.verifier(), tool="crm.read", resource="customers/{region}/1")
    async def aread(region: str, max_rows: int) -> str:
        return current_chain().task

    args = {"region": "eu", "max_rows": 1}
    proof = holder.prove(chain, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/1", args=args)
    with presenting(chain, proof):
        assert asyncio.run(aread("eu", max_rows=1)) == "T-42"


def test_guard_refuses_arguments_the_proof_did_not_sign() -> None:
    fleet_ = Fleet()
    chain = fleet_.chain(Capability(tool="crm.read", resource="customers/**"))

    @guard(fleet_.verifier(), tool="crm.read", resource="customers/{region}")
    def read(region: str) -> str:
        return region

    proof = Delegator(fleet_.agent).prove(
        chain, aud=TOOL_AUD, tool="crm.read", resource="customers/eu", args={"region": "eu"}
    )
    with presenting(chain, proof), pytest.raises(DelegationError) as exc:
        read("us")
    assert exc.value.code == "proof_mismatch"
