"""Step 7, revocation: one lookup for every id, task and key; stores that fail deny.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

from typing import cast

import pytest
from forging import b64d, b64e, decode, token_id
from support import REQ, T0, World
from verify_support import ED25519_L, extend, high_s_twin, holder_of, rejected, with_hop

from delegation import Chain, DelegationError, MemoryStore, StoreUnavailable
from delegation.stores import RevocationKind


@pytest.mark.parametrize(
    ("kind", "target", "hop"),
    [
        ("token", 0, 0),
        ("token", 1, 1),
        ("token", 2, 2),
        ("jti", 0, 0),
        ("jti", 2, 2),
        ("task", None, None),
        ("key", "root", None),
        ("key", 1, None),
    ],
)
def test_revocation_rejects_the_chain(
    world: World, kind: str, target: int | str | None, hop: int | None
) -> None:
    """Revoking any token, jti, the task or a key of the chain makes it revoked."""
    chain = world.chain(3)
    value: str
    if kind == "token":
        assert isinstance(target, int)
        value = token_id(chain.tokens[target])
    elif kind == "jti":
        assert isinstance(target, int)
        value = decode(chain.tokens[target])[1]["jti"]
    elif kind == "task":
        value = "T-42"
    else:
        value = world.orch.kid if target == "root" else world.agents[1].kid
    world.store.revoke(cast("RevocationKind", kind), value)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("revoked", hop)


def test_revoking_a_middle_token_spares_siblings(world: World) -> None:
    """Revoking a middle token rejects every chain below it but not a sibling chain."""
    root = Chain(world.chain(1).tokens)
    mid = extend(world, root, world.agents[1], ttl=500)
    below = extend(world, mid, world.agents[2], ttl=400)
    deeper = extend(world, below, world.agents[3], ttl=300)
    sibling_mid = extend(world, root, world.agents[1], ttl=500)
    sibling = extend(world, sibling_mid, world.agents[2], ttl=400)
    world.store.revoke("token", token_id(mid.tokens[1]))
    for chain in (mid, below, deeper):
        err = rejected(world, chain, world.prove(chain, key=holder_of(world, chain)))
        assert (err.code, err.hop) == ("revoked", 1)
    for chain in (root, sibling_mid, sibling):
        world.verifier().verify(chain, world.prove(chain, key=holder_of(world, chain)), REQ)


def test_expired_revocation_entry_no_longer_applies(world: World) -> None:
    """A revocation with ``until`` in the past no longer rejects."""
    chain = world.chain(2)
    world.store.revoke("token", token_id(chain.tokens[1]), until=T0 - 1)
    world.verifier().verify(chain, world.prove(chain), REQ)


def test_ecdsa_high_s_twin_shares_token_id_and_revocation(es_world: World) -> None:
    """The high-S twin of an ES256 token verifies, keeps its token id, and is revoked with it."""
    chain = es_world.chain(2)
    twin = with_hop(chain, 1, high_s_twin(chain.tokens[1]))
    assert str(twin) != str(chain)
    assert token_id(twin.tokens[1]) == token_id(chain.tokens[1])
    verified = es_world.verifier().verify(twin, es_world.prove(twin), REQ)
    assert verified.token_ids == tuple(token_id(t) for t in chain.tokens)
    root_twin = with_hop(chain, 0, high_s_twin(chain.tokens[0]))
    es_world.verifier().verify(root_twin, es_world.prove(root_twin), REQ)
    es_world.store.revoke("token", token_id(chain.tokens[1]))
    err = rejected(es_world, twin, es_world.prove(twin))
    assert (err.code, err.hop) == ("revoked", 1)
    es_world.store.revoke("jti", decode(chain.tokens[0])[1]["jti"])
    err = rejected(es_world, root_twin, es_world.prove(root_twin))
    assert (err.code, err.hop) == ("revoked", 0)


def test_ecdsa_high_s_proof_twin_is_a_replay(es_world: World) -> None:
    """The high-S twin of a used ES256 proof is proof_replayed (same jti)."""
    chain = es_world.chain(2)
    proof = es_world.prove(chain)
    es_world.verifier().verify(chain, proof, REQ)
    err = rejected(es_world, chain, high_s_twin(proof))
    assert (err.code, err.hop) == ("proof_replayed", None)


def test_ed25519_malleated_signature_is_refused(world: World) -> None:
    """Ed25519 has no twin: S + L (non-canonical) is bad_signature."""
    chain = world.chain(1)
    h64, p64, s64 = chain.tokens[0].split(".")
    sig = b64d(s64)
    s = int.from_bytes(sig[32:], "little") + ED25519_L
    twin = f"{h64}.{p64}.{b64e(sig[:32] + s.to_bytes(32, 'little'))}"
    err = rejected(world, Chain([twin]), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 0)


class FailingStore:
    """A revocation store and replay cache whose backend is down."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def revoke(self, kind: str, value: str, *, until: float | None = None) -> None:
        raise self.exc

    def first_revoked(self, items: list[tuple[str, str]], now: float) -> tuple[str, str] | None:
        raise self.exc

    def first_use(self, jti: str, *, expires_at: float, now: float) -> bool:
        raise self.exc


def test_revocation_store_unavailable_denies(world: World) -> None:
    """A revocation store raising StoreUnavailable makes verification store_unavailable."""
    chain = world.chain(2)
    err = rejected(
        world, chain, world.prove(chain), revocations=FailingStore(StoreUnavailable("redis down"))
    )
    assert err.code == "store_unavailable"


def test_replay_cache_unavailable_denies(world: World) -> None:
    """A replay cache raising StoreUnavailable makes verification store_unavailable."""
    chain = world.chain(2)
    err = rejected(
        world, chain, world.prove(chain), replay=FailingStore(StoreUnavailable("redis down"))
    )
    assert err.code == "store_unavailable"


def test_revocation_store_crash_is_internal_error(world: World) -> None:
    """A revocation store raising a foreign exception denies with internal_error."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), revocations=FailingStore(RuntimeError("x")))
    assert err.code == "internal_error"


class SizedStore(MemoryStore):
    """A store that reports how many revocations it holds (``len`` 0 when empty)."""

    def __len__(self) -> int:
        return len(self._revoked)


def test_empty_sized_revocation_store_is_still_used(world: World) -> None:
    """A store that is falsy while empty is still the one consulted (never silently replaced)."""
    chain = world.chain(2)
    for replay in (None, "same", "shared"):
        store = SizedStore()
        other = {None: None, "same": store, "shared": world.store}[replay]
        verifier = world.verifier(revocations=store, replay=other)
        store.revoke("token", token_id(chain.tokens[1]))
        with pytest.raises(DelegationError) as ei:
            verifier.verify(chain, world.prove(chain), REQ)
        assert (ei.value.code, ei.value.hop) == ("revoked", 1)


@pytest.mark.parametrize("agent", [0, 1, 2], ids=["signer-of-hop-1", "signer-of-hop-2", "holder"])
def test_revoking_a_key_past_the_first_hop(world: World, agent: int) -> None:
    """Revoking the key of any agent below the root (a hop's signer, or the holder) rejects
    every chain that agent's key appears in, as revoked (no hop: a key is not a token),
    and spares the chain that stops before that agent."""
    chain = world.chain(3)  # orch -> a0 -> a1 -> a2: a0 signs hop 1, a1 hop 2, a2 holds
    shorter = world.chain(agent + 1)  # ends with agents[agent] as holder: still uses the key
    spared = world.chain(agent) if agent else None  # stops before agents[agent]
    world.store.revoke("key", world.agents[agent].kid)
    for victim in (chain, shorter):
        err = rejected(world, victim, world.prove(victim))
        assert (err.code, err.hop) == ("revoked", None)
        assert world.agents[agent].kid in err.message
    if spared is not None:
        assert world.verifier().verify(spared, world.prove(spared), REQ).depth == agent
