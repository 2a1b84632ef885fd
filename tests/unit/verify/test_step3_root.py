"""Step 3, root: a trusted root, its registered key, no parent, a valid signature.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import pytest
from forging import decode, forge
from support import CAP, ORG, World
from verify_support import rejected, with_hop

from delegation import AgentKey, Capability, Chain, Request


def test_untrusted_root_is_refused(world: World) -> None:
    """A chain minted by an orchestrator the registry does not trust is untrusted_root."""
    rogue = AgentKey.generate(f"{ORG}/rogue-orchestrator")
    chain = world.delegator(rogue).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("untrusted_root", 0, "iss")


def test_root_key_not_registered_is_refused(world: World) -> None:
    """A root grant signed by an unregistered key under the trusted root's name is refused."""
    impostor = AgentKey.generate(world.orch.agent)
    chain = world.delegator(impostor).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("untrusted_root", 0)


def test_root_signed_by_agent_with_root_kid_is_refused(world: World) -> None:
    """An agent signing a root grant while naming the orchestrator's kid is bad_signature."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.agents[0])
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 0)


def test_root_naming_a_parent_is_refused(world: World) -> None:
    """A first token carrying ``prf`` does not start at a root grant: broken_link."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, claims={"prf": "A" * 43})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 0, "prf")


@pytest.mark.parametrize("hop", [0, 1, 2])
def test_tampered_payload_with_old_signature_is_refused(world: World, hop: int) -> None:
    """Widening any hop's payload while keeping its signature is bad_signature at that hop."""
    chain = world.chain(3)
    wide = Capability(tool="**", resource="**").to_wire()
    forged = forge(chain.tokens[hop], claims={"caps": [wide]})
    err = rejected(world, with_hop(chain, hop, forged), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", hop)


def test_tampered_proof_with_old_signature_is_refused(world: World) -> None:
    """A proof whose request is changed after signing is bad_signature."""
    chain = world.chain(2)
    other = Request(tool="crm.read", resource="customers/eu/43", args={"max_rows": 10})
    proof = world.prove(chain)
    req = {**decode(proof)[1]["req"], "resource": other.resource}
    proof = forge(proof, claims={"req": req})
    err = rejected(world, chain, proof, request=other)
    assert (err.code, err.hop) == ("bad_signature", None)
