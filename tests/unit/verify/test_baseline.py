"""The baseline: an honest chain verifies and is audited.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

from forging import token_id
from support import REQ, World


def test_baseline_chain_verifies_and_is_audited(world: World) -> None:
    """An untouched 3-hop chain verifies, and the allow decision is audited."""
    chain = world.chain(3)
    verified = world.verifier().verify(chain, world.prove(chain), REQ)
    assert verified.token_ids == tuple(token_id(t) for t in chain.tokens)
    assert world.audit.records[-1]["decision"] == "allow"
    assert world.audit.records[-1]["code"] == "allowed"
