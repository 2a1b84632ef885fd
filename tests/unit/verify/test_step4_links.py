"""Step 4, links and identities: prf, iss = parent sub, unique jtis, cnf signatures, keys.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token, and the message where it names who and what: a mutation
run of ``verify.py``, docs/mutation.md, found them pinned nowhere); tokens the Delegator
refuses to sign are forged with :mod:`forging`.
"""

from __future__ import annotations

import pytest
from forging import decode, forge, token_id
from support import CAP, ORG, REQ, World
from verify_support import extend, rejected, rejected_forgery

from delegation import AgentKey, Chain, DelegationError


def test_sibling_parent_substitution_is_refused(world: World) -> None:
    """A validly signed sibling in place of the real parent is broken_link at the child."""
    chain = world.chain(3)
    sibling = extend(world, Chain(chain.tokens[:1]), world.agents[1])
    substituted = Chain([chain.tokens[0], sibling.tokens[1], chain.tokens[2]])
    err = rejected(world, substituted, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "prf")


def test_spliced_chains_are_refused(world: World) -> None:
    """The head of one chain joined to the tail of another is broken_link at the seam."""
    a, b = world.chain(4), world.chain(4)
    spliced = Chain([*a.tokens[:2], *b.tokens[2:]])
    err = rejected(world, spliced, world.prove(b))
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "prf")


@pytest.mark.parametrize(
    ("order", "hop"),
    [([1, 0, 2], 0), ([0, 2, 1], 1), ([2, 1, 0], 0), ([0, 1, 2, 2], 3)],
    ids=["swap-root", "swap-tail", "reverse", "duplicate-leaf"],
)
def test_reordered_chain_is_refused(world: World, order: list[int], hop: int) -> None:
    """Reordering or repeating the tokens of a valid chain is broken_link."""
    chain = world.chain(3)
    err = rejected(world, Chain([chain.tokens[i] for i in order]), world.prove(chain))
    assert (err.code, err.hop) == ("broken_link", hop)


def test_dropped_head_is_refused(world: World) -> None:
    """Dropping the root leaves a first token that names a parent: broken_link."""
    chain = world.chain(3)
    err = rejected(world, Chain(chain.tokens[1:]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 0, "prf")


def test_dropped_middle_hop_is_refused(world: World) -> None:
    """Dropping a middle hop breaks the ``prf`` link."""
    chain = world.chain(3)
    err = rejected(world, Chain([chain.tokens[0], chain.tokens[2]]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 1, "prf")


def test_dropped_tail_cannot_be_used_by_the_original_holder(world: World) -> None:
    """A truncated chain is held by the previous agent: the original holder cannot prove it."""
    chain = world.chain(3)
    truncated = Chain(chain.tokens[:2])
    with pytest.raises(DelegationError) as ei:
        world.prove(truncated, key=world.agents[2])
    assert ei.value.code == "holder_mismatch"
    forged = forge(
        world.prove(chain), signer=world.agents[2], claims={"chn": token_id(truncated.tokens[-1])}
    )
    err = rejected(world, truncated, forged)
    assert (err.code, err.hop) == ("bad_signature", None)
    err = rejected(world, truncated, world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", None)
    verified = world.verifier().verify(truncated, world.prove(truncated), REQ)
    assert verified.holder == world.agents[1].agent


def test_issuer_not_parent_subject_is_refused(world: World) -> None:
    """A hop whose ``iss`` is not its parent's ``sub`` is broken_link."""
    chain = world.chain(2)
    err = rejected_forgery(
        world, chain, 1, signer=world.agents[0], claims={"iss": world.agents[4].agent}
    )
    assert (err.code, err.hop, err.claim) == ("broken_link", 1, "iss")


@pytest.mark.parametrize("copy_from", [0, 1])
def test_duplicate_jti_in_chain_is_refused(world: World, copy_from: int) -> None:
    """A hop repeating an earlier hop's ``jti`` is broken_link."""
    chain = world.chain(3)
    jti = decode(chain.tokens[copy_from])[1]["jti"]
    err = rejected_forgery(world, chain, 2, signer=world.agents[1], claims={"jti": jti})
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "jti")


def test_hop_signed_by_an_ancestor_is_refused(world: World) -> None:
    """Only the parent's bound key may sign a hop: the orchestrator signing hop 2 is refused."""
    chain = world.chain(3)
    err = rejected_forgery(world, chain, 2, signer=world.orch, header={"kid": world.orch.kid})
    assert (err.code, err.hop) == ("bad_signature", 2)
    err = rejected_forgery(world, chain, 2, signer=world.agents[0])  # a1's kid, a0's signature
    assert (err.code, err.hop) == ("bad_signature", 2)
    assert err.message == (  # names the parent whose bound key it fails
        f"token 2: signature does not verify under the key bound to {world.agents[1].agent}"
    )


def test_unregistered_key_under_registered_name_is_refused(world: World) -> None:
    """Binding a key the registry does not list for the agent is key_not_registered."""
    chain = world.chain(1)
    impostor = AgentKey.generate(world.agents[1].agent)
    bad = extend(world, chain, impostor)
    err = rejected(world, bad, world.prove(bad, key=impostor))
    assert (err.code, err.hop, err.claim) == ("key_not_registered", 1, "cnf")
    assert err.message == (
        f"token 1 binds key {impostor.kid}, which is not a registered key of {impostor.agent}"
    )


def test_unregistered_agent_is_refused(world: World) -> None:
    """Delegating to an agent id the registry does not know is key_not_registered."""
    chain = world.chain(2)
    stranger = AgentKey.generate(f"{ORG}/agent/stranger")
    bad = extend(world, chain, stranger)
    err = rejected(world, bad, world.prove(bad, key=stranger))
    assert (err.code, err.hop) == ("key_not_registered", 2)


def test_unregistered_root_subject_key_is_refused(world: World) -> None:
    """The root's own ``cnf`` key is re-authenticated against the registry too."""
    impostor = AgentKey.generate(world.agents[0].agent)
    chain = world.delegator(world.orch).mint(
        to=impostor.agent, to_key=impostor, caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain, key=impostor))
    assert (err.code, err.hop) == ("key_not_registered", 0)
