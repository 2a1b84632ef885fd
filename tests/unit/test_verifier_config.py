from __future__ import annotations

from typing import Any

import pytest
from support import REQ, TOOL_AUD, Recorder, World

from delegation import (
    ChainGrantsOnly,
    DelegationError,
    Limits,
    MemoryStore,
    Verifier,
)
from delegation.policy import Decision


class OnlyReplay:
    """A replay cache that is not a revocation store."""

    def first_use(self, jti: str, *, expires_at: float, now: float) -> bool:
        return True


def test_one_store_serves_both_roles(world: World) -> None:
    """Giving one store that implements both protocols uses it for both."""
    store = MemoryStore()
    v = Verifier(
        registry=world.registry, audience=TOOL_AUD, policy=ChainGrantsOnly(), revocations=store
    )
    assert v.replay is store
    assert v.revocations is store


def test_half_a_store_is_a_configuration_error(world: World) -> None:
    """A replay cache alone, with no revocation store, is refused (no silent private half)."""
    with pytest.raises(DelegationError) as ei:
        Verifier(
            registry=world.registry,
            audience=TOOL_AUD,
            policy=ChainGrantsOnly(),
            replay=OnlyReplay(),
        )  # type: ignore[arg-type]
    assert ei.value.code == "configuration_error"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"policy": None}, "policy"),
        ({"policy": object()}, "policy"),
        ({"audience": "not an id"}, "audience"),
        ({"algorithms": ["HS256"]}, "algorithms"),
        ({"algorithms": []}, "algorithms"),
        ({"registry": {}}, "Registry"),
    ],
)
def test_misconfiguration_is_not_a_verdict(
    world: World, kwargs: dict[str, Any], fragment: str
) -> None:
    """Misconfiguration raises configuration_error, never a token rejection."""
    args: dict[str, Any] = {
        "registry": world.registry,
        "audience": TOOL_AUD,
        "policy": ChainGrantsOnly(),
        **kwargs,
    }
    with pytest.raises(DelegationError) as ei:
        Verifier(**args)
    assert ei.value.code == "configuration_error"
    assert fragment in ei.value.message


def test_limits_are_validated() -> None:
    """Limits refuse negative or silly values."""
    for kwargs in ({"clock_skew": -1}, {"max_chain_length": 0}, {"max_token_bytes": 10}):
        with pytest.raises(DelegationError) as ei:
            Limits(**kwargs)
        assert ei.value.code == "configuration_error"


def test_algorithm_allow_list_is_enforced(es_world: World) -> None:
    """A verifier that allows only EdDSA refuses an ES256 chain with alg_not_allowed."""
    chain = es_world.chain(2)
    v = es_world.verifier(algorithms=["EdDSA"])
    with pytest.raises(DelegationError) as ei:
        v.verify(chain, es_world.prove(chain), REQ)
    assert ei.value.code == "alg_not_allowed"


def test_policy_sees_the_chain_context(world: World) -> None:
    """The policy receives holder, path, depth, task, obo and the request."""
    recorder = Recorder(Decision("allow", ("r1",), "ok"))
    chain = world.chain(3)
    verified = world.verifier(policy=recorder).verify(chain, world.prove(chain), REQ)
    (ctx,) = recorder.seen
    assert ctx.holder == world.agents[2].agent
    assert ctx.path == (world.orch.agent, *(a.agent for a in world.agents[:3]))
    assert (ctx.depth, ctx.task, ctx.obo, ctx.request) == (3, "T-42", "user:alice", REQ)
    assert verified.decision == Decision("allow", ("r1",), "ok")
    assert verified.to_dict()["decision"] == {
        "effect": "allow",
        "rules": ["r1"],
        "policy": "recorder",
    }
    assert (verified.action, verified.policy_digest) == ("verify", "recorder")


def test_verify_chain_checks_without_a_proof(world: World) -> None:
    """verify_chain runs steps 1-7: a good chain passes, a revoked one does not."""
    chain = world.chain(2)
    v = world.verifier()
    assert v.verify_chain(chain).holder == world.agents[1].agent
    world.store.revoke("task", "T-42")
    with pytest.raises(DelegationError) as ei:
        v.verify_chain(chain)
    assert ei.value.code == "revoked"


def test_verified_chain_cannot_be_forged() -> None:
    """Only the verifier builds a VerifiedChain."""
    from delegation import VerifiedChain

    with pytest.raises(TypeError):
        VerifiedChain(
            holder="x:y",
            path=(),
            root="x:y",
            task="t",
            obo=None,
            depth=1,  # type: ignore[call-arg]
            remaining_depth=0,
            capabilities=(),
            token_ids=(),
            expires_at=0,
            purpose=None,
            chain=None,
        )


def test_bidi_and_c1_controls_refused_in_task(world: World) -> None:
    """task/obo refuse control and format characters (a bidi override hides text)."""
    for task in ("T\u202e24", "T\x8542"):
        with pytest.raises(DelegationError) as ei:
            world.chain(1, task=task)
        assert ei.value.code == "invalid_input"
