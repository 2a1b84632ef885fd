"""The chain checks, one implementation each: pure functions over parsed hops.

Every check of verification (docs/concepts.md) that looks only at the tokens lives here,
as a function that yields **every** violation it finds, each as the coded
:class:`~delegation.DelegationError` a verifier raises for it (``hop`` set). The
:class:`~delegation.Verifier` runs them in its fixed order and raises the first; the
delegation-graph detectors run the same functions and collect them all. Checks that need
state (trusted roots, revocations, replay) stay with the verifier.

A *hop* is anything with the claims these checks read (:class:`Hop`): a token's
:class:`~delegation.tokens.DelegationClaims`, or the token facts of an audit record
(:class:`~delegation.audit.TokenFacts`), so a graph built from audit logs alone is
judged by the very code that judged the live chain.

>>> from delegation import Capability
>>> from delegation.tokens import DelegationClaims
>>> def hop(caps, dpth, **kw):
...     base = dict(iss="x:o", sub="x:p", aud="x:p", iat=0, exp=60, jti="j" * 22,
...                 cnf={"jwk": {}}, task="T", caps=caps, dpth=dpth, act={"sub": "x:o"})
...     return DelegationClaims.model_validate({**base, **kw})
>>> parent = hop([Capability(tool="crm.read")], 1)
>>> child = hop([Capability(tool="crm.*")], 1, iss="x:p", sub="x:r", aud="x:r")
>>> [e.code for e in attenuation_problems(child, parent, 1)]
['scope_escalation', 'depth_exceeded']
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any, Protocol

from .capabilities import Capability, covers
from .errors import (
    ActMismatch,
    AlgNotAllowed,
    BadHeader,
    BadReceipt,
    BadSignature,
    BrokenLink,
    DelegationError,
    DepthExceeded,
    Expired,
    LifetimeExceeded,
    NotYetValid,
    PrincipalMismatch,
    ReceiptMissing,
    ScopeEscalation,
    TaskMismatch,
    WrongTokenType,
)
from .keys import PublicKey
from .tokens import RECEIPT_TYP, DelegationClaims, ReceiptClaims, UnverifiedToken, parse_jws

__all__ = [
    "ALLOWED_HEADER",
    "Hop",
    "act_problem",
    "attenuation_problems",
    "first",
    "header_problem",
    "link_problems",
    "receipt_problem",
    "root_problems",
    "signature_problem",
    "task_problems",
    "time_problems",
]

ALLOWED_HEADER = frozenset({"alg", "typ", "kid"})


class Hop(Protocol):
    """The claims of one delegation hop that the checks read."""

    @property
    def iss(self) -> str: ...
    @property
    def sub(self) -> str: ...
    @property
    def iat(self) -> int: ...
    @property
    def exp(self) -> int: ...
    @property
    def nbf(self) -> int | None: ...
    @property
    def jti(self) -> str: ...
    @property
    def prf(self) -> str | None: ...
    @property
    def task(self) -> str: ...
    @property
    def obo(self) -> str | None: ...
    @property
    def dpth(self) -> int: ...
    @property
    def caps(self) -> tuple[Capability, ...]: ...


def first(problems: Iterator[DelegationError]) -> DelegationError | None:
    """The first violation a check yields, or None: what a verifier raises."""
    return next(problems, None)


def header_problem(
    header: Mapping[str, Any], typ: str, *, hop: int | None, algorithms: Collection[str]
) -> DelegationError | None:
    """Step 2: an allowed ``alg``, no ``crit`` nor key-bearing members, ``typ``, a ``kid``."""
    what = "proof" if hop is None else f"token {hop}"
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        return AlgNotAllowed(
            f"{what}: alg {alg!r} is not allowed (allowed: {', '.join(sorted(algorithms))})",
            hop=hop,
        )
    if "crit" in header:
        return BadHeader(f"{what}: 'crit' header is not supported", hop=hop, claim="crit")
    extra = header.keys() - ALLOWED_HEADER
    if extra:
        return BadHeader(
            f"{what}: header member(s) {sorted(extra)} not allowed "
            "(keys are never taken from a token)",
            hop=hop,
        )
    if header.get("typ") != typ:
        return WrongTokenType(f"{what}: typ {header.get('typ')!r}, expected {typ!r}", hop=hop)
    if not isinstance(header.get("kid"), str):
        return BadHeader(f"{what}: header needs a 'kid' string", hop=hop, claim="kid")
    return None


def signature_problem(
    t: UnverifiedToken,
    key: PublicKey,
    *,
    hop: int | None,
    whose: str,
    what: str | None = None,
    known_good: bool = False,
) -> DelegationError | None:
    """Steps 3-4: signed by ``key`` (its ``kid``), with the algorithm pinned to the key.

    ``known_good``: this exact token already verified under this very key (a cache's
    verdict), so the signature itself need not be checked again.
    """
    what = what or ("proof" if hop is None else f"token {hop}")
    if t.header.get("kid") != key.kid:
        return BadSignature(
            f"{what} is signed by key {t.header.get('kid')}, not {whose} ({key.kid})", hop=hop
        )
    if t.header.get("alg") != key.alg:
        return AlgNotAllowed(
            f"{what}: alg {t.header.get('alg')} does not match the "
            f"{key.alg} key it must be verified with",
            hop=hop,
        )
    if not known_good and not key.is_valid(t.signature, t.signing_input):
        return BadSignature(f"{what}: signature does not verify under {whose}", hop=hop)
    return None


def root_problems(root: Hop, *, receipt: bool) -> Iterator[DelegationError]:
    """A root grant names no parent and carries no receipt (there is nothing to accept)."""
    if root.prf is not None:
        yield BrokenLink(
            "token 0 names a parent: the chain does not start at a root grant",
            hop=0,
            claim="prf",
        )
    if receipt:
        yield BadReceipt(
            "token 0 carries a receipt: a root grant accepts no parent", hop=0, claim="rcpt"
        )


def link_problems(
    child: Hop, parent: Hop, parent_id: str, hop: int, *, seen_jti: set[str] | None = None
) -> Iterator[DelegationError]:
    """Step 4: ``prf`` names the parent, the issuer is the parent's subject, jti unique.

    ``seen_jti`` (the jtis of the hops above, updated here) finds a jti repeated
    within one chain.
    """
    if child.prf != parent_id:
        yield BrokenLink(
            f"token {hop} does not name token {hop - 1} as its parent (prf)", hop=hop, claim="prf"
        )
    if child.iss != parent.sub:
        yield BrokenLink(
            f"token {hop} is issued by {child.iss}, but token {hop - 1} was delegated "
            f"to {parent.sub}",
            hop=hop,
            claim="iss",
        )
    if seen_jti is not None:
        if child.jti in seen_jti:
            yield BrokenLink(f"token {hop} repeats a jti of the chain", hop=hop, claim="jti")
        seen_jti.add(child.jti)


def time_problems(
    child: Hop,
    parent: Hop | None,
    hop: int,
    *,
    max_lifetime: int,
    now: float | None = None,
    skew: int = 0,
) -> Iterator[DelegationError]:
    """Step 5: a sane lifetime within the maximum, not outliving the parent, and (given
    ``now``) valid now within ``skew`` seconds."""
    if child.exp <= child.iat:
        yield LifetimeExceeded(f"token {hop}: exp is not after iat", hop=hop, claim="exp")
    elif child.exp - child.iat > max_lifetime:
        yield LifetimeExceeded(
            f"token {hop}: lifetime {child.exp - child.iat}s is over the {max_lifetime}s maximum",
            hop=hop,
            claim="exp",
        )
    if now is not None:
        if child.iat > now + skew:
            yield NotYetValid(f"token {hop} was issued in the future (iat)", hop=hop, claim="iat")
        if child.nbf is not None and child.nbf > now + skew:
            yield NotYetValid(f"token {hop} is not valid yet (nbf)", hop=hop, claim="nbf")
        if now >= child.exp + skew:
            yield Expired(f"token {hop} expired", hop=hop, claim="exp")
    if parent is not None and child.exp > parent.exp:
        yield LifetimeExceeded(f"token {hop} outlives its parent", hop=hop, claim="exp")


def attenuation_problems(child: Hop, parent: Hop | None, hop: int) -> Iterator[DelegationError]:
    """Step 6: every capability covered by the parent's, ``dpth`` strictly decreasing,
    ``task`` and ``obo`` unchanged. A root (no parent) has nothing to attenuate."""
    if parent is None:
        return
    for cap in child.caps:
        if not any(covers(p, cap) for p in parent.caps):
            yield ScopeEscalation(
                f"token {hop} grants {cap}, which token {hop - 1} does not cover",
                hop=hop,
                claim="caps",
            )
    if child.dpth > parent.dpth - 1:
        yield DepthExceeded(
            f"token {hop} has dpth {child.dpth}; its parent allows at most {parent.dpth - 1}",
            hop=hop,
            claim="dpth",
        )
    yield from task_problems(child, parent, hop)


def task_problems(child: Hop, parent: Hop, hop: int) -> Iterator[DelegationError]:
    """Step 6, the part about whom and what for: ``task`` and ``obo`` unchanged."""
    if child.task != parent.task:
        yield TaskMismatch(f"token {hop} changes the task", hop=hop, claim="task")
    if child.obo != parent.obo:
        yield PrincipalMismatch(f"token {hop} changes the principal (obo)", hop=hop, claim="obo")


def act_problem(
    child: DelegationClaims, parent: DelegationClaims | None, hop: int
) -> DelegationError | None:
    """Step 6: ``act`` is {issuer, the parent's act}; by induction it mirrors every issuer."""
    expected = {"sub": child.iss} if parent is None else {"sub": child.iss, "act": parent.act}
    if child.act != expected:
        return ActMismatch(
            f"token {hop}: act does not mirror the chain's issuers", hop=hop, claim="act"
        )
    return None


def receipt_problem(
    child: UnverifiedToken,
    parent: UnverifiedToken,
    parent_key: PublicKey,
    hop: int,
    *,
    algorithms: Collection[str],
    max_bytes: int,
    skew: int,
    required: bool,
) -> DelegationError | None:
    """Step 6, re-authorization evidence: a receipt on a non-root hop is the issuer's
    signed acceptance of exactly the parent, dated within the hop; ``required``: every
    non-root hop has one."""
    cc: DelegationClaims = child.claims
    if cc.rcpt is None:
        if not required:
            return None
        return ReceiptMissing(
            f"token {hop} carries no receipt: no evidence that {cc.iss} "
            f"verified and accepted token {hop - 1}",
            hop=hop,
            claim="rcpt",
        )
    what = f"token {hop} receipt"
    try:
        r = parse_jws(cc.rcpt, ReceiptClaims, what=what, max_bytes=max_bytes)
    except DelegationError as exc:
        return BadReceipt(f"{what}: {exc.message}", hop=hop, claim="rcpt")
    bad = header_problem(r.header, RECEIPT_TYP, hop=hop, algorithms=algorithms) or (
        signature_problem(r, parent_key, hop=hop, whose=f"the key of {cc.iss}", what="it")
    )
    if bad is not None:
        return BadReceipt(f"{what}: {bad.message}", hop=hop, claim="rcpt")
    rc: ReceiptClaims = r.claims
    if rc.par != parent.token_id:
        return BadReceipt(
            f"{what} accepts another token, not token {hop - 1}", hop=hop, claim="rcpt"
        )
    pc: DelegationClaims = parent.claims
    if not pc.iat - skew <= rc.iat <= cc.iat + skew:
        return BadReceipt(f"{what} is dated outside the hop it evidences", hop=hop, claim="rcpt")
    return None
