"""Steps 1-7 of verification: the chain itself (docs/concepts.md).

1. size and shape      2. headers          3. root             4. links and identities
5. time                6. attenuation      7. revocation

:class:`ChainSteps` is the part of :class:`delegation.Verifier` that checks a chain; the
first failure raises a coded :class:`~delegation.DelegationError`. With the token cache
on, a chain whose text passed steps 1-4 and 6 before is remembered (``ChainVerdicts``)
with what the verdict relied on; times and revocation run on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ._cache import ChainVerdicts, PairVerdicts, TokenCache
from ._sigpool import EarlyProof, SigStream
from .audit import AuditSink, TokenFacts
from .capabilities import Capability
from .checks import (
    act_problem,
    attenuation_problems,
    first,
    header_problem,
    link_problems,
    receipt_problem,
    root_problems,
    signature_problem,
    time_problems,
)
from .clock import Clock
from .errors import (
    DelegationError,
    KeyNotRegistered,
    MalformedError,
    OversizedError,
    Revoked,
    UntrustedRoot,
)
from .keys import PublicKey
from .limits import Limits
from .registry import Registry
from .stores import RevocationKind, RevocationStore
from .tokens import TOKEN_TYP, Chain, DelegationClaims, UnverifiedToken, parse_jws

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["ChainSteps", "Shape", "raise_problem", "with_hop"]


class ChainSteps:
    """Steps 1-7, for :class:`delegation.Verifier` (which sets these attributes)."""

    registry: Registry
    revocations: RevocationStore
    audit: AuditSink | None
    clock: Clock
    limits: Limits
    algorithms: frozenset[str]
    require_receipts: bool
    workers: int
    _cache: TokenCache
    _pairs: PairVerdicts
    _chains: ChainVerdicts
    _pool: ThreadPoolExecutor | None

    def _chain_checks(
        self, chain: Chain | str, facts: dict[str, Any], early: EarlyProof | None = None
    ) -> tuple[list[UnverifiedToken], list[PublicKey], Shape]:
        key = memo_key(chain) if self._chains.size else None
        if key is not None:
            now = self.clock.now()
            entry = self._chains.get(key, now=now)
            if isinstance(entry, Structural):
                if self._still_holds(entry):
                    # Steps 1-4 and 6 passed for this very text under these settings and
                    # these registry facts (just looked up again): times and revocation run.
                    if self.audit is not None:
                        facts["chain"] = entry.token_facts()
                    self._check_times(entry.tokens, now)  # 5
                    self._check_revocation(entry.tokens, entry.shape.revocation_items, now)  # 7
                    return entry.tokens, entry.keys, entry.shape
                self._chains.discard(key)
        stream = SigStream(self._pool, self.workers) if self._pool is not None else None
        try:
            tokens, keys, fresh, parsed = self._parse_chain(chain, facts, stream)  # 1
            for i, t in enumerate(tokens):  # 2 (also for cached tokens: algorithms may change)
                self._check_header(t.header, TOKEN_TYP, hop=i)
                if fresh[i]:
                    self._cache.put(t, keys[i], expires=t.claims.exp + self.limits.clock_skew)
            good = self._signatures(stream, keys, early) if stream is not None else frozenset()
        finally:
            if stream is not None:
                stream.close()
        self._check_root(tokens[0], good)  # 3
        self._check_links(tokens, keys, good)  # 4
        now = self.clock.now()
        self._check_times(tokens, now)  # 5
        self._check_attenuation(tokens)  # 6
        self._check_receipts(tokens, keys)  # 6, re-authorization evidence
        shape = shape_of(parsed, tokens, keys)
        self._check_revocation(tokens, shape.revocation_items, now)  # 7
        if key is not None:
            entry = Structural(tokens, keys, shape, self, facts.get("chain"))
            self._chains.put(key, entry, expires=shape.expires_at + self.limits.clock_skew)
        return tokens, keys, shape

    def _still_holds(self, entry: Structural) -> bool:
        """Whether a remembered verdict's settings and registry facts are still those."""
        if (
            entry.limits is not self.limits
            or entry.algorithms != self.algorithms
            or entry.require_receipts != self.require_receipts
        ):
            return False
        tokens, keys = entry.tokens, entry.keys
        kid = tokens[0].header["kid"]
        root_key = self.registry.root_key(tokens[0].claims.iss, kid)
        if root_key is None or root_key.kid != kid:
            return False
        if self.registry.knows_agents:
            has_key = self.registry.agent_has_key
            return all(has_key(t.claims.sub, k.kid) for t, k in zip(tokens, keys, strict=True))
        return True

    def _parse_chain(
        self, chain: Chain | str, facts: dict[str, Any], stream: SigStream | None = None
    ) -> tuple[list[UnverifiedToken], list[PublicKey], list[bool], Chain]:
        if isinstance(chain, str):
            if len(chain) > self.limits.max_chain_length * (self.limits.max_token_bytes + 1):
                raise OversizedError("chain text is over the size limit")
            chain = Chain.parse(chain)
        elif not isinstance(chain, Chain):
            raise MalformedError("chain must be a Chain or its text form")
        if len(chain) > self.limits.max_chain_length:
            raise OversizedError(
                f"chain has {len(chain)} tokens, over the limit of {self.limits.max_chain_length}"
            )
        tokens: list[UnverifiedToken] = []
        keys: list[PublicKey] = []
        fresh: list[bool] = []
        now = self.clock.now()
        for i, raw in enumerate(chain.tokens):
            cached = self._cache.get(raw, now=now)
            fresh.append(cached is None)
            if cached is None:
                cached = self._parse_token(raw, i)
            tokens.append(cached[0])
            keys.append(cached[1])
            if stream is not None:  # its signature is checked while the next one is parsed
                self._queue_signature(stream, i, tokens[i], keys[i - 1] if i else None)
        if self.audit is not None:
            facts["chain"] = tuple(map(TokenFacts.of_token, tokens, keys))
        return tokens, keys, fresh, chain

    def _parse_token(self, raw: str, i: int) -> tuple[UnverifiedToken, PublicKey]:
        try:
            t = parse_jws(
                raw, DelegationClaims, what=f"token {i}", max_bytes=self.limits.max_token_bytes
            )
        except DelegationError as exc:
            raise with_hop(exc, i) from None
        claims: DelegationClaims = t.claims
        if len(claims.caps) > self.limits.max_caps_per_token:
            raise OversizedError(
                f"token {i} has {len(claims.caps)} capabilities, "
                f"over {self.limits.max_caps_per_token}",
                hop=i,
            )
        if claims.aud != claims.sub:
            raise MalformedError(
                f"token {i}: aud must name the hop's receiver (sub)", hop=i, claim="aud"
            )
        try:
            key = PublicKey.from_jwk(claims.cnf.jwk)
        except DelegationError as exc:
            raise MalformedError(f"token {i}: cnf.jwk: {exc.message}", hop=i, claim="cnf") from None
        return t, key

    def _check_header(self, header: Mapping[str, Any], typ: str, *, hop: int | None) -> None:
        raise_problem(header_problem(header, typ, hop=hop, algorithms=self.algorithms))

    def _queue_signature(
        self, stream: SigStream, i: int, t: UnverifiedToken, key: PublicKey | None
    ) -> None:
        """Queue token ``i``'s signature under the key the sequential checks will use
        (the registered root key for token 0, else the parent's ``cnf``). A kid or alg
        mismatch, which ``signature_problem`` refuses before verifying, gets no job."""
        kid = t.header.get("kid")
        if not isinstance(kid, str):
            return
        if i == 0:
            iss = t.claims.iss
            key = self.registry.root_key(iss, kid) if self.registry.is_root(iss) else None
        if key is None or key.kid != kid or t.header.get("alg") != key.alg:
            return
        if not self._cache.verified(t.raw, key.kid):
            stream.add(i, key, t)

    def _signatures(
        self, stream: SigStream, keys: list[PublicKey], early: EarlyProof | None
    ) -> frozenset[int]:
        """The hops (``-1``: the proof) whose signature verified under the key the
        sequential checks will use; the checks then run in their usual order, and a
        signature that failed here is verified again there, so codes, messages and hops
        are those of ``workers=1``."""
        if early is not None:
            p = early.token
            if p.header.get("kid") == keys[-1].kid and p.header.get("alg") == keys[-1].alg:
                stream.add(-1, keys[-1], p)
        good = stream.finish()
        if early is not None and -1 in good:
            early.verified, early.key_kid = True, keys[-1].kid
        return good

    def _check_signature(
        self,
        t: UnverifiedToken,
        key: PublicKey,
        *,
        hop: int | None,
        whose: str,
        ahead: bool = False,
    ) -> None:
        # Only chain tokens are cached: a proof is single-use, its verdict never reused.
        cached = hop is not None
        known = cached and self._cache.verified(t.raw, key.kid)
        raise_problem(signature_problem(t, key, hop=hop, whose=whose, known_good=known or ahead))
        if cached and not known:
            self._cache.mark_verified(t.raw, key.kid)

    def _check_root(self, t: UnverifiedToken, good: frozenset[int] = frozenset()) -> None:
        claims: DelegationClaims = t.claims
        raise_problem(first(root_problems(claims, receipt=claims.rcpt is not None)))
        if not self.registry.is_root(claims.iss):
            raise UntrustedRoot(f"{claims.iss} is not a trusted root", hop=0, claim="iss")
        key = self.registry.root_key(claims.iss, t.header["kid"])
        if key is None:
            raise UntrustedRoot(
                f"key {t.header['kid']} is not registered for root {claims.iss}", hop=0
            )
        self._check_signature(t, key, hop=0, whose=f"root {claims.iss}'s key", ahead=0 in good)

    def _check_links(
        self,
        tokens: list[UnverifiedToken],
        keys: list[PublicKey],
        good: frozenset[int] = frozenset(),
    ) -> None:
        seen_jti: set[str] = {tokens[0].claims.jti}
        for i in range(1, len(tokens)):
            parent, child = tokens[i - 1], tokens[i]
            pc: DelegationClaims = parent.claims
            raise_problem(
                first(link_problems(child.claims, pc, parent.token_id, i, seen_jti=seen_jti))
            )
            self._check_signature(
                child, keys[i - 1], hop=i, whose=f"the key bound to {pc.sub}", ahead=i in good
            )
        if self.registry.knows_agents:
            for i, t in enumerate(tokens):
                sub = t.claims.sub
                if not self.registry.agent_has_key(sub, keys[i].kid):
                    raise KeyNotRegistered(
                        f"token {i} binds key {keys[i].kid}, which is not a "
                        f"registered key of {sub}",
                        hop=i,
                        claim="cnf",
                    )

    def _check_times(self, tokens: list[UnverifiedToken], now: float) -> None:
        parent: DelegationClaims | None = None
        for i, t in enumerate(tokens):
            c: DelegationClaims = t.claims
            raise_problem(
                first(
                    time_problems(
                        c,
                        parent,
                        i,
                        max_lifetime=self.limits.max_token_lifetime,
                        now=now,
                        skew=self.limits.clock_skew,
                    )
                )
            )
            parent = c

    def _check_attenuation(self, tokens: list[UnverifiedToken]) -> None:
        parent: DelegationClaims | None = None
        pairs = self._pairs
        for i, t in enumerate(tokens):
            c: DelegationClaims = t.claims
            if i and (tokens[i - 1].token_id, t.token_id) in pairs:
                parent = c  # this very pair passed before: its claims cannot have changed
                continue
            raise_problem(first(attenuation_problems(c, parent, i)) or act_problem(c, parent, i))
            if i:
                pairs.add(tokens[i - 1].token_id, t.token_id)
            parent = c

    def _check_receipts(self, tokens: list[UnverifiedToken], keys: list[PublicKey]) -> None:
        for i in range(1, len(tokens)):
            raise_problem(
                receipt_problem(
                    tokens[i],
                    tokens[i - 1],
                    keys[i - 1],
                    i,
                    algorithms=self.algorithms,
                    max_bytes=self.limits.max_token_bytes,
                    skew=self.limits.clock_skew,
                    required=self.require_receipts,
                )
            )

    def _check_revocation(
        self,
        tokens: list[UnverifiedToken],
        items: list[tuple[RevocationKind, str]],
        now: float,
    ) -> None:
        hit = self.revocations.first_revoked(items, now)
        if hit is not None:
            kind, value = hit
            hop = next(
                (i for i, t in enumerate(tokens) if value in (t.token_id, t.claims.jti)), None
            )
            raise Revoked(f"{kind} {value} is revoked", hop=hop)


def raise_problem(problem: DelegationError | None) -> None:
    if problem is not None:
        raise problem


def with_hop(exc: DelegationError, hop: int | None) -> DelegationError:
    if exc.hop is None:
        exc.hop = hop
    return exc


class Shape(NamedTuple):
    """What a verified chain's result and checks read from its tokens, computed once."""

    chain: Chain
    path: tuple[str, ...]
    purpose: str | None
    capabilities: tuple[Capability, ...]
    token_ids: tuple[str, ...]
    expires_at: int
    revocation_items: list[tuple[RevocationKind, str]]


def shape_of(chain: Chain, tokens: list[UnverifiedToken], keys: list[PublicKey]) -> Shape:
    items: list[tuple[RevocationKind, str]] = []
    for t in tokens:
        items += [("token", t.token_id), ("jti", t.claims.jti)]
    items.append(("task", tokens[0].claims.task))
    items.append(("key", tokens[0].header["kid"]))
    items += [("key", k.kid) for k in keys]
    return Shape(
        chain=chain,
        path=(tokens[0].claims.iss, *(t.claims.sub for t in tokens)),
        # The newest stated purpose is the one the holder acts under.
        purpose=next((t.claims.pur for t in reversed(tokens) if t.claims.pur), None),
        capabilities=tuple(tokens[-1].claims.caps),
        token_ids=tuple(t.token_id for t in tokens),
        expires_at=min(t.claims.exp for t in tokens),
        revocation_items=items,
    )


def memo_key(chain: object) -> object | None:
    """The chain's text or token tuple (exact types only), or None: not memoised."""
    if type(chain) is str:
        return chain
    if type(chain) is Chain:
        return chain.tokens
    return None


class Structural:
    """A chain's passing structural verdict and what it relied on (``ChainVerdicts``)."""

    __slots__ = ("_facts", "algorithms", "keys", "limits", "require_receipts", "shape", "tokens")

    def __init__(
        self,
        tokens: list[UnverifiedToken],
        keys: list[PublicKey],
        shape: Shape,
        verifier: ChainSteps,
        facts: tuple[TokenFacts, ...] | None,
    ) -> None:
        self.tokens, self.keys, self.shape = tokens, keys, shape
        self.limits = verifier.limits
        self.algorithms = verifier.algorithms
        self.require_receipts = verifier.require_receipts
        self._facts = facts

    def token_facts(self) -> tuple[TokenFacts, ...]:
        if self._facts is None:
            self._facts = tuple(map(TokenFacts.of_token, self.tokens, self.keys))
        return self._facts
