"""Peer workloads, built to match ours: tenuo, biscuit-python, pymacaroons and naive pyjwt.

Run: ``python benchmarks/bench_peers.py [--quick]`` for a short look at the peers alone
(each workload's self-check, then medians). ``bench_all.py`` imports the workloads from
here and times them interleaved with ours; its numbers are the ones to quote.

Every workload grants the same thing our chains grant - tool ``crm.read`` on resources
under ``customers/`` with ``max_rows <= 100``, narrowed at every later hop to
``customers/eu/`` and ``max_rows <= 50`` - and checks the same request: ``crm.read`` on
``customers/eu/42`` with ``{"max_rows": 10}``. Before timing, each one must allow that
request and deny two out-of-scope ones (another region; too many rows), or the script
stops. README.md says where each is, and is not, equivalent to ``Verifier.verify``.

The peers are optional (``pip install -e '.[bench]'``): a missing one is reported as
missing, never faked.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import importlib
import itertools
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from _common import ARGS, REQ, TOOL_AUD, World, package_version, time_calls
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from delegation import Capability, Request, allows, covers
from delegation.tokens import act_path

__all__ = [
    "PEERS",
    "BiscuitWorkload",
    "Denied",
    "MacaroonWorkload",
    "NaivePyJWT",
    "TenuoWorkload",
    "peer_versions",
]


def optional_import(name: str) -> Any:
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


tenuo_core: Any = optional_import("tenuo_core")
biscuit_auth: Any = optional_import("biscuit_auth")
pymacaroons: Any = optional_import("pymacaroons")

#: distribution name -> import name, for the version table and "missing" notes
PEERS = {"tenuo": "tenuo_core", "biscuit-python": "biscuit_auth", "pymacaroons": "pymacaroons"}

TOOL = REQ.tool
RESOURCE = REQ.resource
MAX_ROWS = int(ARGS["max_rows"])
# The two requests every workload must refuse (self-check): another region, too many rows.
OUT_OF_SCOPE: tuple[tuple[str, int], ...] = (("customers/us/42", 10), ("customers/eu/42", 60))


class Denied(Exception):
    """A peer workload (or the naive loop) refused the request."""


def _denied(check: Callable[[], object]) -> bool:
    """True when ``check`` refuses: it raises (every peer's way) or returns False."""
    try:
        return check() is False
    except Exception:  # each peer has its own denial exceptions
        return True


def peer_versions() -> dict[str, str | None]:
    return {dist: package_version(dist) for dist in PEERS}


# ------------------------------------------------------------------ naive pyjwt loop

_TOKEN_OPTIONS: Any = {
    "require": ["iss", "sub", "aud", "iat", "exp", "jti"],
    # aud is the hop's receiver (checked = sub below); times are checked by hand against
    # the same fixed clock our verifier uses (pyjwt reads the wall clock).
    "verify_aud": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}
_PROOF_OPTIONS: Any = {
    **_TOKEN_OPTIONS,
    "require": ["iss", "aud", "iat", "exp", "jti"],
    "verify_aud": True,
    "strict_aud": True,
}
_TOKEN_HEADER = frozenset({"alg", "typ", "kid"})


@functools.lru_cache(maxsize=1024)
def _ed25519_key(x: str) -> Ed25519PublicKey:
    """A cnf key from its JWK ``x`` (memoised: agents' keys are stable, as in ours)."""
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def _token_id(token: str) -> str:
    signing_input = token[: token.rindex(".")].encode("ascii")
    return base64.urlsafe_b64encode(hashlib.sha256(signing_input).digest()).rstrip(b"=").decode()


def _int(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Denied(f"{name} must be an integer")
    return value


def _str(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str):
        raise Denied(f"{name} must be a string")
    return value


class NaivePyJWT:
    """What a careful pyjwt user writes: ``jwt.decode`` per token, then the same checks.

    Per token: header ``typ``/members, signature (root key by ``kid``, later hops under the
    parent's ``cnf`` key), required claims and their types, ``aud`` = ``sub``, ``prf`` =
    parent's token id, ``iss`` = parent's ``sub``, no repeated ``jti``, the ``cnf`` key
    registered for ``sub``, times (iat/nbf/exp with skew, lifetime, child exp <= parent
    exp), capabilities parsed with ``Capability.from_wire`` and covered via
    ``delegation.covers``, ``dpth`` decreasing, ``task``/``obo`` unchanged, ``act`` path,
    revocation of token ids, jtis, the task and keys (sets). Proof: signature under the
    leaf ``cnf`` key, ``typ``, ``aud``, ``iss`` = leaf ``sub``, lifetime and freshness,
    ``chn``, ``req`` (tool, resource, args digest), ``delegation.allows`` on the leaf
    capabilities, single use (a set).
    """

    def __init__(self, world: World, *, skew: int = 30) -> None:
        orch_pub = world.orch.private_key.public_key()
        assert isinstance(orch_pub, Ed25519PublicKey)
        self.roots: dict[str, tuple[str, Ed25519PublicKey]] = {
            world.orch.kid: (world.orch.agent, orch_pub)
        }
        self.agent_keys: dict[str, frozenset[str]] = {
            a.agent: frozenset({a.public_jwk()["x"]}) for a in world.agents
        }
        self.audience = TOOL_AUD
        self.now = world.clock.now()
        self.skew = skew
        self.max_lifetime = 3600
        self.max_proof_lifetime = 120
        self.max_chain = 16
        self.max_token_bytes = 8 * 1024
        self.revoked: set[str] = set()
        self.seen_proofs: set[str] = set()

    def verify(self, chain_text: str, proof: str, request: Request) -> None:
        """Raise ``Denied`` unless the chain and proof allow ``request`` now."""
        tokens = chain_text.split("~")
        if not 0 < len(tokens) <= self.max_chain:
            raise Denied("chain length")
        now, skew = self.now, self.skew
        parent: dict[str, Any] | None = None
        parent_id = ""
        parent_caps: list[Capability] = []
        issuers: list[str] = []
        seen_jti: set[str] = set()
        key: Ed25519PublicKey
        root_kid = ""
        for i, token in enumerate(tokens):
            if len(token) > self.max_token_bytes:
                raise Denied("token size")
            if parent is None:
                root_kid = jwt.get_unverified_header(token).get("kid", "")
                root = self.roots.get(root_kid)
                if root is None:
                    raise Denied("untrusted root key")
                root_id, key = root
            else:
                key = _ed25519_key(parent["cnf"]["jwk"]["x"])
            try:
                decoded = jwt.decode_complete(
                    token, key, algorithms=["EdDSA"], options=_TOKEN_OPTIONS
                )
            except jwt.PyJWTError as exc:
                raise Denied(f"token {i}: {exc}") from None
            header, c = decoded["header"], decoded["payload"]
            if header.get("typ") != "deleg+jwt" or header.keys() - _TOKEN_HEADER:
                raise Denied("header")
            sub, iss, jti = _str(c, "sub"), _str(c, "iss"), _str(c, "jti")
            if _str(c, "aud") != sub:
                raise Denied("aud must be sub")
            cnf = c.get("cnf")
            if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
                raise Denied("cnf")
            jwk = cnf["jwk"]
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise Denied("cnf key type")
            if jwk.get("x") not in self.agent_keys.get(sub, ()):
                raise Denied("cnf key not registered for sub")
            token_id = _token_id(token)
            if parent is None:
                if c.get("prf") is not None or iss != root_id:
                    raise Denied("root")
            else:
                if c.get("prf") != parent_id or iss != parent["sub"]:
                    raise Denied("broken link")
                if jti in seen_jti:
                    raise Denied("repeated jti")
            seen_jti.add(jti)
            iat, exp = _int(c, "iat"), _int(c, "exp")
            nbf = c.get("nbf")
            if not iat < exp <= iat + self.max_lifetime:
                raise Denied("lifetime")
            if iat > now + skew or (nbf is not None and _int(c, "nbf") > now + skew):
                raise Denied("not yet valid")
            if now >= exp + skew:
                raise Denied("expired")
            raw_caps = c.get("caps")
            if not isinstance(raw_caps, list) or not raw_caps:
                raise Denied("caps")
            caps = [Capability.from_wire(v) for v in raw_caps]
            depth = _int(c, "dpth")
            if depth < 0:
                raise Denied("dpth")
            if parent is not None:
                if exp > parent["exp"]:
                    raise Denied("outlives parent")
                if not all(any(covers(p, cap) for p in parent_caps) for cap in caps):
                    raise Denied("scope escalation")
                if depth > parent["dpth"] - 1:
                    raise Denied("depth")
                if c.get("task") != parent["task"] or c.get("obo") != parent["obo"]:
                    raise Denied("task or principal changed")
            issuers.append(iss)
            if act_path(c["act"]) != issuers:
                raise Denied("act")
            if token_id in self.revoked or jti in self.revoked or jwk["x"] in self.revoked:
                raise Denied("revoked")
            parent, parent_id, parent_caps = c, token_id, caps
        assert parent is not None
        if parent["task"] in self.revoked or root_kid in self.revoked:
            raise Denied("revoked")
        # the proof of possession, under the leaf's cnf key
        try:
            decoded = jwt.decode_complete(
                proof,
                _ed25519_key(parent["cnf"]["jwk"]["x"]),
                algorithms=["EdDSA"],
                audience=self.audience,
                options=_PROOF_OPTIONS,
            )
        except jwt.PyJWTError as exc:
            raise Denied(f"proof: {exc}") from None
        header, p = decoded["header"], decoded["payload"]
        if header.get("typ") != "deleg-proof+jwt" or header.keys() - _TOKEN_HEADER:
            raise Denied("proof header")
        if _str(p, "iss") != parent["sub"]:
            raise Denied("proof holder")
        iat, exp = _int(p, "iat"), _int(p, "exp")
        if not iat < exp <= iat + self.max_proof_lifetime:
            raise Denied("proof lifetime")
        if iat > now + skew or now >= exp + skew:
            raise Denied("proof time")
        if p.get("chn") != parent_id:
            raise Denied("proof chain")
        req = p.get("req")
        if (
            not isinstance(req, dict)
            or req.get("tool") != request.tool
            or req.get("resource") != request.resource
            or req.get("args") != request.args_digest
        ):
            raise Denied("proof request")
        if not any(allows(cap, request) for cap in parent_caps):
            raise Denied("action not granted")
        jti = _str(p, "jti")
        if jti in self.seen_proofs:
            raise Denied("proof replayed")
        self.seen_proofs.add(jti)


# ------------------------------------------------------------------------------ tenuo


class TenuoWorkload:
    """tenuo: a root warrant + 4 attenuations (5 warrants) + a PoP signature: 6 signatures.

    Root warrant (issued by the control-plane key to agent 0): tool ``crm.read`` with
    ``resource = Pattern("customers/*")`` and ``max_rows = Range(max=100)``. Each of the 4
    attenuations is signed by the current holder and binds the next agent's key
    (``holder=``), narrowing to ``Pattern("customers/eu/*")`` and ``Range(max=50)``, with
    a TTL one second shorter than its parent's. The leaf holder signs the PoP over the
    tool, the arguments and the current time. ``Authorizer(trusted_roots=[root])`` then
    runs ``check_chain(warrants, tool, args, signature=pop)``.

    From the wire: the ``X-Tenuo-Warrant`` value (``encode_warrant_stack``) and the
    ``X-Tenuo-PoP`` value (base64 PoP), decoded with ``decode_warrant_stack_base64`` and
    ``b64decode``, as tenuo's FastAPI integration does; a distinct chain each time.
    Pre-parsed: the same ``Warrant`` objects every time (tenuo checks warrant signatures
    while decoding), a fresh PoP each time. PoPs are signed (untimed) just before each
    check: tenuo accepts PoPs by 30 s time window and tries older windows one signature
    at a time, so a stale PoP would cost it extra verifications.
    """

    name = "tenuo"
    sigs = 6

    def __init__(self, n_distinct: int) -> None:
        tc = tenuo_core
        self.root = tc.SigningKey.generate()
        self.agents = [tc.SigningKey.generate() for _ in range(5)]
        self.root_caps = {
            TOOL: {"resource": tc.Pattern("customers/*"), "max_rows": tc.Range(max=100)}
        }
        self.hop_caps = {
            TOOL: {"resource": tc.Pattern("customers/eu/*"), "max_rows": tc.Range(max=50)}
        }
        self.authorizer = tc.Authorizer(trusted_roots=[self.root.public_key])
        self.leaf_key = self.agents[-1]
        self.wire_chains = [tc.encode_warrant_stack(self._chain()) for _ in range(n_distinct)]
        self.parsed_chain = self._chain()

    def _chain(self) -> list[Any]:
        w = tenuo_core.Warrant.issue(
            self.root,
            capabilities=self.root_caps,
            ttl_seconds=3600,
            holder=self.agents[0].public_key,
        )
        chain = [w]
        for i in range(1, len(self.agents)):
            w = w.attenuate(
                self.hop_caps, self.agents[i - 1], ttl_seconds=3600 - i, holder=self.agents[i]
                .public_key,
            )  # fmt: skip
            chain.append(w)
        return chain

    def _pop(self, leaf: Any, args: Mapping[str, Any]) -> bytes:
        return bytes(leaf.sign(self.leaf_key, TOOL, dict(args), int(time.time())))

    def wire_items(self) -> Iterator[tuple[str, str]]:
        """(X-Tenuo-Warrant, X-Tenuo-PoP) for a distinct chain each time, cycling."""
        args = {"resource": RESOURCE, "max_rows": MAX_ROWS}
        leaves = [tenuo_core.decode_warrant_stack_base64(w)[-1] for w in self.wire_chains]
        for stack, leaf in itertools.cycle(zip(self.wire_chains, leaves, strict=True)):
            yield stack, base64.b64encode(self._pop(leaf, args)).decode("ascii")

    def check_wire(self, item: tuple[str, str]) -> object:
        stack, pop = item
        warrants = tenuo_core.decode_warrant_stack_base64(stack)
        args = {"resource": RESOURCE, "max_rows": MAX_ROWS}
        return self.authorizer.check_chain(warrants, TOOL, args, signature=base64.b64decode(pop))

    def parsed_items(self) -> Iterator[tuple[list[Any], bytes]]:
        args = {"resource": RESOURCE, "max_rows": MAX_ROWS}
        leaf = self.parsed_chain[-1]
        while True:
            yield self.parsed_chain, self._pop(leaf, args)

    def check_parsed(self, item: tuple[list[Any], bytes]) -> object:
        chain, pop = item
        args = {"resource": RESOURCE, "max_rows": MAX_ROWS}
        return self.authorizer.check_chain(chain, TOOL, args, signature=pop)

    def selfcheck(self) -> None:
        self.check_wire(next(self.wire_items()))
        self.check_parsed(next(self.parsed_items()))
        chain = self.parsed_chain
        leaf = chain[-1]
        for resource, rows in OUT_OF_SCOPE:
            args = {"resource": resource, "max_rows": rows}
            pop = self._pop(leaf, args)
            check = functools.partial(self.authorizer.check_chain, chain, TOOL, args, signature=pop)
            if not _denied(check):
                raise AssertionError(f"tenuo allowed an out-of-scope request {args}")


# ---------------------------------------------------------------------------- biscuit

_BISCUIT_AUTHORITY = """
right("crm.read");
check if operation($op), right($op);
check if resource($r), $r.starts_with("customers/");
check if arg("max_rows", $n), $n <= 100;
check if time($t), $t <= {exp};
"""
_BISCUIT_BLOCK = """
check if operation("crm.read");
check if resource($r), $r.starts_with("customers/eu/");
check if arg("max_rows", $n), $n <= 50;
check if time($t), $t <= {exp};
"""
_BISCUIT_AUTHORIZER = """
operation({op}); resource({res}); arg("max_rows", {n}); time({now});
allow if operation($op), right($op);
"""


class BiscuitWorkload:
    """biscuit-python: an authority block + 4 attenuation blocks (5 blocks, 5 signatures).

    Authority block (signed by the root key): the fact ``right("crm.read")`` and checks
    that the operation is a granted right, the resource starts with ``customers/``,
    ``max_rows <= 100`` and the time is before the expiry. Each attenuation block adds
    checks: operation ``crm.read``, resource prefix ``customers/eu/``, ``max_rows <= 50``,
    an expiry one second earlier. Authorizer: facts ``operation``, ``resource``,
    ``arg("max_rows", n)`` and ``time(now)`` for the request, and the allow policy
    ``allow if operation($op), right($op)``.

    From the wire: ``Biscuit.from_base64(token, root_public_key)`` (parses and checks
    every block signature), then ``AuthorizerBuilder(code, params).build(token)`` and
    ``authorize()``; a distinct token each time. Pre-parsed: the authorizer part only, on
    an already verified ``Biscuit`` object.
    """

    name = "biscuit"
    sigs = 5

    def __init__(self, n_distinct: int) -> None:
        ba = biscuit_auth
        self.root = ba.KeyPair()
        self.public = self.root.public_key
        self.expires = datetime.now(tz=UTC) + timedelta(hours=1)
        self.wire_tokens = [self._token().to_base64() for _ in range(n_distinct)]
        self.parsed = self._token()

    def _token(self) -> Any:
        ba = biscuit_auth
        token = ba.BiscuitBuilder(_BISCUIT_AUTHORITY, {"exp": self.expires}).build(
            self.root.private_key
        )
        for i in range(1, 5):
            block = ba.BlockBuilder(_BISCUIT_BLOCK, {"exp": self.expires - timedelta(seconds=i)})
            token = token.append(block)
        return token

    def _authorize(self, token: Any, resource: str, rows: int) -> object:
        params = {"op": TOOL, "res": resource, "n": rows, "now": datetime.now(tz=UTC)}
        builder = biscuit_auth.AuthorizerBuilder(_BISCUIT_AUTHORIZER, params)
        # biscuit's default Datalog time limit (1 ms) trips on a loaded machine and the
        # check then fails: raised to 100 ms (one set_limits call per check, in the timing).
        builder.set_limits(_biscuit_limits())
        return builder.build(token).authorize()

    def wire_items(self) -> Iterator[str]:
        return itertools.cycle(self.wire_tokens)

    def check_wire(self, item: str) -> object:
        token = biscuit_auth.Biscuit.from_base64(item, self.public)
        return self._authorize(token, RESOURCE, MAX_ROWS)

    def parsed_items(self) -> Iterator[Any]:
        return itertools.repeat(self.parsed)

    def check_parsed(self, item: Any) -> object:
        return self._authorize(item, RESOURCE, MAX_ROWS)

    def selfcheck(self) -> None:
        assert self.parsed.block_count() == 5
        self.check_wire(self.wire_tokens[0])
        for resource, rows in OUT_OF_SCOPE:
            if not _denied(functools.partial(self._authorize, self.parsed, resource, rows)):
                raise AssertionError(f"biscuit allowed an out-of-scope request {resource} {rows}")


# ------------------------------------------------------------------------- macaroons


class MacaroonWorkload:
    """pymacaroons: one macaroon with 5 first-party caveats; HMAC-SHA256, no signatures.

    Caveats: ``tool = crm.read``, ``task = T-42`` (exact), ``resource prefix
    customers/eu/``, ``max_rows <= 50``, ``expires < T`` (general satisfiers parsing the
    caveat text against the request). The verifier needs the root secret (looked up by
    the macaroon's identifier). From the wire: ``Macaroon.deserialize`` + a ``Verifier``
    with the satisfiers + ``verify``; a distinct macaroon each time. Pre-parsed: the same
    deserialized ``Macaroon`` object every time (the HMAC chain is recomputed anyway).
    """

    name = "pymacaroons"
    sigs = 0

    def __init__(self, n_distinct: int) -> None:
        self.now = int(time.time())
        self.keys: dict[str | bytes, bytes] = {}
        self.wire = [self._macaroon(i).serialize() for i in range(n_distinct)]
        self.parsed = pymacaroons.Macaroon.deserialize(self.wire[0])

    def _macaroon(self, i: int) -> Any:
        ident = f"T-42/{i}"
        key = hashlib.sha256(f"root secret {i}".encode()).digest()
        self.keys[ident] = self.keys[ident.encode()] = key  # deserialized ids are bytes
        m = pymacaroons.Macaroon(
            location="crm", identifier=ident, key=key, version=pymacaroons.MACAROON_V2
        )
        for caveat in (
            f"tool = {TOOL}",
            "task = T-42",
            "resource prefix customers/eu/",
            "max_rows <= 50",
            f"expires < {self.now + 3600}",
        ):
            m.add_first_party_caveat(caveat)
        return m

    def _verify(self, m: Any, resource: str, rows: int) -> bool:
        now = int(time.time())

        def general(caveat: str) -> bool:
            if caveat.startswith("resource prefix "):
                return resource.startswith(caveat[16:])
            if caveat.startswith("max_rows <= "):
                return rows <= int(caveat[12:])
            if caveat.startswith("expires < "):
                return now < int(caveat[10:])
            return False

        v = pymacaroons.Verifier()
        v.satisfy_exact(f"tool = {TOOL}")
        v.satisfy_exact("task = T-42")
        v.satisfy_general(general)
        return bool(v.verify(m, self.keys[m.identifier]))

    def wire_items(self) -> Iterator[str]:
        return itertools.cycle(self.wire)

    def check_wire(self, item: str) -> object:
        return self._verify(pymacaroons.Macaroon.deserialize(item), RESOURCE, MAX_ROWS)

    def parsed_items(self) -> Iterator[Any]:
        return itertools.repeat(self.parsed)

    def check_parsed(self, item: Any) -> object:
        return self._verify(item, RESOURCE, MAX_ROWS)

    def selfcheck(self) -> None:
        assert len(self.parsed.caveats) == 5
        assert self.check_wire(self.wire[0]) is True
        for resource, rows in OUT_OF_SCOPE:
            if not _denied(functools.partial(self._verify, self.parsed, resource, rows)):
                raise AssertionError(f"pymacaroons allowed {resource} {rows}")


@functools.cache
def _biscuit_limits() -> Any:
    limits = biscuit_auth.AuthorizerBuilder("allow if true;").limits()
    limits.max_time = timedelta(milliseconds=100)
    return limits


Workload = TenuoWorkload | BiscuitWorkload | MacaroonWorkload


def available_workloads(n_distinct: int) -> tuple[list[Workload], list[str]]:
    """The installed peers' workloads (self-checked) and the names of the missing ones."""
    out: list[Workload] = []
    missing: list[str] = []
    for dist, module, cls in (
        ("tenuo", tenuo_core, TenuoWorkload),
        ("biscuit-python", biscuit_auth, BiscuitWorkload),
        ("pymacaroons", pymacaroons, MacaroonWorkload),
    ):
        if module is None:
            missing.append(dist)
            continue
        try:  # on a loaded machine a peer's own limits can trip: a row, not a crash
            w = cls(n_distinct)
            w.selfcheck()
        except Exception as exc:
            missing.append(f"{dist} (set-up or self-check failed: {type(exc).__name__}: {exc})")
            continue
        out.append(w)
    return out, missing


def naive_selfcheck(world: World) -> None:
    """The naive loop allows our request and denies the out-of-scope ones."""
    naive = NaivePyJWT(world)
    chain = world.chain(5)
    naive.verify(str(chain), world.prove(chain), REQ)
    for resource, rows in OUT_OF_SCOPE:
        request = Request(tool=TOOL, resource=resource, args={"max_rows": rows})
        try:
            naive.verify(str(chain), world.overreaching_proof(chain, request), request)
        except Denied:
            continue
        raise AssertionError(f"naive pyjwt allowed {resource} {rows}")


# ------------------------------------------------------------------------------ main


def _median_us(fn: Callable[[Any], object], items: Iterator[Any], n: int) -> float:
    ns: list[int] = []
    time_calls(fn, items, n, ns)
    return statistics.median(ns) / 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    args = parser.parse_args(argv)
    n = 100 if args.quick else 500
    workloads, missing = available_workloads(n + 20)
    world = World(n_agents=5)
    naive_selfcheck(world)
    print("self-checks passed: naive pyjwt, " + ", ".join(w.name for w in workloads))
    for dist in missing:
        print(f"{dist}: not installed (pip install -e '.[bench]')")
    print(f"medians over {n} samples (indicative: bench_all.py interleaves and is the reference)")
    for w in workloads:
        wire = _median_us(w.check_wire, w.wire_items(), n)
        parsed = _median_us(w.check_parsed, w.parsed_items(), n)
        print(f"  {w.name:12} from the wire {wire:8.1f} µs   pre-parsed {parsed:8.1f} µs")
    chains = [world.chain(5) for _ in range(n)]
    items = iter([(str(c), world.prove(c)) for c in chains])
    naive = NaivePyJWT(world)
    cold = _median_us(lambda i: naive.verify(i[0], i[1], REQ), items, n)
    print(f"  {'naive pyjwt':12} N=5 cold     {cold:8.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
