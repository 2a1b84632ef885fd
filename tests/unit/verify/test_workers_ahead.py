"""``Verifier(workers=N)``: each signature is checked once, under the key the checks use.

test_workers.py shows the verdicts do not depend on the pool. These tests pin what the
pool is for and the one way it could weaken a verdict (docs/mutation.md, ``verify.py``):
a signature verified ahead is not verified again, and a check that errored on the pool is
never taken as a pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from forging import b64d, b64e, forge
from support import REQ, World
from verify_support import with_hop

from delegation import DelegationError, Limits, Request
from delegation import _steps as steps_module
from delegation import verify as verify_module
from delegation.keys import PublicKey


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kids of the signature checks made (every check asks ``PublicKey.is_valid``)."""
    calls: list[str] = []
    original = PublicKey.is_valid

    def counting(self: PublicKey, signature: bytes, data: bytes, **kw: object) -> bool:
        calls.append(self.kid)
        return original(self, signature, data)

    monkeypatch.setattr(PublicKey, "is_valid", counting)
    return calls


@pytest.mark.parametrize("hops", [1, 2, 5])
def test_each_signature_is_verified_once_under_its_own_key(
    world: World, monkeypatch: pytest.MonkeyPatch, hops: int
) -> None:
    """Fault: a signature checked ahead on the pool with the wrong key, or with its verdict
    lost (the root's key, a hop's parent key, the proof's holder key), is verified again.

    With the cache off, a cold chain of ``hops`` tokens and its proof make exactly
    ``hops + 1`` verifications: the root's key once, each parent's bound key once, and the
    holder's key once for the proof.
    """
    chain = world.chain(hops)
    proof = world.prove(chain)
    calls = _counting(monkeypatch)
    with world.verifier(workers=2, token_cache=0) as v:
        v.verify(chain, proof, REQ)
    signers = [world.orch, *world.agents[:hops]]
    assert Counter(calls) == Counter(k.kid for k in signers)


def test_sequential_verifier_verifies_each_signature_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same count with ``workers=1``: the pool adds no verification of its own."""
    chain = world.chain(3)
    proof = world.prove(chain)
    calls = _counting(monkeypatch)
    world.verifier(workers=1, token_cache=0).verify(chain, proof, REQ)
    assert Counter(calls) == Counter(k.kid for k in [world.orch, *world.agents[:3]])


def _bad_sig(token: str) -> str:
    h, p, s = token.split(".")
    sig = bytearray(b64d(s))
    sig[5] ^= 0x01
    return f"{h}.{p}.{b64e(bytes(sig))}"


@pytest.mark.parametrize("hop", [0, 2])
def test_a_signature_check_that_errors_on_the_pool_is_not_a_pass(
    world: World, monkeypatch: pytest.MonkeyPatch, hop: int
) -> None:
    """Fault: a pool job that raised is counted as verified (its verdict defaults to true).

    The first verification of the forged hop raises (as a backend might on a malformed
    input); the sequential check verifies it again and refuses it as usual.
    """
    chain = world.chain(3)
    proof = world.prove(chain)
    forged = with_hop(chain, hop, _bad_sig(chain.tokens[hop]))
    bad_signature = b64d(forged.tokens[hop].split(".")[2])
    original = PublicKey.is_valid
    raised: list[bool] = []

    def flaky(self: PublicKey, signature: bytes, data: bytes, **kw: object) -> bool:
        if signature == bad_signature and not raised:
            raised.append(True)
            raise RuntimeError("backend failure")
        return original(self, signature, data)

    monkeypatch.setattr(PublicKey, "is_valid", flaky)
    with world.verifier(workers=2, token_cache=0) as v, pytest.raises(DelegationError) as ei:
        v.verify(forged, proof, REQ)
    assert raised == [True]  # the pool met the error
    assert (ei.value.code, ei.value.hop) == ("bad_signature", hop)


def test_a_hop_naming_another_key_is_refused_without_verifying_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault: the pool verifies a signature whose ``kid`` is not the key it would be checked
    under (the kid and alg filter joined with ``or``): wasted work on a forged chain.
    """
    chain = world.chain(3)
    proof = world.prove(chain)
    forged = forge(chain.tokens[2], signer=world.orch, header={"kid": world.orch.kid})
    calls = _counting(monkeypatch)
    with world.verifier(workers=2, token_cache=0) as v, pytest.raises(DelegationError) as ei:
        v.verify(with_hop(chain, 2, forged), proof, REQ)
    assert (ei.value.code, ei.value.hop) == ("bad_signature", 2)
    a = world.agents
    assert Counter(calls) == Counter([world.orch.kid, a[0].kid, a[2].kid])  # root, hop 1, proof


@pytest.mark.parametrize("workers", [1, 2])
def test_the_verifiers_size_limit_holds_for_a_proof_parsed_early(
    world: World, workers: int
) -> None:
    """Fault: with a pool, the proof is parsed ahead under the default size limit and that
    parse is used at step 8, so a proof over the verifier's own (smaller) limit verifies.
    """
    chain = world.chain(2)
    big = Request(tool="crm.read", resource="customers/eu/" + "x" * 1000, args=REQ.args)
    proof = world.prove(chain, request=big)
    limit = len(proof) - 1  # the chain's tokens are well under it
    assert all(len(t) < limit for t in chain.tokens)
    limits = Limits(max_token_bytes=limit)
    with world.verifier(workers=workers, limits=limits) as v, pytest.raises(DelegationError) as ei:
        v.verify(chain, proof, big)
    assert (ei.value.code, ei.value.message) == (
        "oversized",
        f"proof is {len(proof)} bytes, over the {limit}-byte limit",
    )


def test_a_cached_token_is_kept_until_it_expires_with_the_skew(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault: cached tokens are dropped ``clock_skew`` seconds before they expire (their
    signatures are then verified again while the chain is still valid).
    """
    chain = world.chain(2, ttl=600)  # the tokens expire at T0 + 600 and T0 + 599
    verifier = world.verifier(token_cache=4096)
    for _ in range(2):  # the cache admits a token on its second sighting
        verifier.verify(chain, world.prove(chain), REQ)
    world.clock.advance(599)  # within the skew of both expiries: the chain still verifies
    proof = world.prove(chain)
    calls = _counting(monkeypatch)
    parsed: list[str] = []
    original_parse = verify_module.parse_jws

    def counting_parse(raw: str, *args: Any, **kw: Any) -> Any:
        parsed.append(kw.get("what", ""))
        return original_parse(raw, *args, **kw)

    # the chain's tokens are parsed by its steps (_steps), the proof by the verifier
    for module in (verify_module, steps_module):
        monkeypatch.setattr(module, "parse_jws", counting_parse)
    verifier.verify(chain, proof, REQ)
    assert calls == [world.agents[1].kid]  # the new proof's only
    assert parsed == ["proof"]  # the chain's tokens come parsed from the cache
