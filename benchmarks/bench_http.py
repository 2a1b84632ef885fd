"""What the HTTP middleware costs per request: the same app with and without it.

Run: ``python benchmarks/bench_http.py [--requests N] [--concurrency C] [--quick]``
(needs ``pip install -e '.[http]'``).

The app (one Starlette JSON route) is served by uvicorn in a child process on 127.0.0.1,
an ephemeral port; this process is the load generator (C keep-alive connections, requests
serialized in advance so that the client's cost stays small). Modes,
each against a fresh server, interleaved over rounds: ``plain`` (no middleware),
``guarded`` (DelegationMiddleware, in-memory stores) and ``guarded-sqlite`` (the
embedded SQLite store, as a deployment shares it). Every request carries the same headers
in every mode (a one-hop chain and a proof signed in advance, so the client's signing is
not timed); the guarded modes verify all ten steps including the replay check. Bounded:
N requests per mode per round and a time limit per mode. Prints requests/s, p50 and p99
latency, and the ratios against ``plain``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from delegation import AgentKey, Capability, Delegator, Registry

ORG = "spiffe://acme.example"
TOOL = f"{ORG}/tool/crm"
PATH = "/customers/eu/42"
ARGS = {"max_rows": 10}
MODE_LIMIT = 60.0  # seconds per mode per round, whatever N is


def serve(mode: str, registry_path: str, store_path: str, ports: Any) -> None:
    """Child process: serve the app in ``mode`` on an ephemeral loopback port."""
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from delegation import ChainGrantsOnly, MemoryStore, SQLiteStore, Verifier
    from delegation.http import DelegationMiddleware, Routes

    async def customer(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.path_params["id"], "args": await request.json()})

    app: Any = Starlette(routes=[Route("/customers/{region}/{id}", customer, methods=["POST"])])
    if mode != "plain":
        store = SQLiteStore(store_path) if mode == "guarded-sqlite" else MemoryStore()
        verifier = Verifier(
            registry=Registry.load(registry_path), audience=TOOL, policy=ChainGrantsOnly(),
            revocations=store, replay=store,
        )  # fmt: skip
        routes = Routes({"POST /customers/{region}/{id}": ("crm.read", "customers/{region}/{id}")})
        app = DelegationMiddleware(app, verifier=verifier, routes=routes)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    ports.put(server.servers[0].sockets[0].getsockname()[1])
    thread.join()


def raw_request(headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 keep-alive request, serialized in advance (the client's cost stays low)."""
    body = json.dumps(ARGS).encode()
    lines = [f"POST {PATH} HTTP/1.1", "Host: bench", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> None:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    if status != b"200":
        raise SystemExit(f"HTTP {status.decode()}: {body.decode(errors='replace')}")


async def load(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Send every request, ``concurrency`` connections at a time; (seconds, latencies)."""
    latencies: list[float] = []
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(concurrency)]
    for (reader, writer), request in zip(conns, requests, strict=False):  # warm-up, not timed
        await exchange(reader, writer, request)
    queue = iter(requests[concurrency:])
    deadline = time.monotonic() + MODE_LIMIT

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for request in queue:
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            await exchange(reader, writer, request)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - start
    for _, writer in conns:
        writer.close()
    return elapsed, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per mode per round")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 requests, 1 round")
    args = parser.parse_args(argv)
    n, rounds = (500, 1) if args.quick else (args.requests, args.rounds)

    orch, agent = AgentKey.generate(f"{ORG}/orchestrator"), AgentKey.generate(f"{ORG}/agent/a")
    registry = Registry()
    registry.add_root(orch.agent, orch.public_jwk())
    registry.add_agent(agent.agent, agent.public_jwk())
    work = Path(tempfile.mkdtemp(prefix="bench_http"))
    registry.save(work / "registry.json")
    cap = Capability(
        tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 50}}
    )
    chain = Delegator(orch).mint(to=agent.agent, to_key=agent.public_jwk(), caps=[cap], ttl=3600)
    holder = Delegator(agent)
    modes = ["plain", "guarded", "guarded-sqlite"]
    results: dict[str, list[tuple[float, list[float]]]] = {m: [] for m in modes}
    ctx = multiprocessing.get_context("spawn")
    for r in range(rounds):
        for mode in modes:
            requests = [
                raw_request(
                    {
                        "Delegation-Chain": str(chain),
                        "Delegation-Proof": holder.prove(
                            chain,
                            aud=TOOL,
                            tool="crm.read",
                            resource="customers/eu/42",
                            args=ARGS,
                            ttl=120,
                        ),
                    }
                )
                for _ in range(n + args.concurrency)
            ]
            ports = ctx.Queue()
            store = str(work / f"store-{r}-{mode}.sqlite")
            proc = ctx.Process(target=serve, args=(mode, str(work / "registry.json"), store, ports))
            proc.start()
            try:
                port = ports.get(timeout=30)
                results[mode].append(asyncio.run(load(port, requests, args.concurrency)))
            finally:
                proc.terminate()
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
                    proc.join(10)

    print(f"bench_http: {n} requests x {rounds} round(s) per mode, concurrency {args.concurrency},")
    print(f"uvicorn + Starlette on 127.0.0.1, load from another process; {sys.version.split()[0]}")
    head = ("mode", "req/s", "p50 ms", "p99 ms", "req/s vs plain", "p50 vs plain")
    print(f"{head[0]:<16}{head[1]:>10}{head[2]:>10}{head[3]:>10}{head[4]:>16}{head[5]:>14}")
    base_rate = base_p50 = 0.0
    for mode in modes:
        rates = [len(lat) / secs for secs, lat in results[mode]]
        lats = sorted(x for _, lat in results[mode] for x in lat)
        rate = statistics.median(rates)
        p50 = lats[len(lats) // 2] * 1000
        p99 = lats[min(len(lats) - 1, int(len(lats) * 0.99))] * 1000
        if mode == "plain":
            base_rate, base_p50 = rate, p50
        print(
            f"{mode:<16}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}"
            f"{rate / base_rate:>16.2f}{p50 / base_p50:>14.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
