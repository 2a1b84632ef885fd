"""Shared pieces of the benchmarks: the test world, sample timing, statistics, machine facts,
Markdown tables.

Not a benchmark itself. ``bench_verify.py``, ``bench_peers.py`` and ``bench_all.py``
import it as ``_common`` (each script's own folder is first on ``sys.path``).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from delegation import (
    AgentKey,
    Capability,
    Chain,
    ChainGrantsOnly,
    Delegator,
    FixedClock,
    MemoryStore,
    Registry,
    Request,
    Verifier,
    parse_unverified,
)

# The tests' forging helpers (tests/forging.py): the one place raw JWS are signed by hand.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from forging import forge

__all__ = [
    "ARGS",
    "HOP_CAP",
    "ORG",
    "REQ",
    "ROOT_CAP",
    "T0",
    "TOOL_AUD",
    "RawCall",
    "Series",
    "World",
    "cpu_model",
    "git_revision",
    "openssl_text",
    "package_version",
    "python_text",
    "signing_input_sizes",
    "table",
    "time_calls",
    "time_raw_batches",
    "time_raw_calls",
    "time_raw_sign",
    "usable_cpus",
]

T = TypeVar("T")

T0 = 1_800_000_000  # a fixed "now" (2027-01-15) for minting and for our verifiers
ORG = "spiffe://acme.example"
TOOL_AUD = f"{ORG}/tool/crm"
ROOT_CAP = Capability(
    tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 100}}
)
HOP_CAP = Capability(
    tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 50}}
)
ARGS: dict[str, Any] = {"max_rows": 10}
REQ = Request(tool="crm.read", resource="customers/eu/42", args=ARGS)

# A raw "call": a bound method and its two arguments, e.g. (pk.verify, sig, msg).
RawCall = tuple[Callable[[bytes, bytes], object], bytes, bytes]


# --------------------------------------------------------------------- statistics


@dataclass
class Series:
    """Timings (ns) of one row."""

    name: str
    ns: list[int] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.ns) / 1000

    @property
    def p90_us(self) -> float:
        return statistics.quantiles(self.ns, n=10, method="inclusive")[8] / 1000


# ---------------------------------------------------------------------------- world


class World:
    """An orchestrator, ``n_agents`` registered agents and one verifier, on a fixed clock.

    Every agent is registered with a baseline (so identity re-authentication runs); the
    root grants ``ROOT_CAP`` and every later hop ``HOP_CAP``; proofs are for ``REQ``.
    """

    def __init__(self, n_agents: int = 10) -> None:
        self.clock = FixedClock(T0)
        self.orch = AgentKey.generate(f"{ORG}/orchestrator")
        self.agents = [AgentKey.generate(f"{ORG}/agent/a{i}") for i in range(n_agents)]
        self.jwks = [a.public_jwk() for a in self.agents]
        self.registry = Registry()
        self.registry.add_root(self.orch.agent, self.orch.public_jwk())
        for a in self.agents:
            self.registry.add_agent(a.agent, a.public_jwk(), baseline=[ROOT_CAP])
        self.root_d = Delegator(self.orch, clock=self.clock)
        self.agent_d = [Delegator(a, clock=self.clock) for a in self.agents]
        self.verifier = self.new_verifier()

    def new_verifier(self, store: Any = None, **kwargs: Any) -> Verifier:
        """A verifier for the tool server: ChainGrantsOnly, ``store`` (default: in memory)
        for revocations and replay, no audit."""
        store = MemoryStore() if store is None else store
        return Verifier(
            registry=self.registry,
            audience=TOOL_AUD,
            policy=ChainGrantsOnly(),
            revocations=store,
            replay=store,
            audit=None,
            clock=self.clock,
            **kwargs,
        )

    def mint_root(self, depth: int) -> Chain:
        return self.root_d.mint(
            to=self.agents[0].agent,
            to_key=self.jwks[0],
            caps=[ROOT_CAP],
            ttl=600,
            depth=depth,
            task="T-42",
            obo="user:alice",
        )

    def delegate(self, chain: Chain, i: int) -> Chain:
        """Hop ``i`` (1-based): agents[i-1] hands the chain on to agents[i]."""
        return self.agent_d[i - 1].delegate(
            chain, to=self.agents[i].agent, to_key=self.jwks[i], caps=[HOP_CAP], ttl=600 - i
        )

    def chain(self, hops: int) -> Chain:
        chain = self.mint_root(depth=hops - 1)
        for i in range(1, hops):
            chain = self.delegate(chain, i)
        return chain

    def prove(self, chain: Chain) -> str:
        return self.agent_d[len(chain) - 1].prove(
            chain, aud=TOOL_AUD, tool=REQ.tool, resource=REQ.resource, args=ARGS
        )

    def overreaching_proof(self, chain: Chain, request: Request) -> str:
        """A validly signed proof for a request the chain does not grant.

        ``Delegator.prove`` refuses to sign one; a compromised holder would not. For the
        self-checks: every verifier under test must deny it.
        """
        req = {"tool": request.tool, "resource": request.resource, "args": request.args_digest}
        return forge(self.prove(chain), signer=self.agents[len(chain) - 1], claims={"req": req})


def signing_input_sizes(chain: Chain, proof: str) -> list[int]:
    """Byte sizes of what the N + 1 signatures cover (``header.payload``)."""
    sizes = [len(t.signing_input) for t in parse_unverified(chain)]
    return [*sizes, len(proof.rsplit(".", 1)[0])]


# ------------------------------------------------------------------------- timing


def time_raw_batches(sets: Sequence[Sequence[RawCall]], k: int, out: list[int]) -> None:
    """``k`` samples; each times one whole set (N + 1 verifications)."""
    clock = time.perf_counter_ns
    for j in range(k):
        batch = sets[j % len(sets)]
        t0 = clock()
        for fn, a, b in batch:
            fn(a, b)
        out.append(clock() - t0)


def time_raw_calls(calls: Sequence[RawCall], k: int, out: list[int]) -> None:
    """``k`` samples; each times one raw call ``fn(a, b)``, cycling through ``calls``."""
    clock = time.perf_counter_ns
    n = len(calls)
    for j in range(k):
        fn, a, b = calls[j % n]
        t0 = clock()
        fn(a, b)
        out.append(clock() - t0)


def time_raw_sign(key: Ed25519PrivateKey, msgs: Sequence[bytes], k: int, out: list[int]) -> None:
    clock = time.perf_counter_ns
    sign = key.sign
    for j in range(k):
        m = msgs[j % len(msgs)]
        t0 = clock()
        sign(m)
        out.append(clock() - t0)


def time_calls(fn: Callable[[T], object], items: Iterator[T], k: int, out: list[int]) -> None:
    """``k`` samples of ``fn(next(items))``, each on a fresh item (``next`` is not timed)."""
    clock = time.perf_counter_ns
    for _ in range(k):
        item = next(items)
        t0 = clock()
        fn(item)
        out.append(clock() - t0)


# -------------------------------------------------------------------- machine facts


def package_version(name: str) -> str | None:
    """The installed distribution's version, or None."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def openssl_text() -> str:
    """The OpenSSL that ``cryptography`` is linked with (informational)."""
    try:
        from cryptography.hazmat.backends.openssl.backend import backend

        return str(backend.openssl_version_text())
    except Exception:  # informational only
        return "?"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "?"


def usable_cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def git_revision() -> str | None:
    """The repository's HEAD (with ``+dirty`` for uncommitted changes), or None."""
    here = os.path.dirname(os.path.abspath(__file__))

    def git(*args: str) -> str:
        cmd = ["git", *args]  # git from PATH
        out = subprocess.run(cmd, cwd=here, capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()

    try:
        rev = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "")


def python_text() -> str:
    return f"{platform.python_implementation()} {sys.version.split()[0]}"


def table(head: Sequence[str], align: str, body: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table; ``align`` has one letter per column (l or r)."""
    rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
    return [
        "| " + " | ".join(head) + " |",
        rule,
        *("| " + " | ".join(r) + " |" for r in body),
    ]
