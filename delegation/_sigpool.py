"""Signature checks of one chain on a small worker pool (``Verifier(workers=N)``).

Both Ed25519 backends release the GIL while they verify. The calling thread and the
pool's threads take a chain's (and its early-parsed proof's) signature jobs one at a
time; only verdicts are computed ahead, and the sequential checks then run in their
usual order, so codes, messages and hops are those of ``workers=1``.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

from .keys import PublicKey
from .tokens import UnverifiedToken

__all__ = ["Batch", "EarlyProof"]


class EarlyProof:
    """A proof parsed before the chain (with a worker pool) and its signature verdict."""

    __slots__ = ("key_kid", "token", "verified")

    def __init__(self, token: UnverifiedToken) -> None:
        self.token = token
        self.verified = False
        self.key_kid: str | None = None


class Batch:
    """One chain's signature jobs, taken one at a time by the caller and the workers.

    Whoever is free takes the next job, so a worker that is slow to start (a busy
    machine) costs nothing: the caller does the jobs no one took. ``done`` is set when
    every job has its verdict.
    """

    def __init__(self, jobs: list[tuple[int, PublicKey, UnverifiedToken]]) -> None:
        self.jobs = jobs
        self.results: list[bool] = [False] * len(jobs)
        self.done = threading.Event()
        self._next = itertools.count()
        self._left = len(jobs)
        self._lock = threading.Lock()

    def work(self) -> None:
        n = len(self.jobs)
        while (k := next(self._next)) < n:  # count() hands each index out once (GIL)
            _, key, t = self.jobs[k]
            # an exception leaves False: the sequential check re-verifies and reports it
            with contextlib.suppress(Exception):
                self.results[k] = key.verify(t.signature, t.signing_input)
            with self._lock:
                self._left -= 1
                if not self._left:
                    self.done.set()
