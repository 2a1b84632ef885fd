"""Issue 15: a fleet of verifier processes on one shared store; throughput, latency, propagation.

Run: ``python benchmarks/bench_fleet.py [--quick] [--write]``. Needs ``redis-server`` and
``redis-cli`` on PATH (a missing one leaves its rows out, said so in the report) and the
``redis`` extra. Everything runs on 127.0.0.1 and is bounded: each cell stops after
``PER_WORKER`` verifications per process or ``BUDGET`` seconds, whichever comes first.

Stores: a SQLite file (WAL), one ``redis-server``, and a local Redis Cluster (six
``redis-server --cluster-enabled yes``: three masters, three replicas, ``?wait=1``), all
started here in a temporary directory and stopped at the end.

Per store and per 1, 2 and 4 verifier processes (``fork``, each with its own ``Verifier``
and its own store client, released together at a barrier): verifications per second (all
processes together, first start to last end), p50 and p99 latency of one
``Verifier.verify`` (a 5-hop chain, warm token cache, a fresh pre-minted proof every call:
the revocation check, the replay record and the policy run every time). Then revocation
propagation: 4 verifier processes verify the same chain in a loop; this process revokes
its task through its own store client (as a ``revoke`` at one verifier does), and the
propagation time is from the start of that ``revoke`` until the last of the 4 refuses the
chain (``revoked``) for the first time (``time.monotonic``, one clock for all processes on
Linux). It is repeated ``ROUNDS`` times.

``--write`` puts the report in RESULTS.md as its "Fleet" section (replacing an earlier one).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import REQ, ROOT_CAP, World, cpu_model
from redis_procs import RedisClusterProcs, RedisServer, start_redis_cluster, start_redis_server

from delegation import DelegationError, Revoked, Verifier, open_store

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
HOPS = 5
PROCS = (1, 2, 4)
SERVER, CLI = shutil.which("redis-server"), shutil.which("redis-cli")


@contextmanager
def stores(workdir: Path) -> Iterator[list[tuple[str, str, Callable[[], None]]]]:
    """(name, URL, empty-it) for SQLite, one Redis and a local cluster; servers stopped after."""
    servers: list[RedisServer | RedisClusterProcs] = []
    out: list[tuple[str, str, Callable[[], None]]] = []
    try:
        db = workdir / "fleet.sqlite"

        def empty_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            open_store(f"sqlite:///{db}").close()

        out.append(("SQLite (one file)", f"sqlite:///{db}", empty_sqlite))
        if SERVER and CLI:
            import redis

            single = start_redis_server(workdir / "single")
            servers.append(single)

            def empty_single() -> None:
                redis.Redis(port=single.port).flushall()

            out.append(("one Redis", single.url, empty_single))
            cluster = start_redis_cluster(workdir / "cluster")
            servers.append(cluster)
            cluster.options = "wait=1"
            out.append(("Redis Cluster (3+3, wait=1)", cluster.url, cluster.flush))
        yield out
    finally:
        for server in servers:
            server.stop()


def _verifier(world: World, url: str) -> tuple[Verifier, Any]:
    store = open_store(url)
    return world.new_verifier(store), store


# Set in the parent before forking: the workers inherit them (fork start method).
WORLD: World
CHAINS: list[Any] = []
PROOFS: list[list[str]] = []
PROP_PROOFS: list[list[list[str]]] = []  # [round][worker] -> proofs of that round's chain
PROP_PER_WORKER = 300


def _throughput_worker(url: str, i: int, budget: float, barrier: Any, out: Any) -> None:
    verifier, store = _verifier(WORLD, url)
    chain, proofs = CHAINS[i], PROOFS[i]
    verifier.verify(chain, WORLD.prove(chain), REQ)  # warm: connection, token cache
    lat: list[int] = []
    barrier.wait(timeout=60)
    start = time.monotonic()
    errors = 0
    for proof in proofs:
        t = time.perf_counter_ns()
        try:
            verifier.verify(chain, proof, REQ)
        except DelegationError:
            errors += 1
        lat.append(time.perf_counter_ns() - t)
        if time.monotonic() - start > budget:
            break
    end = time.monotonic()
    store.close()
    out.put((start, end, lat, errors))


def _propagation_worker(url: str, i: int, task_round: int, barrier: Any, out: Any) -> None:
    verifier, store = _verifier(WORLD, url)
    chain = CHAINS[len(PROOFS) + task_round]
    proofs = iter(PROP_PROOFS[task_round][i])
    verifier.verify(chain, next(proofs), REQ)
    barrier.wait(timeout=60)
    refused = None
    deadline = time.monotonic() + 10
    for proof in proofs:
        try:
            verifier.verify(chain, proof, REQ)
        except Revoked:
            refused = time.monotonic()
            break
        if time.monotonic() > deadline:
            break
    store.close()
    out.put(refused)


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def run(quick: bool) -> list[str]:
    """The Fleet report (Markdown lines)."""
    global WORLD
    per_worker = 400 if quick else 1500
    budget = 1.0 if quick else 3.0
    rounds = 3 if quick else 7
    t_start = time.monotonic()
    WORLD = World()
    # chains 0..3: one per throughput worker; 4..: one per propagation round (own task)
    for _i in range(max(PROCS)):
        CHAINS.append(WORLD.chain(HOPS))
    PROOFS.extend([WORLD.prove(CHAINS[i]) for _ in range(per_worker)] for i in range(max(PROCS)))
    for r in range(rounds):
        chain = WORLD.root_d.mint(
            to=WORLD.agents[0].agent,
            to_key=WORLD.jwks[0],
            caps=[ROOT_CAP],
            ttl=600,
            depth=HOPS - 1,
            task=f"T-prop-{r}",
            obo="user:alice",
        )
        for hop in range(1, HOPS):
            chain = WORLD.delegate(chain, hop)
        CHAINS.append(chain)
        PROP_PROOFS.append([[WORLD.prove(chain) for _ in range(PROP_PER_WORKER)] for _ in range(4)])
    minted = time.monotonic() - t_start
    ctx = mp.get_context("fork")
    lines = [
        f"_From `benchmarks/bench_fleet.py`{' --quick' if quick else ''}: {os.cpu_count()} CPUs "
        f"({cpu_model()}), load average at start {os.getloadavg()[0]:.2f}; every server, "
        f"verifier and this process share those CPUs. {HOPS}-hop chain + fresh proof per call, "
        f"warm token cache; at most {per_worker} verifications per process or {budget:.0f} s "
        f"per cell; {rounds} propagation rounds (pre-minting: {minted:.1f} s)._",
        "",
        "| store | processes | verifications/s | p50 µs | p99 µs | denied |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    propagation: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, stores(Path(tmp)) as backends:
        missing = (
            "" if len(backends) == 3 else "redis-server/redis-cli not found: Redis rows left out"
        )
        for name, url, empty in backends:
            for n in PROCS:
                empty()
                barrier, out = ctx.Barrier(n), ctx.Queue()
                workers = [
                    ctx.Process(target=_throughput_worker, args=(url, i, budget, barrier, out))
                    for i in range(n)
                ]
                for w in workers:
                    w.start()
                results = [out.get(timeout=120) for _ in workers]
                for w in workers:
                    w.join(timeout=30)
                start = min(r[0] for r in results)
                end = max(r[1] for r in results)
                lat = [x for r in results for x in r[2]]
                errors = sum(r[3] for r in results)
                lines.append(
                    f"| {name} | {n} | {len(lat) / (end - start):,.0f} | {_pct(lat, 0.5):,.0f} "
                    f"| {_pct(lat, 0.99):,.0f} | {errors} |"
                )
            # propagation: 4 verifiers loop on one chain; revoke its task here
            empty()
            times: list[float] = []
            revoker = open_store(url)
            for r in range(rounds):
                barrier, out = ctx.Barrier(5), ctx.Queue()
                workers = [
                    ctx.Process(target=_propagation_worker, args=(url, i, r, barrier, out))
                    for i in range(4)
                ]
                for w in workers:
                    w.start()
                barrier.wait(timeout=60)
                time.sleep(0.05)  # let every verifier be mid-loop
                t0 = time.monotonic()
                revoker.revoke("task", f"T-prop-{r}")
                refused = [out.get(timeout=60) for _ in workers]
                for w in workers:
                    w.join(timeout=30)
                if None in refused:
                    times.append(float("inf"))
                else:
                    times.append(max(refused) - t0)
            revoker.close()
            ms = sorted(t * 1000 for t in times)
            propagation.append(
                f"| {name} | {statistics.median(ms):.2f} | {ms[-1]:.2f} | {rounds} |"
            )
        if missing:
            lines += ["", f"_{missing}._"]
    lines += [
        "",
        "Revocation propagation: from the start of `revoke` at one process until the last "
        "of 4 verifier processes looping on the chain refuses it (`revoked`).",
        "",
        "| store | median ms | max ms | rounds |",
        "| --- | ---: | ---: | ---: |",
        *propagation,
        "",
        f"_Total run: {time.monotonic() - t_start:.1f} s._",
    ]
    return lines


def markdown(quick: bool = False) -> str:
    return "\n".join(run(quick))


def write_section(text: str) -> None:
    """Replace (or append) the "## Fleet" section of RESULTS.md."""
    report = RESULTS.read_text() if RESULTS.exists() else "# delegation: benchmark results\n"
    head, sep, tail = report.partition("\n## Fleet\n")
    rest = ""
    if sep:
        after = tail.find("\n## ")
        rest = tail[after:] if after >= 0 else ""
    section = f"\n## Fleet\n\n{text}\n"
    RESULTS.write_text(head.rstrip("\n") + "\n" + section + rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, 1 s per cell")
    parser.add_argument("--write", action="store_true", help="put the report in RESULTS.md")
    args = parser.parse_args()
    if sys.platform != "linux":
        print("bench_fleet.py needs Linux (fork; one monotonic clock across processes)")
        return
    text = markdown(args.quick)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
