"""The verified-token cache remembers parsing and signature verdicts only, never more."""

from __future__ import annotations

import threading

import pytest
from support import REQ, World

from delegation import DelegationError, Registry


def test_warm_chain_costs_one_signature(world: World, verify_calls: list[str]) -> None:
    """Re-presenting the same 5-hop chain with a fresh proof verifies only the proof.

    Tokens are admitted on their second sighting, so one-off chains cost nothing to keep.
    """
    chain = world.chain(5)
    v = world.verifier()
    for _ in range(2):
        v.verify(chain, world.prove(chain), REQ)
    assert len(verify_calls) == 12
    verify_calls.clear()
    v.verify(chain, world.prove(chain), REQ)
    assert verify_calls == [world.agents[4].kid]  # the proof's key only


def test_one_off_tokens_are_not_kept(world: World) -> None:
    """A token seen once is not cached (cold traffic does not fill memory)."""
    v = world.verifier()
    for _ in range(5):
        v.verify_chain(world.chain(2))
    assert len(v._cache) == 0


def test_cache_off_verifies_everything(world: World, verify_calls: list[str]) -> None:
    """token_cache=0 turns it off: every signature every time."""
    chain = world.chain(3)
    v = world.verifier(token_cache=0)
    for _ in range(2):
        v.verify(chain, world.prove(chain), REQ)
    assert len(verify_calls) == 8


def test_time_and_revocation_still_run_on_a_warm_chain(world: World) -> None:
    """A cached chain still expires and is still revocable."""
    chain = world.chain(3, ttl=100)
    v = world.verifier()
    for _ in range(2):
        v.verify(chain, world.prove(chain), REQ)
    world.store.revoke("task", "T-42")
    with pytest.raises(DelegationError) as ei:
        v.verify(chain, world.prove(chain), REQ)
    assert ei.value.code == "revoked"
    other = World()
    chain2 = other.chain(2, ttl=100)
    v2 = other.verifier()
    v2.verify(chain2, other.prove(chain2), REQ)
    other.clock.advance(200)
    with pytest.raises(DelegationError) as ei:
        v2.verify_chain(chain2)
    assert ei.value.code == "expired"


def test_a_removed_root_key_is_not_trusted_from_the_cache(world: World) -> None:
    """The cache remembers the signature, not the trust: a new registry without the root fails."""
    chain = world.chain(2)
    v = world.verifier()
    for _ in range(2):
        v.verify(chain, world.prove(chain), REQ)
    v.registry = Registry()  # the root is no longer trusted
    with pytest.raises(DelegationError) as ei:
        v.verify(chain, world.prove(chain), REQ)
    assert ei.value.code == "untrusted_root"


def test_other_bytes_are_other_entries(world: World) -> None:
    """A token whose signature bytes differ is a miss, and fails on its own merits."""
    chain = world.chain(2)
    v = world.verifier()
    v.verify_chain(chain)
    root, leaf = chain.tokens
    h, p, sig = leaf.split(".")
    bad = f"{h}.{p}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'Q'}{sig[-1]}"
    from delegation import Chain

    with pytest.raises(DelegationError) as ei:
        v.verify_chain(Chain([root, bad]))
    assert ei.value.code in ("bad_signature", "malformed")


def test_size_is_bounded(world: World) -> None:
    """The cache keeps at most its size (least recently used out first)."""
    v = world.verifier(token_cache=3)
    for _ in range(4):
        chain = world.chain(2)
        v.verify_chain(chain)
        v.verify_chain(chain)
    assert len(v._cache) == 3


def test_cached_capabilities_cannot_be_changed(world: World) -> None:
    """What a verified chain exposes is immutable, so the cache cannot be poisoned."""
    chain = world.chain(2)
    v = world.verifier()
    verified = v.verify(chain, world.prove(chain), REQ)
    cap = verified.capabilities[0]
    with pytest.raises(TypeError):
        cap.constraints["max_rows"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        verified.capabilities.append(cap)  # type: ignore[attr-defined]
    assert v.verify(chain, world.prove(chain), REQ).capabilities == verified.capabilities


def test_threads_share_one_cache_safely(world: World) -> None:
    """Several threads verifying the same chains concurrently all get the right verdicts."""
    chains = [world.chain(3) for _ in range(4)]
    proofs = [[world.prove(c) for _ in range(25)] for c in chains]
    v = world.verifier()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for proof in proofs[i]:
                assert v.verify(chains[i], proof, REQ).depth == 3
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_bad_size_is_a_configuration_error(world: World) -> None:
    """A negative cache size is refused."""
    with pytest.raises(DelegationError) as ei:
        world.verifier(token_cache=-1)
    assert ei.value.code == "configuration_error"


def test_verify_many_returns_verdicts_in_order(world: World) -> None:
    """verify_many gives each item's result or denial, in order, and audits each."""
    good = world.chain(3)
    items = [(good, world.prove(good), REQ) for _ in range(6)]
    results = world.verifier().verify_many([*items, items[0]])
    assert [type(r).__name__ for r in results] == ["VerifiedChain"] * 6 + ["ProofReplayed"]
    assert all(r.depth == 3 for r in results[:6])  # type: ignore[union-attr]
    assert [r["decision"] for r in world.audit.records] == ["allow"] * 6 + ["deny"]


@pytest.fixture
def covers_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts attenuation checks (calls of checks.attenuation_problems)."""
    import delegation._steps as verify_module  # where the chain steps live

    calls: list[int] = []
    original = verify_module.attenuation_problems

    def counting(child, parent, hop):  # type: ignore[no-untyped-def]
        calls.append(hop)
        return original(child, parent, hop)

    monkeypatch.setattr(verify_module, "attenuation_problems", counting)
    return calls


def test_attenuation_verdicts_are_kept_by_pair(world: World, covers_calls: list[int]) -> None:
    """A pair that passed step 6 is not re-checked; the root still is; a new pair is."""
    chain = world.chain(4)
    v = world.verifier()
    v.verify(chain, world.prove(chain), REQ)
    assert covers_calls == [0, 1, 2, 3]
    assert len(v._pairs) == 3
    covers_calls.clear()
    v.verify(chain, world.prove(chain), REQ)
    assert covers_calls == [0]
    covers_calls.clear()
    v.verify_chain(world.chain(2))  # another root: another pair
    assert covers_calls == [0, 1]


def test_failing_attenuation_is_never_kept(world: World) -> None:
    """Only passing verdicts are stored: a refused pair is refused every time."""
    from forging import forge
    from verify_support import with_hop

    chain = world.chain(3)
    wide = {"tool": "crm.*", "resource": "customers/eu/**"}
    forged = with_hop(
        chain, 2, forge(chain.tokens[2], signer=world.agents[1], claims={"caps": [wide]})
    )
    v = world.verifier()
    for _ in range(3):
        with pytest.raises(DelegationError) as ei:
            v.verify_chain(forged)
        assert (ei.value.code, ei.value.hop) == ("scope_escalation", 2)
    assert len(v._pairs) == 1  # (token 0, token 1) only


def test_pair_verdicts_off_with_the_cache(world: World) -> None:
    v = world.verifier(token_cache=0)
    chain = world.chain(3)
    v.verify_chain(chain)
    assert len(v._pairs) == 0
