"""Verification: every check, in a fixed order, in one call (docs/concepts.md).

1. size and shape      2. headers          3. root             4. links and identities
5. time                6. attenuation      7. revocation       8. proof of possession
9. the verifier's own policy               10. audit of the decision (allow or deny)

The first failure wins and raises a coded :class:`~delegation.DelegationError`; any
unexpected failure inside a check raises ``InternalError``: a check that errors denies.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import InitVar, dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, NoReturn, SupportsIndex

from ._cache import ChainVerdicts, PairVerdicts, TokenCache
from ._ids import check_agent_id
from .audit import (
    AcceptEvent,
    AuditSink,
    PolicyFacts,
    ProofFacts,
    RequestFacts,
    TokenFacts,
    VerifyEvent,
    facts_of,
)
from .capabilities import Capability, Request, allows
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
from .clock import Clock, or_system_clock
from .errors import (
    ActionNotGranted,
    AlreadyAccepted,
    AudienceMismatch,
    ConfigurationError,
    DelegationError,
    Expired,
    HolderMismatch,
    InternalError,
    InvalidRequest,
    KeyNotRegistered,
    LifetimeExceeded,
    MalformedError,
    NotYetValid,
    OversizedError,
    PolicyDenied,
    ProofMismatch,
    ProofReplayed,
    Revoked,
    StoreUnavailable,
    UntrustedRoot,
)
from .keys import PublicKey
from .limits import Limits
from .policy import Decision, Policy, PolicyContext
from .policy._explain import explanation_of
from .registry import Registry
from .stores import ReplayCache, RevocationKind, RevocationStore
from .stores.memory import MemoryStore
from .tokens import (
    PROOF_TYP,
    TOKEN_TYP,
    Chain,
    DelegationClaims,
    ProofClaims,
    UnverifiedToken,
    parse_jws,
)

__all__ = ["VerifiedChain", "Verifier"]

_SUPPORTED_ALGS = frozenset({"EdDSA", "ES256"})
_SEAL = object()
_MAX_WORKERS = 8


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that passed verification (built only by :class:`Verifier`).

    ``path`` is the root issuer followed by each hop's subject; ``depth`` the number of
    hops; ``remaining_depth`` how many further hops the holder may delegate. ``action``
    says which call built it: ``verify`` (a request with its proof), ``accept`` (an inbound
    delegation accepted under ``policy_digest``; hand it to ``Delegator.delegate`` to
    attach the receipt), or ``chain`` (steps 1-7 only).
    """

    holder: str
    path: tuple[str, ...]
    root: str
    task: str
    obo: str | None
    depth: int
    remaining_depth: int
    capabilities: tuple[Capability, ...]
    token_ids: tuple[str, ...]
    expires_at: int
    purpose: str | None
    chain: Chain = field(repr=False)
    request: Request | None = None
    decision: Decision | None = None
    action: Literal["verify", "accept", "chain"] = "chain"
    policy_digest: str | None = None
    # The verifier's seal is an InitVar with a default, so dataclasses.replace() passes the
    # default (not the seal) and the copy is refused. ``_sealed`` binds the seal to this very
    # object (its id): a copy of the attributes into another object is not sealed.
    _seal: InitVar[object] = None
    _sealed: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self, _seal: object) -> None:
        if _seal is not _SEAL:
            raise TypeError("VerifiedChain is built only by Verifier")
        object.__setattr__(self, "_sealed", id(self))

    @property
    def sealed(self) -> bool:
        """Whether the :class:`Verifier` built this very object (not a copy made around it)."""
        return self.__dict__.get("_sealed") == id(self)

    def __copy__(self) -> VerifiedChain:
        return self  # immutable: a copy is the object itself, still sealed

    def __deepcopy__(self, memo: dict[int, Any]) -> VerifiedChain:
        return self

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("a VerifiedChain cannot be pickled: send the chain and verify it again")

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``delegation verify --json`` prints on success."""
        out: dict[str, Any] = {
            "ok": True,
            "holder": self.holder,
            "path": list(self.path),
            "root": self.root,
            "task": self.task,
            "obo": self.obo,
            "depth": self.depth,
            "remaining_depth": self.remaining_depth,
            "capabilities": [c.to_wire() for c in self.capabilities],
            "token_ids": list(self.token_ids),
            "expires_at": self.expires_at,
            "purpose": self.purpose,
        }
        if self.request is not None:
            out["request"] = {"tool": self.request.tool, "resource": self.request.resource}
        if self.decision is not None:
            out["decision"] = {
                "effect": self.decision.effect,
                "rules": list(self.decision.rules),
                "policy": self.policy_digest,
            }
        return out


def _stores(
    revocations: RevocationStore | None, replay: ReplayCache | None
) -> tuple[RevocationStore, ReplayCache]:
    """Both stores, or one store serving both; never a silent private half."""
    if revocations is None and replay is None:
        memory = MemoryStore()
        return memory, memory
    if replay is None:
        if not isinstance(revocations, ReplayCache):
            raise ConfigurationError(
                "give replay= too: a private replay cache lets proofs be "
                "replayed at the other verifiers of the deployment"
            )
        return revocations, revocations
    if revocations is None:
        if not isinstance(replay, RevocationStore):
            raise ConfigurationError(
                "give revocations= too: a private revocation list "
                "misses revocations made at the other verifiers"
            )
        return replay, replay
    return revocations, replay


def _with_hop(exc: DelegationError, hop: int | None) -> DelegationError:
    if exc.hop is None:
        exc.hop = hop
    return exc


class Verifier:
    """Verifies inbound chains and proofs for one audience under its own policy.

    Parameters: ``registry`` (trusted roots, known agents), ``audience`` (this verifier's
    agent id, which proofs must name), ``policy`` (required: choose
    :class:`~delegation.ChainGrantsOnly` on purpose if the chain is your whole policy),
    ``revocations`` and ``replay`` (shared stores; in-memory by default; one store may
    serve both), ``audit`` (a sink for every decision), ``clock``, ``limits``,
    ``algorithms`` (allow-list), ``environment`` (attributes policies may match, such as
    ``{"env": "prod"}``), ``require_receipts`` (every non-root hop must carry its
    issuer's signed acceptance of the parent), ``token_cache`` (how many parsed tokens and
    their signature verdicts, and how many passing attenuation verdicts of (parent, child)
    token pairs, keyed by both token ids, to remember; 0 = off; time, revocation, replay
    and policy are checked on every call regardless), ``workers`` (1 to 8 threads that
    check the signatures of one chain and its proof side by side; default 1, no pool;
    both Ed25519 backends release the GIL; verdicts, codes and hops are those of
    ``workers=1``; :meth:`close` or ``with`` shuts the pool down).

    Warning: the stores must be shared by every verifier of a deployment, or a revoked
    token or replayed proof is accepted by the verifier that did not hear of it.
    """

    def __init__(
        self,
        *,
        registry: Registry,
        audience: str,
        policy: Policy,
        revocations: RevocationStore | None = None,
        replay: ReplayCache | None = None,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
        limits: Limits | None = None,
        algorithms: Iterable[str] = ("EdDSA", "ES256"),
        environment: Mapping[str, Any] | None = None,
        require_receipts: bool = False,
        token_cache: int = 4096,
        workers: int = 1,
    ) -> None:
        if not isinstance(registry, Registry):
            raise ConfigurationError("Verifier needs a Registry")
        if not isinstance(policy, Policy):
            raise ConfigurationError(
                "Verifier needs a policy with decide() and digest "
                "(ChainGrantsOnly() to rely on the chain)"
            )
        check_agent_id(audience, what="audience", error=ConfigurationError)
        algs = frozenset(algorithms)
        if not algs or not algs <= _SUPPORTED_ALGS:
            raise ConfigurationError(
                f"algorithms must be a non-empty subset of {sorted(_SUPPORTED_ALGS)}"
            )
        self.registry = registry
        self.audience = audience
        self.policy = policy
        self.revocations, self.replay = _stores(revocations, replay)
        self.audit = audit
        self.clock = or_system_clock(clock)
        self.limits = limits or Limits()
        self.algorithms = algs
        self.environment: Mapping[str, Any] = MappingProxyType(dict(environment or {}))
        self.require_receipts = require_receipts
        if not isinstance(token_cache, int) or token_cache < 0:
            raise ConfigurationError("token_cache must be a size >= 0 (0 turns it off)")
        self._cache = TokenCache(token_cache)
        # Passing attenuation verdicts of (parent, child) by token ids; off with the cache.
        self._pairs = PairVerdicts(token_cache)
        # Passing structural verdicts of whole chains (steps 1-4, 6); off with the cache.
        self._chains = ChainVerdicts(token_cache)
        if type(workers) is not int or not 1 <= workers <= _MAX_WORKERS:
            raise ConfigurationError(f"workers must be an int from 1 to {_MAX_WORKERS}")
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        if workers > 1:  # the calling thread is one of the workers
            self._pool = ThreadPoolExecutor(workers - 1, thread_name_prefix="delegation-verify")
            self._finalizer = weakref.finalize(self, self._pool.shutdown, wait=False)

    def close(self) -> None:
        """Shut the signature worker pool down (waits for running checks); idempotent.

        Later calls check signatures in the calling thread, as with ``workers=1``.
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            self._finalizer.detach()
            pool.shutdown(wait=True)

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public entry points --- #

    def verify(
        self,
        chain: Chain | str,
        proof: str,
        request: Request,
        *,
        labels: Mapping[str, Any] | None = None,
    ) -> VerifiedChain:
        """Verify ``chain`` and ``proof`` for ``request`` now; return the verified chain.

        ``labels`` are facts about this request the caller knows and policies may match
        (``{"sensitivity": "high"}``). Raises a :class:`~delegation.DelegationError`
        subclass with a stable ``code``. Every decision, allow or deny, is audited.
        """
        facts: dict[str, Any] = {"audience": self.audience}
        return self._decide(
            "verify", facts, lambda: self._verify(chain, proof, request, labels, facts)
        )

    def accept(
        self, chain: Chain | str, *, labels: Mapping[str, Any] | None = None
    ) -> VerifiedChain:
        """The receiving agent's check of an inbound delegation, before it does any work.

        Steps 1-7, then: the leaf must be delegated to this verifier's audience, the
        policy decides on action ``"accept"`` (these capabilities, for this task, from
        this delegator), and a given token is accepted only once (shared replay store).
        Audited as event ``accept``. Pass the result to ``Delegator.delegate`` to hand a
        slice on with a receipt. Raises ``audience_mismatch``, ``policy_denied``,
        ``already_accepted`` and every chain code.
        """
        facts: dict[str, Any] = {"audience": self.audience}
        return self._decide("accept", facts, lambda: self._accept(chain, labels, facts))

    def verify_many(
        self, items: Iterable[tuple[Chain | str, str, Request]]
    ) -> list[VerifiedChain | DelegationError]:
        """Verify many ``(chain, proof, request)`` at once, as a gateway does.

        Returns, in order, each item's ``VerifiedChain`` or the ``DelegationError`` that
        denied it: a denial does not stop the batch, and each decision is audited as usual.
        Shared ancestors are parsed and their signatures checked once (token cache).
        Threads do not speed this up (measured: the checks hold the GIL); for more cores,
        run one verifier per process on a shared store.
        """
        out: list[VerifiedChain | DelegationError] = []
        for chain, proof, request in items:
            try:
                out.append(self.verify(chain, proof, request))
            except DelegationError as exc:
                out.append(exc)
        return out

    def verify_chain(self, chain: Chain | str) -> VerifiedChain:
        """Steps 1-7 only: the chain is genuine, linked, in time, attenuated, unrevoked.

        No proof is checked, no policy runs, nothing is audited: for inspection with
        trust (``accept`` is the receiving agent's call).
        """
        try:
            tokens, _, shape = self._chain_checks(chain, {})
        except DelegationError:
            raise
        except Exception as exc:  # a check that errors must deny
            raise InternalError(f"verification failed unexpectedly: {type(exc).__name__}") from exc
        return self._build(shape, tokens, None, None, "chain")

    def _decide(
        self, event: str, facts: dict[str, Any], run: Callable[[], VerifiedChain]
    ) -> VerifiedChain:
        try:
            verified = run()
        except DelegationError as exc:
            self._record(event, facts, exc)
            raise
        except Exception as exc:  # a check that errors must deny
            err = InternalError(f"verification failed unexpectedly: {type(exc).__name__}")
            self._record(event, facts, err)
            raise err from exc
        self._record(event, facts, None)
        return verified

    # --- the steps --- #

    def _verify(
        self,
        chain: Chain | str,
        proof: str,
        request: Request,
        labels: Mapping[str, Any] | None,
        facts: dict[str, Any],
    ) -> VerifiedChain:
        if not isinstance(request, Request):
            raise InvalidRequest("request must be a delegation.Request")
        digest = request.args_digest  # RFC 8785 once per call: for the proof and the audit
        if self.audit is not None:
            facts["request"] = facts_of(
                RequestFacts, {"tool": request.tool, "resource": request.resource, "args": digest}
            )
        early = self._early_proof(proof)
        tokens, keys, shape = self._chain_checks(chain, facts, early)
        now = self.clock.now()
        self._check_proof(proof, tokens[-1], keys[-1], request, digest, now, facts, early)
        decision = self._policy(tokens, shape, request, labels, now, "invoke", facts)
        return self._build(shape, tokens, request, decision, "verify")

    def _accept(
        self, chain: Chain | str, labels: Mapping[str, Any] | None, facts: dict[str, Any]
    ) -> VerifiedChain:
        tokens, _, shape = self._chain_checks(chain, facts)
        leaf: DelegationClaims = tokens[-1].claims
        if leaf.sub != self.audience:
            raise AudienceMismatch(
                f"the delegation is for {leaf.sub}, not for this agent ({self.audience})",
                hop=len(tokens) - 1,
                claim="sub",
            )
        now = self.clock.now()
        decision = self._policy(tokens, shape, None, labels, now, "accept", facts)
        leaf_id = tokens[-1].token_id
        expires_at = leaf.exp + self.limits.clock_skew
        if not self.replay.first_use(f"accept:{leaf_id}", expires_at=expires_at, now=now):
            raise AlreadyAccepted(f"token {leaf_id} was already accepted", hop=len(tokens) - 1)
        return self._build(shape, tokens, None, decision, "accept")

    def _policy(
        self,
        tokens: list[UnverifiedToken],
        shape: _Shape,
        request: Request | None,
        labels: Mapping[str, Any] | None,
        now: float,
        action: Literal["invoke", "accept"],
        facts: dict[str, Any],
    ) -> Decision:
        leaf: DelegationClaims = tokens[-1].claims
        path = shape.path
        context = PolicyContext(
            holder=leaf.sub,
            request=request,
            path=path,
            root=path[0],
            depth=len(tokens),
            remaining_depth=leaf.dpth,
            task=leaf.task,
            obo=leaf.obo,
            purpose=shape.purpose,
            capabilities=shape.capabilities,
            time=now,
            action=action,
            delegator=leaf.iss,
            labels=dict(labels or {}),
            tool_labels=self.registry.tool_labels(request.tool) if request else frozenset(),
            environment=self.environment,
        )
        decision = self.policy.decide(context)
        explanation = None if decision.allowed else explanation_of(decision)
        if self.audit is not None:
            facts["policy"] = facts_of(
                PolicyFacts,
                {
                    "effect": decision.effect,
                    "rules": tuple(decision.rules),
                    "digest": self.policy.digest,
                    "explanation": explanation,
                },
            )
            if labels:
                facts["labels"] = dict(labels)
        if not decision.allowed:
            raise PolicyDenied(
                f"policy denied: {decision.reason or 'no rule allows it'}",
                explanation=explanation or (),
            )
        return decision

    def _early_proof(self, proof: str) -> _EarlyProof | None:
        # With a pool, the proof is parsed before the chain so that its signature joins
        # the chain's on the workers; a parse error is dropped here and raised in its
        # usual place (step 8) by parsing again, so the verdict order does not change.
        if self._pool is None:
            return None
        try:
            p = parse_jws(proof, ProofClaims, what="proof", max_bytes=self.limits.max_token_bytes)
        except DelegationError:
            return None
        return _EarlyProof(p)

    def _chain_checks(
        self, chain: Chain | str, facts: dict[str, Any], early: _EarlyProof | None = None
    ) -> tuple[list[UnverifiedToken], list[PublicKey], _Shape]:
        memo_key = _memo_key(chain) if self._chains.size else None
        if memo_key is not None:
            now = self.clock.now()
            entry = self._chains.get(memo_key, now=now)
            if isinstance(entry, _Structural):
                if self._still_holds(entry):
                    # Steps 1-4 and 6 passed for this very text under these settings and
                    # these registry facts (just looked up again): times and revocation run.
                    if self.audit is not None:
                        facts["chain"] = entry.token_facts()
                    self._check_times(entry.tokens, now)  # 5
                    self._check_revocation(entry.tokens, entry.shape.revocation_items, now)  # 7
                    return entry.tokens, entry.keys, entry.shape
                self._chains.discard(memo_key)
        tokens, keys, fresh = self._parse_chain(chain, facts)  # 1
        for i, t in enumerate(tokens):  # 2 (also for cached tokens: algorithms may change)
            self._check_header(t.header, TOKEN_TYP, hop=i)
            if fresh[i]:
                self._cache.put(t, keys[i], expires=t.claims.exp + self.limits.clock_skew)
        good = self._signatures_ahead(tokens, keys, early) if self._pool else frozenset()
        self._check_root(tokens[0], good)  # 3
        self._check_links(tokens, keys, good)  # 4
        now = self.clock.now()
        self._check_times(tokens, now)  # 5
        self._check_attenuation(tokens)  # 6
        self._check_receipts(tokens, keys)  # 6, re-authorization evidence
        shape = _shape_of(chain, tokens, keys)
        self._check_revocation(tokens, shape.revocation_items, now)  # 7
        if memo_key is not None:
            entry = _Structural(tokens, keys, shape, self, facts.get("chain"))
            self._chains.put(memo_key, entry, expires=shape.expires_at + self.limits.clock_skew)
        return tokens, keys, shape

    def _still_holds(self, entry: _Structural) -> bool:
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
        self, chain: Chain | str, facts: dict[str, Any]
    ) -> tuple[list[UnverifiedToken], list[PublicKey], list[bool]]:
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
        if self.audit is not None:
            facts["chain"] = tuple(TokenFacts.of_token(t) for t in tokens)
        return tokens, keys, fresh

    def _parse_token(self, raw: str, i: int) -> tuple[UnverifiedToken, PublicKey]:
        try:
            t = parse_jws(
                raw, DelegationClaims, what=f"token {i}", max_bytes=self.limits.max_token_bytes
            )
        except DelegationError as exc:
            raise _with_hop(exc, i) from None
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
        _raise(header_problem(header, typ, hop=hop, algorithms=self.algorithms))

    def _signatures_ahead(
        self, tokens: list[UnverifiedToken], keys: list[PublicKey], early: _EarlyProof | None
    ) -> frozenset[int]:
        """Check the chain's (and an early-parsed proof's) signatures on the pool.

        Returns the hops (``-1``: the proof) whose signature verified under the key the
        sequential checks will use. Only the verdict of ``key.verify`` is computed ahead:
        the checks then run in their usual order, and a signature that failed here is
        verified again there, so codes, messages and hops are those of ``workers=1``.
        """
        jobs: list[tuple[int, PublicKey, UnverifiedToken]] = []
        root: DelegationClaims = tokens[0].claims
        root_key = (
            self.registry.root_key(root.iss, tokens[0].header["kid"])
            if self.registry.is_root(root.iss)
            else None
        )
        for i, t in enumerate(tokens):
            key = root_key if i == 0 else keys[i - 1]
            if key is not None and not self._cache.verified(t.raw, key.kid):
                jobs.append((i, key, t))
        if early is not None:
            jobs.append((-1, keys[-1], early.token))
        # signature_problem refuses a kid or alg mismatch before verifying: no job for those
        jobs = [
            j
            for j in jobs
            if j[2].header.get("kid") == j[1].kid and j[2].header.get("alg") == j[1].alg
        ]
        pool = self._pool
        if pool is None or len(jobs) < 2:
            return frozenset()
        batch = _Batch(jobs)
        for _ in range(min(self.workers, len(jobs)) - 1):
            pool.submit(batch.work)
        batch.work()  # the caller takes jobs too, and all of them if no worker starts
        batch.done.wait()
        good = [jobs[k][0] for k, ok in enumerate(batch.results) if ok]
        if early is not None and -1 in good:
            early.verified, early.key_kid = True, keys[-1].kid
        return frozenset(good)

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
        _raise(signature_problem(t, key, hop=hop, whose=whose, known_good=known or ahead))
        if cached and not known:
            self._cache.mark_verified(t.raw, key.kid)

    def _check_root(self, t: UnverifiedToken, good: frozenset[int] = frozenset()) -> None:
        claims: DelegationClaims = t.claims
        _raise(first(root_problems(claims, receipt=claims.rcpt is not None)))
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
            _raise(first(link_problems(child.claims, pc, parent.token_id, i, seen_jti=seen_jti)))
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
            _raise(
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
            _raise(first(attenuation_problems(c, parent, i)) or act_problem(c, parent, i))
            if i:
                pairs.add(tokens[i - 1].token_id, t.token_id)
            parent = c

    def _check_receipts(self, tokens: list[UnverifiedToken], keys: list[PublicKey]) -> None:
        for i in range(1, len(tokens)):
            _raise(
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

    def _check_proof(
        self,
        proof: str,
        leaf: UnverifiedToken,
        leaf_key: PublicKey,
        request: Request,
        digest: str,
        now: float,
        facts: dict[str, Any],
        early: _EarlyProof | None = None,
    ) -> None:
        if early is None:
            p = parse_jws(proof, ProofClaims, what="proof", max_bytes=self.limits.max_token_bytes)
        else:
            p = early.token
        c: ProofClaims = p.claims
        if self.audit is not None:
            facts["proof"] = facts_of(ProofFacts, {"jti": c.jti, "iss": c.iss, "aud": c.aud})
        self._check_header(p.header, PROOF_TYP, hop=None)
        self._check_signature(
            p,
            leaf_key,
            hop=None,
            whose="the key bound to the holder",
            ahead=early is not None and early.verified and early.key_kid == leaf_key.kid,
        )
        lc: DelegationClaims = leaf.claims
        if c.iss != lc.sub:
            raise HolderMismatch(
                f"proof is from {c.iss}, but the chain is held by {lc.sub}", claim="iss"
            )
        if c.aud != self.audience:
            raise AudienceMismatch(
                f"proof is for {c.aud}, not for this verifier ({self.audience})", claim="aud"
            )
        skew = self.limits.clock_skew
        if c.exp <= c.iat or c.exp - c.iat > self.limits.max_proof_lifetime:
            raise LifetimeExceeded(
                f"proof lifetime must be 1..{self.limits.max_proof_lifetime}s", claim="exp"
            )
        if c.iat > now + skew:
            raise NotYetValid("proof was issued in the future (iat)", claim="iat")
        if now >= c.exp + skew:
            raise Expired("proof expired", claim="exp")
        if c.chn != leaf.token_id:
            raise ProofMismatch("proof is for another chain (chn)", claim="chn")
        if c.req.tool != request.tool or c.req.resource != request.resource:
            raise ProofMismatch("proof is for another request (req tool/resource)", claim="req")
        if c.req.args != digest:
            raise ProofMismatch("proof is for other arguments (req.args)", claim="req")
        if not any(allows(cap, request) for cap in lc.caps):
            raise ActionNotGranted(
                f"the chain does not allow {request.tool} on "
                f"{request.resource} with these arguments"
            )
        # Consumed last, so that only an otherwise valid proof uses up its jti.
        if not self.replay.first_use(
            f"proof:{leaf_key.kid}:{c.jti}", expires_at=c.exp + skew, now=now
        ):
            raise ProofReplayed("proof was already used (jti seen before)", jti=c.jti)

    # --- results and audit --- #

    def _build(
        self,
        shape: _Shape,
        tokens: list[UnverifiedToken],
        request: Request | None,
        decision: Decision | None,
        action: Literal["verify", "accept", "chain"],
    ) -> VerifiedChain:
        leaf: DelegationClaims = tokens[-1].claims
        path = shape.path
        return VerifiedChain(
            holder=leaf.sub,
            path=path,
            root=path[0],
            task=leaf.task,
            obo=leaf.obo,
            depth=len(tokens),
            remaining_depth=leaf.dpth,
            capabilities=shape.capabilities,
            token_ids=shape.token_ids,
            expires_at=shape.expires_at,
            purpose=shape.purpose,
            chain=shape.chain,
            request=request,
            decision=decision,
            action=action,
            policy_digest=self.policy.digest if decision is not None else None,
            _seal=_SEAL,
        )

    def _record(self, event: str, facts: dict[str, Any], error: DelegationError | None) -> None:
        if self.audit is None:
            return
        kind: type[VerifyEvent | AcceptEvent] = VerifyEvent if event == "verify" else AcceptEvent
        record: VerifyEvent | AcceptEvent
        try:
            if error is None:
                record = facts_of(kind, {"decision": "allow", "code": "allowed", **facts})
            else:
                values = {"code": error.code, "message": error.message, "hop": error.hop}
                record = facts_of(kind, {"decision": "deny", **values, **facts})
            self.audit.append(record)
        except Exception as exc:  # an audit that cannot record denies: nothing goes unlogged
            reason = exc.message if isinstance(exc, DelegationError) else repr(exc)
            note = "" if error is None else f" (while recording a {error.code} denial)"
            raise StoreUnavailable(f"audit sink failed: {reason}{note}") from (error or exc)


class _EarlyProof:
    """A proof parsed before the chain (with a worker pool) and its signature verdict."""

    __slots__ = ("key_kid", "token", "verified")

    def __init__(self, token: UnverifiedToken) -> None:
        self.token = token
        self.verified = False
        self.key_kid: str | None = None


class _Batch:
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


def _raise(problem: DelegationError | None) -> None:
    if problem is not None:
        raise problem


class _Shape(NamedTuple):
    """What a verified chain's result and checks read from its tokens, computed once."""

    chain: Chain
    path: tuple[str, ...]
    purpose: str | None
    capabilities: tuple[Capability, ...]
    token_ids: tuple[str, ...]
    expires_at: int
    revocation_items: list[tuple[RevocationKind, str]]


def _shape_of(chain: Chain | str, tokens: list[UnverifiedToken], keys: list[PublicKey]) -> _Shape:
    items: list[tuple[RevocationKind, str]] = []
    for t in tokens:
        items += [("token", t.token_id), ("jti", t.claims.jti)]
    items.append(("task", tokens[0].claims.task))
    items.append(("key", tokens[0].header["kid"]))
    items += [("key", k.kid) for k in keys]
    return _Shape(
        chain=chain if isinstance(chain, Chain) else Chain([t.raw for t in tokens]),
        path=(tokens[0].claims.iss, *(t.claims.sub for t in tokens)),
        # The newest stated purpose is the one the holder acts under.
        purpose=next((t.claims.pur for t in reversed(tokens) if t.claims.pur), None),
        capabilities=tuple(tokens[-1].claims.caps),
        token_ids=tuple(t.token_id for t in tokens),
        expires_at=min(t.claims.exp for t in tokens),
        revocation_items=items,
    )


def _memo_key(chain: object) -> object | None:
    """The chain's text or token tuple (exact types only), or None: not memoised."""
    if type(chain) is str:
        return chain
    if type(chain) is Chain:
        return chain.tokens
    return None


class _Structural:
    """A chain's passing structural verdict and what it relied on (``ChainVerdicts``)."""

    __slots__ = ("_facts", "algorithms", "keys", "limits", "require_receipts", "shape", "tokens")

    def __init__(
        self,
        tokens: list[UnverifiedToken],
        keys: list[PublicKey],
        shape: _Shape,
        verifier: Verifier,
        facts: tuple[TokenFacts, ...] | None,
    ) -> None:
        self.tokens, self.keys, self.shape = tokens, keys, shape
        self.limits = verifier.limits
        self.algorithms = verifier.algorithms
        self.require_receipts = verifier.require_receipts
        self._facts = facts

    def token_facts(self) -> tuple[TokenFacts, ...]:
        if self._facts is None:
            self._facts = tuple(TokenFacts.of_token(t) for t in self.tokens)
        return self._facts
