"""Verification: every check, in a fixed order, in one call (docs/concepts.md).

1. size and shape      2. headers          3. root             4. links and identities
5. time                6. attenuation      7. revocation       8. proof of possession
9. the verifier's own policy               10. audit of the decision (allow or deny)

The first failure wins and raises a coded :class:`~delegation.DelegationError`; any
unexpected failure inside a check raises ``InternalError``: a check that errors denies.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ._audit_events import facts_of
from ._cache import ChainVerdicts, PairVerdicts, TokenCache
from ._ids import check_agent_id
from ._sigpool import EarlyProof
from ._steps import ChainSteps, Shape
from ._verified import SEAL, VerifiedChain
from .audit import (
    AcceptEvent,
    AuditSink,
    PolicyFacts,
    ProofFacts,
    RequestFacts,
    VerifyEvent,
)
from .capabilities import Request, allows
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
    LifetimeExceeded,
    NotYetValid,
    PolicyDenied,
    ProofMismatch,
    ProofReplayed,
    StoreUnavailable,
)
from .keys import PublicKey
from .limits import Limits
from .policy import Decision, Policy, PolicyContext
from .policy._explain import explanation_of
from .registry import Registry
from .stores import ReplayCache, RevocationStore
from .stores.memory import MemoryStore
from .tokens import (
    PROOF_TYP,
    Chain,
    DelegationClaims,
    ProofClaims,
    UnverifiedToken,
    parse_jws,
)

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["VerifiedChain", "Verifier"]

_SUPPORTED_ALGS = frozenset({"EdDSA", "ES256"})
_MAX_WORKERS = 8


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


class Verifier(ChainSteps):
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
            from concurrent.futures import ThreadPoolExecutor  # only with a pool

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
        shape: Shape,
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

    def _early_proof(self, proof: str) -> EarlyProof | None:
        # With a pool, the proof is parsed before the chain so that its signature joins
        # the chain's on the workers; a parse error is dropped here and raised in its
        # usual place (step 8) by parsing again, so the verdict order does not change.
        if self._pool is None:
            return None
        try:
            p = parse_jws(proof, ProofClaims, what="proof", max_bytes=self.limits.max_token_bytes)
        except DelegationError:
            return None
        return EarlyProof(p)

    def _check_proof(
        self,
        proof: str,
        leaf: UnverifiedToken,
        leaf_key: PublicKey,
        request: Request,
        digest: str,
        now: float,
        facts: dict[str, Any],
        early: EarlyProof | None = None,
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
        shape: Shape,
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
            _seal=SEAL,
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
