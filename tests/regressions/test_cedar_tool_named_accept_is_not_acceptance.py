"""Issue 9, item 8: a tool named ``accept`` mapped to the same Cedar action as accepting."""

from __future__ import annotations

import pytest
from support import require_optional

from delegation import Capability, InvalidPolicy, Request

require_optional("cedarpy", "pip install -e '.[cedar]'")  # skip; fail under CI=true
from policy.test_cedar import ctx  # noqa: E402 - the shared context builder, after the skip

from delegation.policy import cedar  # noqa: E402 - after the check above

TOOL_CALL = Request(tool="accept", resource="anything/1")


def test_cedar_tool_named_accept_is_not_acceptance() -> None:
    """A permit for acceptances allows acceptances only, never a call of a tool named accept."""
    policy = cedar.CedarPolicy(
        '@id("take-docs") permit (principal, action == Delegation::Action::"accept", resource);'
    )
    assert policy.decide(ctx(request=TOOL_CALL)).effect == "deny"
    offer = ctx(action="accept", request=None, capabilities=(Capability(tool="docs.read"),))
    assert policy.decide(offer).effect == "allow"
    # The old spelling would now name only the tool: refused as ambiguous, with the fix.
    with pytest.raises(InvalidPolicy, match="Delegation::Action"):
        cedar.CedarPolicy('permit (principal, action == Action::"accept", resource);')
