"""Regression (hardening item 12): a receipt on the root token was never checked.

Garbage in the root's ``rcpt`` verified, and the audit log recorded ``receipt: true`` for
it. A root grant accepts no parent, so a receipt there is refused outright.
"""

from __future__ import annotations

import pytest
from forging import forge
from support import REQ, World

from delegation import Chain, DelegationError, MemoryAudit


def _with_root_receipt(world: World, rcpt: str) -> Chain:
    return Chain([forge(world.chain(1).tokens[0], signer=world.orch, claims={"rcpt": rcpt})])


@pytest.mark.parametrize("rcpt", ["garbage", "a.b.c"])
def test_receipt_on_root_is_refused(world: World, rcpt: str) -> None:
    """A root token with any receipt is bad_receipt at hop 0, and the denial is audited."""
    chain = _with_root_receipt(world, rcpt)
    audit = MemoryAudit()
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=audit).verify(chain, world.prove(chain), REQ)
    assert (ei.value.code, ei.value.hop, ei.value.claim) == ("bad_receipt", 0, "rcpt")
    assert ei.value.message == "token 0 carries a receipt: a root grant accepts no parent"
    assert audit.records[-1]["decision"] == "deny"
