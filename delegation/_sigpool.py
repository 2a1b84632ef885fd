"""Signature checks of one chain on a small worker pool (``Verifier(workers=N)``).

Both Ed25519 backends release the GIL while they verify. The calling thread and the
pool's threads take a chain's (and its early-parsed proof's) signature jobs one at a
time; only verdicts are computed ahead, and the sequential checks then run in their
usual order, so codes, messages and hops are those of ``workers=1``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from .keys import PublicKey
from .tokens import UnverifiedToken

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["EarlyProof", "SigStream"]


class EarlyProof:
    """A proof parsed before the chain (with a worker pool) and its signature verdict."""

    __slots__ = ("key_kid", "token", "verified")

    def __init__(self, token: UnverifiedToken) -> None:
        self.token = token
        self.verified = False
        self.key_kid: str | None = None


class SigStream:
    """One chain's signature jobs, added as its tokens are parsed, taken by the workers.

    Parsing is Python under the GIL; an Ed25519 check is a C call that releases it. So
    the pool's threads verify the signatures of the tokens already parsed while the
    calling thread parses the next ones; :meth:`finish` has the caller take the jobs no
    one took (a worker slow to start on a busy machine costs nothing) and returns the
    jobs whose signature verified. :meth:`close` (always called, in a ``finally``) lets
    waiting workers go when the caller stops early. Only verdicts are computed here.
    """

    def __init__(self, pool: ThreadPoolExecutor, workers: int) -> None:
        self._pool = pool
        self._spare = workers - 1  # pool tasks still to start (the caller is a worker)
        self._jobs: list[tuple[int, PublicKey, UnverifiedToken]] = []
        self._good: set[int] = set()
        self._next = 0
        self._busy = 0
        self._closed = False
        self._cond = threading.Condition()

    def add(self, job: int, key: PublicKey, token: UnverifiedToken) -> None:
        """Queue the check of ``token``'s signature under ``key`` (``job``: its hop)."""
        with self._cond:
            self._jobs.append((job, key, token))
            queued = len(self._jobs) - self._next
            self._cond.notify()
        if self._spare > 0 and queued > 1:  # one job alone: the caller will take it
            self._spare -= 1
            with contextlib.suppress(RuntimeError):  # the pool was shut down: the caller works
                self._pool.submit(self._work)

    def _take(self) -> tuple[int, PublicKey, UnverifiedToken] | None:
        # with the lock held
        if self._next >= len(self._jobs):
            return None
        job = self._jobs[self._next]
        self._next += 1
        self._busy += 1
        return job

    def _run(self, job: tuple[int, PublicKey, UnverifiedToken]) -> None:
        hop, key, t = job
        ok = False
        # an exception leaves False: the sequential check re-verifies and reports it
        with contextlib.suppress(Exception):
            ok = key.is_valid(t.signature, t.signing_input)
        with self._cond:
            if ok:
                self._good.add(hop)
            self._busy -= 1
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                job = self._take()
                while job is None and not self._closed:
                    self._cond.wait()
                    job = self._take()
            if job is None:
                return
            self._run(job)

    def finish(self) -> frozenset[int]:
        """No more jobs: take those left, wait for the rest; the hops that verified."""
        self.close()
        while True:
            with self._cond:
                job = self._take()
            if job is None:
                break
            self._run(job)
        with self._cond:
            while self._busy:
                self._cond.wait()
            return frozenset(self._good)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
