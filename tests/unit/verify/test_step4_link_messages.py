"""Step 4: the messages of a forged hop and of an unregistered key name who and what.

test_step4_links.py pins the codes and hops; a mutation run of ``verify.py``
(docs/mutation.md) found the messages built there pinned nowhere.
"""

from __future__ import annotations

from forging import forge
from support import World
from verify_support import extend, rejected, with_hop

from delegation import AgentKey


def test_a_forged_hop_names_the_parent_whose_key_it_fails(world: World) -> None:
    """Fault: the message of a hop's bad signature loses whose key it was checked under."""
    chain = world.chain(3)
    forged = forge(chain.tokens[2], signer=world.agents[0])  # a1's kid, a0's signature
    err = rejected(world, with_hop(chain, 2, forged), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 2)
    assert err.message == (
        f"token 2: signature does not verify under the key bound to {world.agents[1].agent}"
    )


def test_an_unregistered_key_is_named_with_its_agent(world: World) -> None:
    """Fault: the key_not_registered message is lost."""
    chain = world.chain(1)
    impostor = AgentKey.generate(world.agents[1].agent)
    bad = extend(world, chain, impostor)
    err = rejected(world, bad, world.prove(bad, key=impostor))
    assert (err.code, err.hop, err.claim) == ("key_not_registered", 1, "cnf")
    assert err.message == (
        f"token 1 binds key {impostor.kid}, which is not a registered key of {impostor.agent}"
    )
