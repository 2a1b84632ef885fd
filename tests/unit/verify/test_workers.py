"""``Verifier(workers=N)``: signatures on a small pool, the verdicts of ``workers=1``.

Each case is verified by a fresh verifier with ``workers`` 1 and 2 (and 4); the outcome
(allowed, or the code, hop, claim and message of the denial) must be the same.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from forging import b64d, b64e
from support import REQ, World
from verify_support import with_hop

from delegation import Chain, ConfigurationError, DelegationError
from delegation.stores.memory import MemoryStore


def _bad_sig(token: str) -> str:
    """The same token with one bit of its signature flipped (still canonical base64url)."""
    h, p, s = token.split(".")
    sig = bytearray(b64d(s))
    sig[5] ^= 0x01
    return f"{h}.{p}.{b64e(bytes(sig))}"


def _outcome(world: World, workers: int, chain: Chain, proof: str) -> tuple[object, ...]:
    with world.verifier(workers=workers, token_cache=0) as v:
        try:
            verified = v.verify(chain, proof, REQ)
        except DelegationError as exc:
            return (exc.code, exc.hop, exc.claim, exc.message)
        return ("allowed", verified.token_ids)


Case = Callable[[World], tuple[Chain, str]]


def _valid(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    return c, w.prove(c)


def _hop(i: int) -> Case:
    def case(w: World) -> tuple[Chain, str]:
        c = w.chain(5)
        return with_hop(c, i, _bad_sig(c.tokens[i])), w.prove(c)

    return case


def _two_bad(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    c2 = with_hop(with_hop(c, 4, _bad_sig(c.tokens[4])), 1, _bad_sig(c.tokens[1]))
    return c2, w.prove(c)


def _bad_proof(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    return c, _bad_sig(w.prove(c))


def _bad_proof_and_hop(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    return with_hop(c, 3, _bad_sig(c.tokens[3])), _bad_sig(w.prove(c))


def _malformed_proof_and_bad_hop(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    return with_hop(c, 2, _bad_sig(c.tokens[2])), "not.a.proof"


def _wrong_holder_proof(w: World) -> tuple[Chain, str]:
    c = w.chain(5)
    return c, w.prove(w.chain(4))  # signed by a3, not by the holder a4


def _untrusted_root(w: World) -> tuple[Chain, str]:
    other = World()
    c = other.chain(3)
    return c, other.prove(c)


CASES: dict[str, Case] = {
    "valid": _valid,
    **{f"bad-signature-hop-{i}": _hop(i) for i in range(5)},
    "two-bad-hops": _two_bad,
    "bad-proof-signature": _bad_proof,
    "bad-proof-and-hop": _bad_proof_and_hop,
    "malformed-proof-and-bad-hop": _malformed_proof_and_bad_hop,
    "proof-by-another-key": _wrong_holder_proof,
    "untrusted-root": _untrusted_root,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_verdict_whatever_the_workers(name: str) -> None:
    world = World()
    chain, proof = CASES[name](world)
    outcomes = set()
    for workers in (1, 2, 4):
        fresh = copy.copy(world)
        fresh.store = MemoryStore()  # a replay store of its own: the same proof each time
        outcomes.add(_outcome(fresh, workers, chain, proof))
    assert len(outcomes) == 1, outcomes
    if name == "valid":
        assert next(iter(outcomes))[0] == "allowed"
    elif name.startswith("bad-signature-hop-"):
        assert next(iter(outcomes))[:2] == ("bad_signature", int(name[-1]))


def test_workers_are_bounded_and_checked(world: World) -> None:
    for bad in (0, 9, -1, True, 2.0, "2"):
        with pytest.raises(ConfigurationError):
            world.verifier(workers=bad)


def test_pool_shuts_down_cleanly(world: World) -> None:
    """At most workers - 1 pool threads; close() joins them; later calls run inline."""
    v = world.verifier(workers=3)
    chain = world.chain(5)
    for _ in range(3):
        v.verify(chain, world.prove(chain), REQ)
    assert v._pool is not None
    threads = list(v._pool._threads)
    assert 1 <= len(threads) <= 2
    v.close()
    v.close()  # idempotent
    assert v._pool is None
    assert not any(t.is_alive() for t in threads)
    v.verify(chain, world.prove(chain), REQ)  # still works, in the calling thread
    assert v._pool is None


def test_warm_chain_with_workers_still_caches(world: World, verify_calls: list[str]) -> None:
    """Signature verdicts computed on the pool still enter the token cache."""
    chain = world.chain(5)
    with world.verifier(workers=2, token_cache=4096) as v:
        for _ in range(2):
            v.verify(chain, world.prove(chain), REQ)
        verify_calls.clear()
        v.verify(chain, world.prove(chain), REQ)
        assert verify_calls == [world.agents[4].kid]  # the proof's only
