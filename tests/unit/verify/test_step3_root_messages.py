"""Step 3: the refusals of a root token say which root and which key.

test_step3_root.py pins the codes; a mutation run of ``verify.py`` (docs/mutation.md)
found their messages pinned nowhere.
"""

from __future__ import annotations

import pytest
from support import CAP, REQ, World
from verify_support import rejected, rejected_forgery

from delegation import DelegationError


def test_a_root_that_is_not_trusted_is_named(world: World) -> None:
    """Fault: the untrusted_root message of an unknown issuer is lost."""
    a = world.agents
    chain = world.delegator(a[0]).mint(
        to=a[1].agent, to_key=a[1].public_jwk(), caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain, key=a[1]))
    assert (err.code, err.hop, err.claim) == ("untrusted_root", 0, "iss")
    assert err.message == f"{a[0].agent} is not a trusted root"


def test_a_root_key_that_is_not_registered_is_named(world: World) -> None:
    """Fault: the untrusted_root message of an unregistered root key is lost."""
    other = World()  # the same orchestrator name, another key
    chain = other.chain(1)
    err = rejected(world, chain, other.prove(chain))
    assert (err.code, err.hop) == ("untrusted_root", 0)
    assert err.message == f"key {other.orch.kid} is not registered for root {other.orch.agent}"


def test_a_forged_root_token_names_the_roots_key(world: World) -> None:
    """Fault: the message of a root token's bad signature loses whose key it was."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 0, signer=world.agents[0], header={"kid": world.orch.kid})
    assert (err.code, err.hop) == ("bad_signature", 0)
    assert err.message == (
        f"token 0: signature does not verify under root {world.orch.agent}'s key"
    )


def test_a_request_that_is_not_a_request_is_refused_with_its_message(world: World) -> None:
    """Fault: the invalid_request message of a wrong request type is lost."""
    chain = world.chain(1)
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify(chain, world.prove(chain), {"tool": REQ.tool})  # type: ignore[arg-type]
    assert (ei.value.code, ei.value.message) == (
        "invalid_request",
        "request must be a delegation.Request",
    )
