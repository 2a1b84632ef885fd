"""The audit log's typed events (record schema v1; docs/audit.md): what each record says.

Public names are re-exported by :mod:`delegation.audit`.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter
from pydantic_core import PydanticUndefined

from ._audit_encode import remember_plain
from .capabilities import Capability
from .keys import PublicKey, thumbprint
from .tokens import DelegationClaims, UnverifiedToken

SCHEMA_VERSION = 1
GENESIS = "0" * 64


# --- the events (schema v1; docs/audit.md) --- #


class _Fact(BaseModel):
    # Readers ignore fields they do not know (schema v1 may gain fields).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


def _caps_wire(caps: tuple[Capability, ...]) -> list[dict[str, Any]]:
    return [c.to_wire() for c in caps]


# Capabilities in their wire form (as tokens carry them), read back as Capability objects.
WireCaps = Annotated[tuple[Capability, ...], PlainSerializer(_caps_wire)]


class TokenFacts(_Fact):
    """What a record says of one delegation token (``token`` of mint/delegate, each hop
    of ``chain`` in verify/accept). It has the claims the chain checks read
    (:class:`delegation.checks.Hop`), so a graph built from logs is judged by them."""

    token_id: str
    parent: str | None = None
    iss: str
    sub: str
    jti: str
    kid: str | None = None
    cnf_kid: str | None = None
    task: str
    obo: str | None = None
    iat: int
    exp: int
    dpth: int
    caps: WireCaps
    receipt: bool = False

    @property
    def prf(self) -> str | None:
        """The parent's token id, by its claim name."""
        return self.parent

    @property
    def nbf(self) -> None:
        """Not recorded: the log keeps ``iat``, which minting sets equal to ``nbf``."""
        return None

    @classmethod
    def of_token(cls, t: UnverifiedToken, key: PublicKey | None = None) -> TokenFacts:
        """The facts of a parsed token (trusted input: no validation is repeated);
        ``key``: its ``cnf`` key if already read (whose kid is the JWK's thumbprint)."""
        c: DelegationClaims = t.claims
        cnf_kid = key.kid if key is not None else c.cnf.jwk.get("kid")
        if cnf_kid is None:
            try:
                cnf_kid = thumbprint(dict(c.cnf.jwk))
            except Exception:  # an unusable key binds nothing that can be named
                cnf_kid = None
        kid = t.header.get("kid")
        values = {  # every field, in order: what model_construct would build, quicker
            "token_id": t.token_id,
            "parent": c.prf,
            "iss": c.iss,
            "sub": c.sub,
            "jti": c.jti,
            "kid": kid if isinstance(kid, str) else None,
            "cnf_kid": cnf_kid,
            "task": c.task,
            "obo": c.obo,
            "iat": c.iat,
            "exp": c.exp,
            "dpth": c.dpth,
            "caps": tuple(c.caps),
            "receipt": c.rcpt is not None,
        }
        facts = _construct(cls, set(values), values)
        remember_plain(facts, values)  # its JSON form, for a sink about to write it
        return facts


class _Signed(_Fact):
    token: TokenFacts
    elevation: str | None = None  # the elevation that allowed a grant beyond the baseline


class MintEvent(_Signed):
    """A root grant signed by a ``Delegator``."""

    event: Literal["mint"] = "mint"


class DelegateEvent(_Signed):
    """A delegation (a non-root hop) signed by a ``Delegator``."""

    event: Literal["delegate"] = "delegate"


class RequestFacts(_Fact):
    """The request of a ``verify``: tool, resource and the RFC 8785 digest of its args."""

    tool: str
    resource: str
    args: str


class ProofFacts(_Fact):
    """The proof of a ``verify``, once parsed."""

    jti: str
    iss: str
    aud: str


class PolicyFacts(_Fact):
    """The verifier's policy verdict: effect, the rules that decided, the policy digest,
    and on a deny the policy's explanation (``Decision.explanation``), when it gave one."""

    effect: str
    rules: tuple[str, ...] = ()
    digest: str
    explanation: tuple[str, ...] | None = None


class _Decision(_Fact):
    decision: Literal["allow", "deny"]
    code: str
    message: str | None = None
    hop: int | None = None
    audience: str
    chain: tuple[TokenFacts, ...] | None = None
    policy: PolicyFacts | None = None
    labels: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


class VerifyEvent(_Decision):
    """A ``Verifier.verify`` decision, allow or deny."""

    event: Literal["verify"] = "verify"
    request: RequestFacts | None = None
    proof: ProofFacts | None = None


class AcceptEvent(_Decision):
    """A ``Verifier.accept`` decision: an agent's check of an inbound delegation."""

    event: Literal["accept"] = "accept"


class TaskOpenEvent(_Fact):
    """A task opened, with its deadline."""

    event: Literal["task_open"] = "task_open"
    task: str
    deadline: float
    owner: str | None = None
    purpose: str | None = None


class TaskCloseEvent(_Fact):
    """A task closed (every chain of it revoked)."""

    event: Literal["task_close"] = "task_close"
    task: str
    reason: str | None = None


class ElevateEvent(_Fact):
    """An approved, self-expiring widening beyond the registry baselines for one task."""

    event: Literal["elevate"] = "elevate"
    id: str
    task: str
    caps: WireCaps
    approved_by: str
    reason: str
    granted_at: float
    until: float


class RevokeEvent(_Fact):
    """A revocation of a token id, jti, task or key thumbprint."""

    event: Literal["revoke"] = "revoke"
    kind: Literal["token", "jti", "task", "key"]
    value: str
    until: float | None = None
    reason: str | None = None


AuditEvent = Annotated[
    MintEvent
    | DelegateEvent
    | VerifyEvent
    | AcceptEvent
    | TaskOpenEvent
    | TaskCloseEvent
    | ElevateEvent
    | RevokeEvent,
    Field(discriminator="event"),
]
_EVENT: TypeAdapter[AuditEvent] = TypeAdapter(AuditEvent, config=ConfigDict(defer_build=True))


_M = TypeVar("_M", bound=BaseModel)


def _construct(cls: type[_M], fields_set: set[str], values: dict[str, Any]) -> _M:
    """What ``cls.model_construct`` builds, for values already of the fields' types, in
    the fields' order, every field given: without its per-call field walk."""
    obj = cls.__new__(cls)
    _set = object.__setattr__
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


@functools.cache
def _defaults(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    if any(f.default_factory is not None for f in cls.model_fields.values()):
        raise TypeError(f"{cls.__name__}: a default factory would be shared")  # none has one
    return tuple((name, f.default) for name, f in cls.model_fields.items())


def facts_of(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for trusted values (the verifier's and minter's
    own facts), unknown names dropped, defaults filled in: quicker, the same object."""
    full = {name: values.get(name, default) for name, default in _defaults(cls)}
    if PydanticUndefined in full.values():  # a required field not given: as model_construct
        full = {k: v for k, v in full.items() if v is not PydanticUndefined}
    return _construct(cls, values.keys() & full.keys(), full)
