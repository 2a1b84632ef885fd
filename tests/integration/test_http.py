"""Real uvicorn servers on loopback, guarded by DelegationMiddleware, driven by httpx.

Each failure class answers its status with an RFC 9457 body carrying the stable code; a
body over the limit is refused before it is read whole; of 50 concurrent requests one
replays another's proof and exactly one of the pair is served; a server whose store goes
away answers 503 with Retry-After and serves nothing.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from forging import forge
from http_support import TOOL_AUD, Fleet, require_http, serving

from delegation import (
    AgentKey,
    Capability,
    Chain,
    Decision,
    Delegator,
    PolicyContext,
    Request,
    SQLiteStore,
)

require_http()

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request as HttpRequest  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from delegation.http import (  # noqa: E402
    PROBLEM_JSON,
    DelegationAuth,
    DelegationMiddleware,
    Routes,
    verified_chain,
)

ROUTES = Routes({"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")})
MAX_BODY = 4096
ARGS = {"max_rows": 10}


async def customers(request: HttpRequest) -> JSONResponse:
    verified = verified_chain(request)
    return JSONResponse({"holder": verified.holder, "args": await request.json()})


def guarded(fleet: Fleet, **verifier: Any) -> DelegationMiddleware:
    app = Starlette(routes=[Route("/customers/{region}/{id}", customers, methods=["POST"])])
    return DelegationMiddleware(
        app, verifier=fleet.verifier(**verifier), routes=ROUTES, max_body=MAX_BODY
    )


class DenyAll:
    digest = "deny-all"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("deny", ("deny-all",), "this server allows nothing")


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet()


@pytest.fixture(scope="module")
def url(fleet: Fleet) -> Iterator[str]:
    with serving(guarded(fleet)) as base:
        yield base


def prove(fleet: Fleet, chain: Chain, resource: str = "customers/eu/42", **kw: Any) -> str:
    return Delegator(kw.pop("key", fleet.agent)).prove(
        chain, aud=kw.pop("aud", TOOL_AUD), tool="crm.read", resource=resource,
        args=kw.pop("args", ARGS),
    )  # fmt: skip


def call(
    url: str, chain: Chain | str, proof: str, path: str = "/customers/eu/42"
) -> httpx.Response:
    headers = {"Delegation-Chain": str(chain), "Delegation-Proof": proof}
    return httpx.post(url + path, json=ARGS, headers=headers, timeout=10)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    return body


def test_allowed_call_sync_and_async(fleet: Fleet, url: str) -> None:
    auth = DelegationAuth(Delegator(fleet.agent), fleet.chain(), audience=TOOL_AUD, routes=ROUTES)
    with httpx.Client(base_url=url, auth=auth, timeout=10) as client:
        for _ in range(3):  # a fresh proof per request: no replay
            response = client.post("/customers/eu/42", json=ARGS)
            assert response.status_code == 200, response.text
            assert response.json() == {"holder": fleet.agent.agent, "args": ARGS}

    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=url, auth=auth, timeout=10) as client:
            got = await asyncio.gather(
                *(client.post("/customers/eu/7", json=ARGS) for _ in range(5))
            )
            return [r.status_code for r in got]

    assert asyncio.run(run()) == [200] * 5


def test_authentication_failures_are_401(fleet: Fleet, url: str) -> None:
    chain = fleet.chain()
    missing = httpx.post(url + "/customers/eu/42", json=ARGS, timeout=10)
    assert_problem(missing, 401, "malformed")
    assert missing.headers["www-authenticate"] == "Delegation"
    tampered = str(chain)[:-3] + ("AAA" if not str(chain).endswith("AAA") else "BBB")
    assert_problem(call(url, tampered, prove(fleet, chain)), 401, "bad_signature")
    stranger = AgentKey.generate("spiffe://evil.example/orchestrator")
    rogue = Delegator(stranger).mint(
        to=fleet.agent.agent, to_key=fleet.agent.public_jwk(), caps=[Capability(tool="crm.read")],
        ttl=60, task="T-42",
    )  # fmt: skip
    assert_problem(call(url, rogue, prove(fleet, rogue, args={})), 401, "untrusted_root")
    other_aud = prove(fleet, chain, aud="spiffe://acme.example/tool/other")
    assert_problem(call(url, chain, other_aud), 401, "audience_mismatch")
    # A stolen chain without its key: the thief signs the proof with its own key.
    good = prove(fleet, chain)
    stolen = forge(good, signer=fleet.other)
    assert_problem(call(url, chain, stolen), 401, "bad_signature")
    # Someone else's key registered for the holder: identity re-authentication fails.
    unregistered = AgentKey.generate(fleet.agent.agent)
    theirs = fleet.chain(holder=unregistered)
    proof = Delegator(unregistered).prove(
        theirs, aud=TOOL_AUD, tool="crm.read", resource="customers/eu/42", args=ARGS
    )
    assert_problem(call(url, theirs, proof), 401, "key_not_registered")
    # The same proof twice: the second is a replay.
    proof = prove(fleet, chain)
    assert call(url, chain, proof).status_code == 200
    assert_problem(call(url, chain, proof), 401, "proof_replayed")
    # A proof for another request (other arguments than the body's).
    assert_problem(
        call(url, chain, prove(fleet, chain, args={"max_rows": 11})), 401, "proof_mismatch"
    )


def test_authorization_failures_are_403(fleet: Fleet, url: str, tmp_path: Path) -> None:
    chain = fleet.chain()
    # Not granted: the holder signs a proof for a resource outside its chain.
    beyond = Request(tool="crm.read", resource="customers/us/1", args=ARGS)
    proof = forge(
        prove(fleet, chain),
        signer=fleet.agent,
        claims={
            "req": {"tool": "crm.read", "resource": "customers/us/1", "args": beyond.args_digest}
        },
    )
    assert_problem(call(url, chain, proof, "/customers/us/1"), 403, "action_not_granted")
    # Widening: a hop grants more than its parent (re-signed by the delegating agent).
    root = Delegator(fleet.orch).mint(
        to=fleet.agent.agent, to_key=fleet.agent.public_jwk(),
        caps=[Capability(tool="crm.read", resource="customers/eu/**")], ttl=600, depth=1,
        task="T-42",
    )  # fmt: skip
    child = Delegator(fleet.agent).delegate(
        root, to=fleet.other.agent, to_key=fleet.other.public_jwk(),
        caps=[Capability(tool="crm.read", resource="customers/eu/1")], ttl=300,
    )  # fmt: skip
    wide = forge(child.tokens[-1], signer=fleet.agent,
                 claims={"caps": [{"tool": "crm.read", "resource": "**"}]})  # fmt: skip
    widened = Chain([child.tokens[0], wide])
    proof = Delegator(fleet.other).prove(
        widened, aud=TOOL_AUD, tool="crm.read", resource="customers/us/1", args=ARGS
    )
    assert_problem(call(url, widened, proof, "/customers/us/1"), 403, "scope_escalation")
    # Revoked: the task is closed in the server's store.
    revoked = Fleet()
    store = revoked.store
    with serving(guarded(revoked)) as other_url:
        c = revoked.chain()
        store.revoke("task", "T-42")
        assert_problem(call(other_url, c, prove(revoked, c)), 403, "revoked")
    # The server's own policy denies what the chain allows.
    with serving(guarded(fleet, policy=DenyAll())) as strict_url:
        assert_problem(call(strict_url, chain, prove(fleet, chain)), 403, "policy_denied")


def _raw_post(url: str, head: bytes, parts: list[bytes]) -> tuple[bytes, int]:
    """Send ``head`` then ``parts`` on one socket; return the response and parts sent."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        for part in parts:
            try:
                sock.sendall(part)
            except OSError:  # the server closed on us: it answered already
                break
            sent += 1
            sock.settimeout(0.2)
            try:
                first = sock.recv(65536)
            except TimeoutError:
                continue
            finally:
                sock.settimeout(10)
            if first:
                return first + _drain(sock), sent
        sock.settimeout(10)
        return _drain(sock), sent


def _drain(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return data
        if not chunk:
            return data
        data += chunk


def test_oversized_body_refused_without_reading_it(fleet: Fleet, url: str) -> None:
    chain = fleet.chain()
    proof = prove(fleet, chain)
    auth = f"Delegation-Chain: {chain}\r\nDelegation-Proof: {proof}\r\n".encode()
    # Declared too large: answered from the header, before any of the body arrives.
    head = (
        b"POST /customers/eu/42 HTTP/1.1\r\nHost: crm\r\nContent-Type: application/json\r\n"
        + auth
        + b"Content-Length: 104857600\r\n\r\n"
    )
    response, sent = _raw_post(url, head, [b"{" + b" " * 1000] * 50)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert PROBLEM_JSON.encode() in response and b'"code":"oversized"' in response
    assert sent < 50
    # Chunked, no length: refused as soon as the limit is passed, the rest never read.
    head = (
        b"POST /customers/eu/42 HTTP/1.1\r\nHost: crm\r\nContent-Type: application/json\r\n"
        + auth
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (1024, b" " * 1024)
    response, sent = _raw_post(url, head, [chunk] * 200)  # 200 KiB, never terminated
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 200, "the server waited for the whole body"
    # The proof was never spent: the same request, small enough, is served.
    assert call(url, chain, proof).status_code == 200


def test_fifty_concurrent_requests_one_replay(tmp_path: Path) -> None:
    fleet = Fleet(store=SQLiteStore(tmp_path / "store.sqlite"))
    chain = fleet.chain()
    proofs = [prove(fleet, chain) for _ in range(49)]
    proofs.append(proofs[17])  # request 49 replays request 17's proof

    async def run(url: str) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/customers/eu/42",
                        json=ARGS,
                        headers={"Delegation-Chain": str(chain), "Delegation-Proof": p},
                    )
                    for p in proofs
                )
            )

    with serving(guarded(fleet)) as url:
        start = time.monotonic()
        responses = asyncio.run(run(url))
        assert time.monotonic() - start < 30
    statuses = [r.status_code for r in responses]
    pair = sorted((statuses[17], statuses[49]))
    assert pair == [200, 401]
    loser = responses[17] if statuses[17] == 401 else responses[49]
    assert_problem(loser, 401, "proof_replayed")
    others = statuses[:17] + statuses[18:49]
    assert others == [200] * 48
    fleet.store.close()


def test_store_gone_answers_503_and_denies(tmp_path: Path) -> None:
    fleet = Fleet(store=SQLiteStore(tmp_path / "store.sqlite"))
    served: list[str] = []

    async def counting(request: HttpRequest) -> JSONResponse:
        served.append(request.url.path)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/customers/{region}/{id}", counting, methods=["POST"])])
    guarded_app = DelegationMiddleware(app, verifier=fleet.verifier(), routes=ROUTES, retry_after=7)
    chain = fleet.chain()
    with serving(guarded_app) as url:
        assert call(url, chain, prove(fleet, chain)).status_code == 200
        fleet.store.close()  # the store goes away under the running server
        response = call(url, chain, prove(fleet, chain))
        assert_problem(response, 503, "store_unavailable")
        assert response.headers["retry-after"] == "7"
    assert served == ["/customers/eu/42"], "a request was served without its store"
    last = fleet.audit.records[-1]
    assert last["event"] == "verify" and "store_unavailable" in str(last)


def test_accept_endpoint_returns_a_receipt_once(fleet: Fleet) -> None:
    from delegation import AlreadyAccepted, ChainGrantsOnly, Verifier
    from delegation.http import accept_endpoint, offer_delegation

    kept = []
    receiver = Verifier(
        registry=fleet.registry, audience=fleet.agent.agent, policy=ChainGrantsOnly()
    )
    endpoint = accept_endpoint(receiver, fleet.agent, on_accept=kept.append)
    app = Starlette(routes=[Route("/delegations", endpoint, methods=["POST"])])
    chain = Delegator(fleet.orch).mint(
        to=fleet.agent.agent, to_key=fleet.agent.public_jwk(),
        caps=[Capability(tool="crm.read", resource="customers/**")], ttl=600, depth=1, task="T-42",
    )  # fmt: skip
    with serving(app) as url, httpx.Client(timeout=10) as client:
        answer = offer_delegation(client, url + "/delegations", chain)
        assert answer["accepted"] is True and answer["holder"] == fleet.agent.agent
        with pytest.raises(AlreadyAccepted):
            offer_delegation(client, url + "/delegations", chain)
    assert len(kept) == 1
    # The accepted chain, handed on, carries the receiver's receipt: a verifier that
    # requires receipts accepts the longer chain.
    onward = Delegator(fleet.agent).delegate(
        kept[0], to=fleet.other.agent, to_key=fleet.other.public_jwk(),
        caps=[Capability(tool="crm.read", resource="customers/eu/**")], ttl=300,
    )  # fmt: skip
    strict = Verifier(
        registry=fleet.registry, audience=TOOL_AUD, policy=ChainGrantsOnly(), require_receipts=True
    )
    assert strict.verify_chain(onward).holder == fleet.other.agent
