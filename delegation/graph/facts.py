"""The facts a delegation graph is made of: tokens (hops), calls, acceptances, revocations
and tasks, with the node ids and trust domains they are filed under.

:class:`~delegation.graph.DelegationGraph` (:mod:`delegation.graph.model`) holds them;
the builders in :mod:`delegation.graph.build` make them from logs and chains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..capabilities import Capability
from .findings import Location, PathStep

if TYPE_CHECKING:
    from ..audit import TokenFacts
    from ..tokens import UnverifiedToken

__all__ = [
    "MAX_LINEAGE",
    "WITNESS_STEPS",
    "Acceptance",
    "Grant",
    "Invocation",
    "Revocation",
    "Signature",
    "TaskFacts",
    "TokenHop",
    "merge",
    "node_id",
    "trust_domain",
]

Signature = Literal["valid", "invalid", "unknown"]
MAX_LINEAGE = 4096  # a claimed lineage longer than this is cut (and reported by DLG005)
WITNESS_STEPS = 20  # at most this many delegation hops in a witness (the ones nearest the leaf)
_KEEP_LOCATIONS = 8  # locations remembered per fact; counts keep going


def node_id(kind: str, name: str) -> str:
    """The graph's node id for an agent, principal or tool.

    >>> node_id("agent", "spiffe://acme.example/agent/planner")
    'agent|spiffe://acme.example/agent/planner'
    """
    return f"{kind}|{name}"


def trust_domain(agent: str) -> str:
    """The SPIFFE trust domain of an agent id, else its URI authority, else its scheme.

    >>> trust_domain("spiffe://acme.example/agent/planner"), trust_domain("urn:agent:x")
    ('acme.example', 'urn')
    """
    scheme, _, rest = agent.partition(":")
    if rest.startswith("//"):
        return rest[2:].split("/", 1)[0].lower()
    return scheme.lower()


@dataclass(slots=True, eq=False)
class TokenHop:
    """One delegation token as the graph knows it (claims, plus what was observed).

    It has the claims :mod:`delegation.checks` reads, so the graph is judged by the
    same code as a live chain. ``signature``: ``valid``/``invalid`` when the token itself
    was read and its key known, else ``unknown``; ``act_ok``: whether ``act`` mirrored
    the path (None when not read); ``verified``: a verifier allowed a decision on a chain
    holding it; ``seen_in``: where it was read.
    """

    token_id: str
    prf: str | None
    iss: str
    sub: str
    jti: str
    task: str
    obo: str | None
    iat: int
    exp: int
    dpth: int
    caps: tuple[Capability, ...]
    receipt: bool = False
    kid: str | None = None
    cnf_kid: str | None = None
    nbf: int | None = None
    signature: Signature = "unknown"
    act_ok: bool | None = None
    receipt_ok: bool | None = None
    verified: bool = False
    seq: int | None = None
    seen_in: list[Location] = field(default_factory=list)
    elevation: str | None = None
    minted: bool = False  # recorded by its signer (mint/delegate event)

    @classmethod
    def of_facts(cls, t: TokenFacts) -> TokenHop:
        return cls(
            token_id=t.token_id,
            prf=t.parent,
            iss=t.iss,
            sub=t.sub,
            jti=t.jti,
            task=t.task,
            obo=t.obo,
            iat=t.iat,
            exp=t.exp,
            dpth=t.dpth,
            caps=t.caps,
            receipt=t.receipt,
            kid=t.kid,
            cnf_kid=t.cnf_kid,
        )

    @classmethod
    def of_token(cls, t: UnverifiedToken) -> TokenHop:
        from ..audit import TokenFacts

        hop = cls.of_facts(TokenFacts.of_token(t))
        hop.nbf = t.claims.nbf
        return hop

    def see(self, where: Location | None) -> None:
        if where is not None and len(self.seen_in) < _KEEP_LOCATIONS:
            self.seen_in.append(where)


@dataclass(slots=True)
class Invocation:
    """One decision on a request: who called which tool with which chain, allowed or not."""

    holder: str
    tool: str
    resource: str
    leaf: str | None  # the leaf token id
    task: str | None
    obo: str | None
    ts: float
    allowed: bool
    code: str
    audience: str
    proof_jti: str | None = None
    proof_iss: str | None = None
    hop: int | None = None
    where: Location | None = None
    seq: int | None = None


@dataclass(slots=True)
class Acceptance:
    """A receiving agent's decision on an inbound delegation (``Verifier.accept``)."""

    token_id: str
    audience: str
    allowed: bool
    code: str
    ts: float
    where: Location | None = None
    seq: int | None = None


@dataclass(slots=True)
class Revocation:
    """A revocation seen in a log: what, when, until when."""

    kind: str
    value: str
    ts: float
    until: float | None
    where: Location | None = None
    seq: int | None = None


@dataclass(slots=True)
class TaskFacts:
    """A task's lifecycle as logged."""

    task: str
    opened: float | None = None
    deadline: float | None = None
    closed: float | None = None
    elevations: list[tuple[str, tuple[Capability, ...], float, float]] = field(
        default_factory=list
    )  # (id, caps, granted_at, until)
    where: Location | None = None


@dataclass(frozen=True)
class Grant:
    """A capability an agent holds, the token that carries it, and the path that delivered it."""

    capability: Capability
    token_id: str
    task: str
    obo: str | None
    path: tuple[PathStep, ...]


def merge(known: TokenHop, new: TokenHop) -> None:
    """Fold a new sighting of a token into the record already held."""
    if known.signature == "unknown":
        known.signature = new.signature
    elif new.signature == "invalid":
        known.signature = "invalid"  # any bad sighting taints it: the bytes differed
    known.verified = known.verified or new.verified
    known.minted = known.minted or new.minted
    if known.act_ok is None:
        known.act_ok = new.act_ok
    if known.receipt_ok is None:
        known.receipt_ok = new.receipt_ok
    if known.nbf is None:
        known.nbf = new.nbf
    if known.seq is None:
        known.seq = new.seq
    known.elevation = known.elevation or new.elevation
    known.kid = known.kid or new.kid
    known.cnf_kid = known.cnf_kid or new.cnf_kid
