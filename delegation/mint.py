"""Minting: root grants, attenuated delegations, and proofs of possession.

A :class:`Delegator` wraps one agent's key. It refuses to sign anything a verifier would
reject (widening, depth, lifetime beyond the parent or the maximum, a chain it does not
hold), so mistakes surface at the hand-off rather than at the far end.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypedDict

from typing_extensions import Unpack

from ._ids import check_agent_id, is_agent_id, new_jti
from .audit import AuditSink, DelegateEvent, MintEvent, TokenFacts
from .capabilities import Capability, Request, allows, covers
from .checks import Hop, attenuation_problems, first, time_problems
from .clock import Clock, or_system_clock
from .errors import (
    ActionNotGranted,
    ConfigurationError,
    DepthExceeded,
    Expired,
    HolderMismatch,
    InvalidCapability,
    InvalidInput,
    LifetimeExceeded,
    OversizedError,
    ScopeEscalation,
    SecurityWarning,
    TaskNotOpen,
)
from .keys import AgentKey, PublicKey
from .limits import Limits
from .registry import Registry
from .tasks import Elevation, Tasks
from .tokens import (
    PROOF_TYP,
    RECEIPT_TYP,
    TOKEN_TYP,
    Act,
    Chain,
    Confirmation,
    DelegationClaims,
    ReceiptClaims,
    UnverifiedToken,
    cap_wire,
    encode_jws,
    parse_jws,
)
from .verify import VerifiedChain

__all__ = ["Delegator", "new_jti"]  # new_jti re-exported from _ids (benchmarks use it)

CapabilityLike = Capability | Mapping[str, Any] | str
_MAX_DATE = 2**53  # a NumericDate's upper bound (tokens.NumericDate)


def _caps(caps: Iterable[CapabilityLike]) -> list[Capability]:
    out = []
    for c in caps:
        if isinstance(c, Capability):
            out.append(c)
        elif isinstance(c, str):
            out.append(Capability.parse(c))
        else:
            out.append(Capability.from_wire(dict(c)))
    if not out:
        raise InvalidCapability("a delegation needs at least one capability")
    return out


def _public(key: Mapping[str, Any] | PublicKey | AgentKey) -> PublicKey:
    if isinstance(key, AgentKey):
        return key.public
    if isinstance(key, PublicKey):
        return key
    return PublicKey.from_jwk(dict(key))


@functools.lru_cache(maxsize=256)
def _confirmation(key: PublicKey) -> Confirmation:
    # One per key (PublicKey objects are memoised by their JWK), validated once.
    return Confirmation.model_validate({"jwk": key.jwk})


class _NewHop(NamedTuple):
    """The claims of a delegated hop that the checks read (``checks.Hop``), built from
    values known to be valid (``_known_valid``) instead of validated again."""

    iss: str
    sub: str
    iat: int
    exp: int
    nbf: int | None
    jti: str
    prf: str | None
    task: str
    obo: str | None
    dpth: int
    caps: tuple[Capability, ...]


def _known_valid(payload: dict[str, Any], caps: list[Capability]) -> bool:
    """Whether ``DelegationClaims`` is sure to accept a delegated hop's ``payload``.

    Its task, obo and act come from the parent's validated claims, its jti, prf and cnf
    from this module, ``sub`` passed ``check_agent_id`` and ``dpth`` and the lifetime were
    checked in ``_claims``; the rest is checked here (the signer's id, the dates' range,
    ``pur``, ``rcpt``, the capabilities' count). Any doubt: the claims are validated as
    before, with the same errors.
    """
    pur, rcpt = payload.get("pur"), payload.get("rcpt")
    return (
        is_agent_id(payload["iss"])
        and is_agent_id(payload["sub"])
        and payload["iat"] >= 0
        and payload["exp"] <= _MAX_DATE
        and (pur is None or (type(pur) is str and len(pur) <= 1024))
        and (rcpt is None or type(rcpt) is str)
        and 0 < len(caps) <= 256
    )


class _Lineage(TypedDict):
    """What a hop takes from where it stands in a chain (``Delegator._issue``)."""

    task: str
    obo: str | None
    purpose: str | None
    act: Act
    prf: str | None
    rcpt: str | None
    parent: DelegationClaims | None
    hop: int


class Delegator:
    """Mints tokens and proofs with one agent's key.

    >>> orch = AgentKey.generate("spiffe://acme.example/orchestrator")
    >>> planner = AgentKey.generate("spiffe://acme.example/agent/planner")
    >>> chain = Delegator(orch).mint(to=planner.agent, to_key=planner.public_jwk(),
    ...                              caps=["crm.read:customers/**"], ttl=600, task="T-42")
    >>> len(chain)
    1
    """

    def __init__(
        self,
        key: AgentKey,
        *,
        clock: Clock | None = None,
        limits: Limits | None = None,
        audit: AuditSink | None = None,
        tasks: Tasks | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.key = key
        self.clock = or_system_clock(clock)
        self.limits = limits or Limits()
        self.audit = audit
        self.tasks = tasks
        self.registry = registry
        self._leaves: dict[str, UnverifiedToken] = {}  # parsed leaves by text (pure memo)
        self._lock = threading.Lock()

    # --- tokens --- #

    def mint(
        self,
        *,
        to: str,
        to_key: Mapping[str, Any] | PublicKey | AgentKey,
        caps: Iterable[CapabilityLike],
        ttl: int,
        depth: int = 0,
        task: str | None = None,
        obo: str | None = None,
        purpose: str | None = None,
    ) -> Chain:
        """Mint a root token (this key is the orchestrator's) and return a 1-token chain.

        ``depth`` is how many further hops the receiver may delegate (0 = leaf only).
        With ``tasks``, the task must be open and ``exp`` is clipped to its deadline; with
        a ``registry``, the receiver's baseline bounds the grant unless an elevation of the
        task covers the excess. Raises ``LifetimeExceeded``, ``OversizedError``,
        ``InvalidCapability``, ``InvalidKey``, ``TaskNotOpen``, ``ScopeEscalation``.
        """
        now = int(self.clock.now())
        task = task or f"task-{new_jti()}"
        token = self._issue(
            "mint", now, to, to_key, caps, ttl, depth,
            task=task, obo=obo, purpose=purpose, act={"sub": self.key.agent},
            prf=None, rcpt=None, parent=None, hop=0,
        )  # fmt: skip
        return Chain._of_minted((token,))

    def delegate(
        self,
        chain: Chain | VerifiedChain | str,
        *,
        to: str,
        to_key: Mapping[str, Any] | PublicKey | AgentKey,
        caps: Iterable[CapabilityLike],
        ttl: int,
        depth: int | None = None,
        purpose: str | None = None,
        receipt: str | None = None,
    ) -> Chain:
        """Hand a narrower slice of ``chain`` (which this key must hold) on to ``to``.

        ``depth`` defaults to the parent's minus one. The child keeps the chain's task and
        principal and may not outlive its parent. Given the result of ``Verifier.accept``,
        the child carries this agent's signed receipt of that acceptance (``rcpt``).
        Returns a new, longer chain.
        Raises ``HolderMismatch``, ``ScopeEscalation``, ``DepthExceeded``,
        ``LifetimeExceeded``, ``Expired``, ``OversizedError``; ``ConfigurationError`` for a
        ``VerifiedChain`` the ``Verifier`` did not build itself.
        """
        if isinstance(chain, VerifiedChain):
            if not chain.sealed:  # only the Verifier's own object vouches for an acceptance
                raise ConfigurationError(
                    "this VerifiedChain was not built by a Verifier (a copy made around one); "
                    "pass the Verifier's result itself"
                )
            if chain.action == "accept" and receipt is None and chain.policy_digest:
                receipt = self.receipt(chain.token_ids[-1], policy_digest=chain.policy_digest)
            chain = chain.chain
        chain = chain if isinstance(chain, Chain) else Chain.parse(chain)
        if len(chain) + 1 > self.limits.max_chain_length:
            raise OversizedError(
                f"the chain would have {len(chain) + 1} hops, over {self.limits.max_chain_length}"
            )
        leaf = self._held_leaf(chain)
        parent: DelegationClaims = leaf.claims
        now = int(self.clock.now())
        if now >= parent.exp:
            raise Expired("the chain's last token has expired; nothing to delegate")
        if parent.dpth < 1:
            raise DepthExceeded("the chain's last token allows no further delegation (dpth 0)")
        depth = parent.dpth - 1 if depth is None else depth
        token = self._issue(
            "delegate", now, to, to_key, caps, ttl, depth,
            task=parent.task, obo=parent.obo, purpose=purpose,
            act={"sub": self.key.agent, "act": parent.act},
            prf=leaf.token_id, rcpt=receipt, parent=parent, hop=len(chain),
        )  # fmt: skip
        return Chain._of_minted((*chain.tokens, token))

    def _issue(
        self,
        event: str,
        now: int,
        to: str,
        to_key: Mapping[str, Any] | PublicKey | AgentKey,
        caps: Iterable[CapabilityLike],
        ttl: int,
        depth: int,
        **lineage: Unpack[_Lineage],
    ) -> str:
        """One hop: governed (task deadline, receiver's baseline), claimed, signed and
        recorded as ``event`` (``mint`` or ``delegate``). ``lineage``: what ``_claims``
        takes besides the grant (task, obo, purpose, act, prf, rcpt, parent, hop)."""
        children = _caps(caps)
        ttl, elevation = self._governed_ttl(now, ttl, lineage["task"], to, children)
        payload, float_free = self._claims(
            now=now, to=to, to_key=to_key, caps=children, ttl=ttl, depth=depth, **lineage
        )
        token = self._sign(TOKEN_TYP, payload, float_free=float_free)
        self._record(event, token, elevation)
        return token

    def _governed_ttl(
        self, now: int, ttl: int, task: str, to: str, caps: list[Capability]
    ) -> tuple[int, Elevation | None]:
        """Apply the task deadline and the receiver's baseline; say which elevation was used."""
        limit: float | None = None
        if self.tasks is not None:
            limit = self.tasks.require_open(task).deadline
        elevation = None
        entry = self.registry.agents.get(to) if self.registry is not None else None
        if entry is not None and entry.baseline:
            excess = [c for c in caps if not any(covers(b, c) for b in entry.baseline)]
            if excess:
                elevation = self.tasks.elevation(task) if self.tasks is not None else None
                if elevation is None or any(
                    not any(covers(e, c) for e in elevation.caps) for c in excess
                ):
                    raise ScopeEscalation(
                        f"{excess[0]} exceeds the baseline of {to}; it needs an approved "
                        f"elevation of task {task}"
                    )
                limit = elevation.until if limit is None else min(limit, elevation.until)
        if limit is not None and isinstance(ttl, int) and now + ttl > limit:
            ttl = int(limit - now)  # clipped to the task deadline / elevation end
            if ttl <= 0:
                raise TaskNotOpen(f"task {task} has no time left to mint in")
        return ttl, elevation

    def _record(self, event: str, token: str, elevation: Elevation | None) -> None:
        if self.audit is None:
            return
        facts = TokenFacts.of_token(parse_jws(token, DelegationClaims))
        elevated = elevation.id if elevation is not None else None
        kind = MintEvent if event == "mint" else DelegateEvent
        self.audit.append(kind(token=facts, elevation=elevated))

    def _claims(
        self,
        *,
        now: int,
        to: str,
        to_key: Mapping[str, Any] | PublicKey | AgentKey,
        caps: list[Capability],
        ttl: int,
        depth: int,
        task: str,
        obo: str | None,
        purpose: str | None,
        act: Act,
        prf: str | None,
        rcpt: str | None,
        parent: DelegationClaims | None,
        hop: int,
    ) -> tuple[dict[str, Any], bool]:
        """The payload of the new hop (``DelegationClaims.to_payload`` of its validated
        claims, built directly) and whether its capabilities hold no float; refused when
        verification would refuse the claims."""
        check_agent_id(to, what="delegatee id", error=InvalidInput)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise LifetimeExceeded(f"ttl must be a positive number of seconds, not {ttl!r}")
        if ttl > self.limits.max_token_lifetime:  # before exp = now + ttl can overflow
            raise LifetimeExceeded(
                f"ttl {ttl}s is over the {self.limits.max_token_lifetime}s maximum lifetime"
            )
        if len(caps) > self.limits.max_caps_per_token:
            raise OversizedError(f"{len(caps)} capabilities, over {self.limits.max_caps_per_token}")
        if not isinstance(depth, int) or isinstance(depth, bool) or not 0 <= depth <= 64:
            raise DepthExceeded(f"depth must be an integer from 0 to 64, not {depth!r}")
        if depth > 0 and any(c.tool == "**" for c in caps):
            warnings.warn(
                "a capability for every tool ('**') may be delegated further (depth > 0)",
                SecurityWarning,
                stacklevel=3,
            )
        pub = _public(to_key)
        jwk = pub.jwk  # built by PublicKey from a checked key: strings only
        # In DelegationClaims' field order, absent optional claims left out, caps last
        # (what to_payload writes); every value is validated just below.
        payload: dict[str, Any] = {
            "iss": self.key.agent,
            "sub": to,
            "aud": to,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": new_jti(),
            "cnf": {"jwk": jwk},
        }
        if prf is not None:
            payload["prf"] = prf
        payload["task"] = task
        if obo is not None:
            payload["obo"] = obo
        payload["dpth"] = depth
        payload["act"] = act
        if purpose is not None:
            payload["pur"] = purpose
        if rcpt is not None:
            payload["rcpt"] = rcpt
        claims: Hop
        if parent is not None and _known_valid(payload, caps):
            p = payload  # a delegated hop of valid values: DelegationClaims would accept it
            claims = _NewHop(
                p["iss"], to, now, p["exp"], now, p["jti"], prf, task, obo, depth, tuple(caps)
            )
        else:
            try:
                claims = DelegationClaims.model_validate(
                    {**payload, "cnf": _confirmation(pub), "caps": caps}
                )
            except ValueError as exc:  # pydantic ValidationError: a bad task/obo/purpose
                raise InvalidInput(f"cannot mint: {exc.errors()[0]['msg']}") from None  # type: ignore[attr-defined]
        # The verifier's own checks, so that nothing is signed that it would refuse.
        max_life = self.limits.max_token_lifetime
        problem = first(time_problems(claims, parent, hop, max_lifetime=max_life)) or first(
            attenuation_problems(claims, parent, hop)
        )
        if problem is not None:
            raise problem
        wires = [cap_wire(c) for c in caps]  # shared forms, only read from here on
        payload["caps"] = [wire for wire, _ in wires]
        return payload, all(plain for _, plain in wires)

    # --- proofs and receipts --- #

    def prove(
        self,
        chain: Chain | str,
        *,
        aud: str,
        tool: str,
        resource: str,
        args: Mapping[str, Any] | None = None,
        ttl: int = 60,
    ) -> str:
        """A fresh, single-use proof that this key holds ``chain``, for one request to ``aud``.

        Raises ``HolderMismatch``, ``ActionNotGranted`` (the leaf does not allow the
        request), ``LifetimeExceeded`` (ttl over the proof maximum), ``InvalidRequest``.
        """
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            raise InvalidInput(f"proof ttl must be a whole number of seconds, not {ttl!r}")
        chain = chain if isinstance(chain, Chain) else Chain.parse(chain)
        leaf = self._held_leaf(chain)
        request, digest = Request._with_digest(tool=tool, resource=resource, args=dict(args or {}))
        claims: DelegationClaims = leaf.claims
        if not any(allows(c, request) for c in claims.caps):
            raise ActionNotGranted(f"the chain does not allow {tool} on {resource} with these args")
        if not 0 < ttl <= self.limits.max_proof_lifetime:
            raise LifetimeExceeded(
                f"proof ttl must be 1..{self.limits.max_proof_lifetime}s, not {ttl!r}"
            )
        check_agent_id(aud, what="audience", error=InvalidInput)
        now = int(self.clock.now())
        if not 0 <= now <= _MAX_DATE - ttl:
            raise InvalidInput(f"the clock reads {now}, outside the NumericDate range")
        # ProofClaims' fields in order, each already checked: the key's agent id, the
        # audience just above, the dates, a fresh jti, the leaf's token id, and the tool,
        # resource and argument digest of a validated Request (what ProofClaims requires).
        payload = {
            "iss": self.key.agent,
            "aud": aud,
            "iat": now,
            "exp": now + ttl,
            "jti": new_jti(),
            "chn": leaf.token_id,
            "req": {"tool": request.tool, "resource": request.resource, "args": digest},
        }
        return self._sign(PROOF_TYP, payload)

    def receipt(self, token_id: str, *, policy_digest: str) -> str:
        """Sign this agent's acceptance of the token ``token_id`` under a policy."""
        claims = ReceiptClaims(
            par=token_id, pol=policy_digest, dec="allow", iat=int(self.clock.now())
        )
        return self._sign(RECEIPT_TYP, claims.model_dump())

    # --- internals --- #

    def _held_leaf(self, chain: Chain) -> UnverifiedToken:
        raw = chain.tokens[-1]
        leaf = self._leaves.get(raw)
        if leaf is None:
            # An agent proves with the same chain on every call: parse its leaf once.
            leaf = parse_jws(raw, DelegationClaims, what="leaf token")
            with self._lock:
                self._leaves[raw] = leaf
                while len(self._leaves) > 64:
                    self._leaves.pop(next(iter(self._leaves)))
        claims: DelegationClaims = leaf.claims
        if claims.sub != self.key.agent:
            raise HolderMismatch(
                f"the chain is held by {claims.sub}, not by this key's agent {self.key.agent}"
            )
        jwk = claims.cnf.jwk
        # The usual case: the very JWK this key publishes (so its kid); else read it.
        if jwk != self.key.public.jwk and PublicKey.from_jwk(jwk).kid != self.key.kid:
            raise HolderMismatch("this key is not the key the chain is bound to (cnf)")
        return leaf

    def _sign(self, typ: str, payload: dict[str, Any], *, float_free: bool = False) -> str:
        token = encode_jws(self.key, typ, payload, float_free=float_free)
        if len(token) > self.limits.max_token_bytes:
            raise OversizedError(
                f"token is {len(token)} bytes, over the {self.limits.max_token_bytes}-byte limit"
            )
        return token
