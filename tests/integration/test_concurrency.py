"""Several processes on one SQLite file, one Redis or a Redis Cluster: races have one winner,
no write is lost.

Workers are separate interpreters (multiprocessing "spawn"), each opening its own store
from the URL, released together by a barrier.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from delegation import open_store

T0 = 1_800_000_000.0
WORKERS = 4
PROOFS = 150  # distinct proof keys every worker races for, besides "same-proof"
WRITES = 60  # revocations and records each worker writes


def _in_worker(url: str, barrier: Any, out: Any, work: Callable[[Any], object]) -> None:
    """A worker's frame: open the store, wait for the others, put ("ok", what ``work``
    returns) or ("error", the traceback), close the store."""
    try:
        with closing(open_store(url)) as store:
            barrier.wait(timeout=60)
            out.put(("ok", work(store)))
    except BaseException:
        out.put(("error", traceback.format_exc()))


def _racer(url: str, barrier: Any, out: Any, seed: int) -> None:
    """Worker: present "same-proof" and then every proof key (in its own order)."""
    keys = [f"proof-{(i * (2 * seed + 1)) % PROOFS}" for i in range(PROOFS)]

    def race(store: Any) -> tuple[bool, list[str]]:
        same = store.first_use("same-proof", expires_at=T0 + 600, now=T0)
        return same, [k for k in keys if store.first_use(k, expires_at=T0 + 600, now=T0)]

    _in_worker(url, barrier, out, race)


def _writer(url: str, barrier: Any, out: Any, seed: int) -> None:
    """Worker: revoke its own jtis and store its own records, interleaved with the others."""

    def write(store: Any) -> None:
        for j in range(WRITES):
            store.revoke("jti", f"w{seed}-{j}", until=T0 + 600, now=T0)
            store.put_record("task", f"w{seed}-{j}", {"w": seed, "j": j}, until=None, now=T0)
            store.revoke("task", "shared")  # the same write from everyone: idempotent

    _in_worker(url, barrier, out, write)


def _lengthener(url: str, barrier: Any, out: Any, seed: int) -> None:
    """Worker: revoke two shared keys with interleaved expiries (worker 0 once for ever)."""

    def lengthen(store: Any) -> None:
        for j in range(WRITES):
            until = T0 + 1 + j * WORKERS + seed
            store.revoke("key", "race", until=until, now=T0)
            forever = seed == 0 and j == WRITES // 2
            store.revoke("task", "never", until=None if forever else until, now=T0)

    _in_worker(url, barrier, out, lengthen)


def _run(target: Callable[..., None], url: str) -> list[Any]:
    """Run ``WORKERS`` spawned processes of ``target`` on ``url``; their results."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, barrier, out, i)) for i in range(WORKERS)]
    for p in procs:
        p.start()
    try:
        replies = [out.get(timeout=90) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
            p.close()
        out.close()
        out.join_thread()
    errors = [detail for status, detail in replies if status == "error"]
    assert not errors, errors[0]
    return [detail for _, detail in replies]


@pytest.fixture(params=["sqlite", "redis", "cluster"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL several processes can share: a SQLite file, the test Redis or cluster."""
    if request.param == "sqlite":
        path = tmp_path / "shared.sqlite"
        open_store(f"sqlite:///{path}").close()  # create the schema before the race
        return f"sqlite:///{path}"
    if request.param == "cluster":
        cluster_url: str = request.getfixturevalue("cluster_url")
        return cluster_url + "?wait=1"
    url: str = request.getfixturevalue("redis_url")
    return url


def test_processes_racing_one_proof_exactly_one_wins(shared_url: str) -> None:
    """Of processes presenting the same proof ids at once, exactly one wins each id."""
    results = _run(_racer, shared_url)
    assert sorted(same for same, _ in results) == [False] * (WORKERS - 1) + [True]
    wins = Counter(key for _, won in results for key in won)
    assert len(wins) == PROOFS and set(wins.values()) == {1}
    with closing(open_store(shared_url)) as store:
        assert not store.first_use("same-proof", expires_at=T0 + 600, now=T0 + 1)
        assert store.first_use("same-proof", expires_at=T0 + 1200, now=T0 + 600)


def test_processes_writing_at_once_lose_no_write(shared_url: str) -> None:
    """Every revocation and record written by concurrent processes is there afterwards."""
    _run(_writer, shared_url)
    with closing(open_store(shared_url)) as store:
        names = [f"w{w}-{j}" for w in range(WORKERS) for j in range(WRITES)]
        revoked = store.get_many("rev", (f"jti:{n}" for n in names), now=T0)
        assert len(revoked) == len(names)
        records = store.get_many("task", names, now=T0)
        assert len(records) == len(names)
        assert store.get_record("task", "w3-59", now=T0) == {"w": 3, "j": 59}
        assert store.first_revoked([("task", "shared")], now=T0) == ("task", "shared")
        assert store.first_revoked([("jti", "w0-0")], now=T0 + 600) is None  # until lapsed


def test_processes_revoking_at_once_keep_the_longest(shared_url: str) -> None:
    """Concurrent revocations of one key keep the latest expiry; "never" survives them all."""
    _run(_lengthener, shared_url)
    with closing(open_store(shared_url)) as store:
        last = T0 + WORKERS * WRITES  # the latest expiry any worker wrote
        assert store.first_revoked([("key", "race")], now=last - 0.5) == ("key", "race")
        assert store.first_revoked([("key", "race")], now=last) is None
        assert store.first_revoked([("task", "never")], now=T0 + 1e9) == ("task", "never")
