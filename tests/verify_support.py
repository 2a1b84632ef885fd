"""Helpers of the verification tests (tests/unit/verify/): chains made the Delegator's way,
the keys of a :class:`support.World`, the ES256 high-S twin, and ``rejected``, which checks
that a denial was audited with its code, and the failing or recording sinks and stores.
"""

from __future__ import annotations

from typing import Any, Final

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448
from forging import b64d, b64e, forge
from support import NARROW, REQ, World

from delegation import (
    AgentKey,
    Capability,
    Chain,
    DelegationError,
    MemoryStore,
    Request,
    parse_unverified,
)
from delegation.audit import AuditEvent

P256_N: Final = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
ED25519_L: Final = 2**252 + 27742317777372353535851937790883648493


def with_hop(chain: Chain, hop: int, token: str) -> Chain:
    """``chain`` with token ``hop`` replaced."""
    tokens = list(chain.tokens)
    tokens[hop] = token
    return Chain(tokens)


def issuer(world: World, hop: int) -> AgentKey:
    """The key that signs token ``hop`` of a ``world.chain``: orch, then a0, a1..."""
    return world.orch if hop == 0 else world.agents[hop - 1]


def key_of(world: World, agent: str) -> AgentKey:
    """The world's key for an agent id."""
    return next(k for k in (world.orch, *world.agents) if k.agent == agent)


def holder_of(world: World, chain: Chain) -> AgentKey:
    """The world's key for the chain's final holder."""
    return key_of(world, parse_unverified(chain)[-1].claims.sub)


def extend(
    world: World,
    chain: Chain,
    to: AgentKey,
    *,
    caps: list[Capability] | None = None,
    ttl: int = 300,
    **kw: Any,
) -> Chain:
    """Delegate ``chain`` from its current holder on to ``to`` (the Delegator's way)."""
    return world.delegator(holder_of(world, chain)).delegate(
        chain, to=to.agent, to_key=to.public_jwk(), caps=caps or [NARROW], ttl=ttl, **kw
    )


def high_s_twin(token: str) -> str:
    """The ES256 high-S twin: replace s by n - s in the raw r||s signature."""
    h64, p64, s64 = token.split(".")
    sig = b64d(s64)
    s = int.from_bytes(sig[32:], "big")
    return f"{h64}.{p64}.{b64e(sig[:32] + (P256_N - s).to_bytes(32, 'big'))}"


def rejected(
    world: World, chain: Chain | str, proof: str, request: Request = REQ, **verifier_kw: Any
) -> DelegationError:
    """Verify, expect a DelegationError, and check the denial was audited with its code."""
    before = len(world.audit.records)
    with pytest.raises(DelegationError) as ei:
        world.verifier(**verifier_kw).verify(chain, proof, request)
    assert len(world.audit.records) == before + 1
    record = world.audit.records[-1]
    assert record["decision"] == "deny"
    assert record["code"] == ei.value.code
    assert record.get("hop") == ei.value.hop
    return ei.value


def rejected_forgery(world: World, chain: Chain, hop: int, **forge_kw: Any) -> DelegationError:
    """``chain`` with token ``hop`` rewritten by :func:`forging.forge` (``forge_kw``),
    presented with the holder's proof: the audited denial, as :func:`rejected` returns it."""
    forged = forge(chain.tokens[hop], **forge_kw)
    return rejected(world, with_hop(chain, hop, forged), world.prove(chain))


def ed448_jwk(private: ed448.Ed448PrivateKey) -> dict[str, str]:
    """The public OKP JWK of an Ed448 key."""
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed448", "x": b64e(raw)}


class DownAudit:
    """An audit sink whose backend fails."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def append(self, event: AuditEvent) -> None:
        raise self.exc


class RecordingStore(MemoryStore):
    """A memory store that remembers the expiry of every single-use entry (replay, accept)."""

    def __init__(self) -> None:
        super().__init__()
        self.expiries: dict[str, float] = {}

    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        self.expiries[key] = expires_at
        return super().first_use(key, expires_at=expires_at, now=now)
