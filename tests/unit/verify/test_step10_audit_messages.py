"""Step 10: what a denial's audit record and a failing sink's error say.

test_step10_audit.py pins the codes; a mutation run of ``verify.py`` (docs/mutation.md)
found the audited message, the event of an internal error and the sink-failure message
pinned nowhere.
"""

from __future__ import annotations

import pytest
from support import ORG, REQ, World
from verify_support import DownAudit

from delegation import DelegationError, StoreUnavailable
from delegation.stores.memory import MemoryStore


def test_a_denial_is_audited_with_its_message_and_hop(world: World) -> None:
    """Fault: the audit record of a denial loses the message the caller was given."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify(chain, world.prove(chain, aud=f"{ORG}/tool/mail"), REQ)
    record = world.audit.records[-1]
    assert (record["event"], record["code"], record["message"]) == (
        "verify",
        "audience_mismatch",
        ei.value.message,
    )
    assert ei.value.message.startswith(f"proof is for {ORG}/tool/mail")


class _Crashing(MemoryStore):
    def first_revoked(self, items: object, now: float) -> None:
        raise RuntimeError("backend bug")


@pytest.mark.parametrize("event", ["verify", "accept"])
def test_an_internal_error_is_audited_under_its_own_event(world: World, event: str) -> None:
    """Fault: an internal error is recorded under another event than the call's."""
    chain = world.chain(2)
    store = _Crashing()
    verifier = world.verifier(revocations=store, replay=store, audience=world.agents[1].agent)
    proof = world.prove(chain, aud=world.agents[1].agent)

    def call() -> object:
        if event == "verify":
            return verifier.verify(chain, proof, REQ)
        return verifier.accept(chain)

    with pytest.raises(DelegationError) as ei:
        call()
    assert ei.value.code == "internal_error"
    record = world.audit.records[-1]
    assert (record["event"], record["code"]) == (event, "internal_error")
    assert record["message"] == "verification failed unexpectedly: RuntimeError"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [(StoreUnavailable("disk full"), "disk full"), (OSError("disk"), "OSError('disk')")],
    ids=["coded", "foreign"],
)
def test_a_failing_sink_says_why_and_which_denial_it_was_recording(
    world: World, exc: Exception, reason: str
) -> None:
    """Fault: the store_unavailable message of a failing audit sink loses the sink's reason
    or the code of the denial it could not record.
    """
    chain = world.chain(2)
    verifier = world.verifier(audit=DownAudit(exc))
    with pytest.raises(DelegationError) as allowed:
        verifier.verify(chain, world.prove(chain), REQ)
    assert (allowed.value.code, allowed.value.message) == (
        "store_unavailable",
        f"audit sink failed: {reason}",
    )
    with pytest.raises(DelegationError) as denied:
        verifier.verify(chain, world.prove(chain, aud=f"{ORG}/tool/mail"), REQ)
    assert (denied.value.code, denied.value.message) == (
        "store_unavailable",
        f"audit sink failed: {reason} (while recording a audience_mismatch denial)",
    )
