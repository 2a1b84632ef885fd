"""The verifier's configuration errors and the refusals of its inputs, word for word;
and the signature pool is really used.

test_verifier_config.py and test_limits.py pin the codes; a mutation run of ``verify.py``
(docs/mutation.md) found these messages, the size limit of a chain's text form at its
exact edge, the default worker count and the pool's threads pinned nowhere.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from support import REQ, TOOL_AUD, World

from delegation import Chain, ChainGrantsOnly, DelegationError, Limits, Verifier


class _RevocationsOnly:
    def revoke(self, kind: str, value: str, *, until: float | None = None) -> None: ...

    def first_revoked(self, items: Any, now: float) -> None:
        return None


class _ReplayOnly:
    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        return True


CONFIG: dict[str, tuple[dict[str, Any], str]] = {
    "registry": ({"registry": None}, "Verifier needs a Registry"),
    "policy": (
        {"policy": object()},
        "Verifier needs a policy with decide() and digest (ChainGrantsOnly() to rely on the chain)",
    ),
    "audience": (
        {"audience": "not an id"},
        "audience 'not an id' is not an ASCII URI (scheme:rest, no spaces): ' ' at "
        "position 3 is a space or control character",
    ),
    "token-cache": ({"token_cache": -1}, "token_cache must be a size >= 0 (0 turns it off)"),
    "workers": ({"workers": 9}, "workers must be an int from 1 to 8"),
    "replay-missing": (
        {"revocations": _RevocationsOnly(), "replay": None},
        "give replay= too: a private replay cache lets proofs be replayed at the other"
        " verifiers of the deployment",
    ),
    "revocations-missing": (
        {"revocations": None, "replay": _ReplayOnly()},
        "give revocations= too: a private revocation list misses revocations made at the"
        " other verifiers",
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIG))
def test_each_configuration_error_says_what_to_fix(world: World, name: str) -> None:
    """Fault: a configuration error loses or garbles its message."""
    kw, message = CONFIG[name]
    with pytest.raises(DelegationError) as ei:
        world.verifier(**kw)
    assert (ei.value.code, ei.value.message) == ("configuration_error", message)


def test_eight_workers_is_the_maximum_allowed(world: World) -> None:
    """Fault: the bound on workers excludes its own maximum (``<`` for ``<=``)."""
    with world.verifier(workers=8) as v:
        assert v.workers == 8


def test_the_default_verifier_checks_signatures_in_the_calling_thread(world: World) -> None:
    """Fault: the default is a pool (``workers=2``); the documented default is 1, no pool."""
    before = _pool_threads()
    v = Verifier(
        registry=world.registry, audience=TOOL_AUD, policy=ChainGrantsOnly(), clock=world.clock
    )
    chain = world.chain(3)
    v.verify(chain, world.prove(chain), REQ)
    assert v.workers == 1
    assert not _pool_threads() - before  # no thread started


def _pool_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("delegation-verify")}


@pytest.mark.parametrize("hops", [1, 3])
def test_two_workers_start_one_named_pool_thread(world: World, hops: int) -> None:
    """Fault: ``workers=2`` starts no pool thread (the pool is built only above 2, no job is
    handed to it, or a batch of two signatures stays on the caller), or the thread is
    unnamed. A 1-hop chain has two signatures: the root token's and the proof's.
    """
    before = _pool_threads()
    chain = world.chain(hops)
    proof = world.prove(chain)
    with world.verifier(workers=2, token_cache=0) as v:
        v.verify(chain, proof, REQ)
        assert len(_pool_threads() - before) == 1


def test_the_text_form_of_a_chain_is_limited_to_its_exact_size(world: World) -> None:
    """Fault: the size limit of a chain's text is off by one (or by one per token)."""
    limits = Limits(max_chain_length=2, max_token_bytes=256)
    chain = world.chain(1)
    proof = world.prove(chain)
    edge = 2 * (256 + 1)  # every token at the limit, each with its separator
    verifier = world.verifier(limits=limits)
    with pytest.raises(DelegationError) as at_edge:
        verifier.verify("a" * edge, proof, REQ)
    assert (at_edge.value.code, at_edge.value.hop) == ("malformed", 0)  # read, not refused
    with pytest.raises(DelegationError) as over:
        verifier.verify("a" * (edge + 1), proof, REQ)
    assert (over.value.code, over.value.hop, over.value.message) == (
        "oversized",
        None,
        "chain text is over the size limit",
    )


def test_chain_input_refusals_say_what_is_wrong(world: World) -> None:
    """Fault: the refusal of a chain that is not a chain, or has too many tokens, loses
    its message.
    """
    chain = world.chain(1)
    proof = world.prove(chain)
    verifier = world.verifier()
    with pytest.raises(DelegationError) as wrong_type:
        verifier.verify(123, proof, REQ)  # type: ignore[arg-type]
    assert (wrong_type.value.code, wrong_type.value.message) == (
        "malformed",
        "chain must be a Chain or its text form",
    )
    with pytest.raises(DelegationError) as too_long:
        verifier.verify(Chain(list(chain.tokens) * 17), proof, REQ)
    assert (too_long.value.code, too_long.value.message) == (
        "oversized",
        "chain has 17 tokens, over the limit of 16",
    )
