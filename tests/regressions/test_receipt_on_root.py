"""Regression (hardening item 12): a receipt on the root token was never checked.

Garbage in the root's ``rcpt`` verified, and the audit log recorded ``receipt: true`` for
it. A root grant accepts no parent, so a receipt there is refused outright.
"""

from __future__ import annotations

import json

import pytest
from support import REQ, World

from delegation import Chain, DelegationError, MemoryAudit
from delegation._jose import b64url_decode, b64url_encode


def _with_root_receipt(world: World, rcpt: str) -> Chain:
    token = world.chain(1).tokens[0]
    h64, p64, _ = token.split(".")
    claims = json.loads(b64url_decode(p64))
    claims["rcpt"] = rcpt
    p64 = b64url_encode(json.dumps(claims).encode())
    signature = world.orch.sign(f"{h64}.{p64}".encode())
    return Chain([f"{h64}.{p64}.{b64url_encode(signature)}"])


@pytest.mark.parametrize("rcpt", ["garbage", "a.b.c"])
def test_receipt_on_root_is_refused(world: World, rcpt: str) -> None:
    """A root token with any receipt is bad_receipt at hop 0, and the denial is audited."""
    chain = _with_root_receipt(world, rcpt)
    audit = MemoryAudit()
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=audit).verify(chain, world.prove(chain), REQ)
    assert (ei.value.code, ei.value.hop) == ("bad_receipt", 0)
    assert audit.records[-1]["decision"] == "deny"
