"""Issue 9, item 7: percent-encoded control, space and bidi characters passed validation."""

from __future__ import annotations

import pytest

from delegation import Capability, DelegationError, Request, allows

TRICKS = [
    "files/public/..%00",
    "files/public/%2e%2e%00",
    "files/public/..%20",
    "files/public/a%0d%0aX-Injected:%201",
    "files/public/%E2%80%AEfdp.exe",
    "files/public/%e2%80%8b",  # zero-width space
    "files/public/%C2%A0",  # no-break space
    "files/public/%252e%252e",  # double encoding
    "files/public/%25",
    "files/public/%ff",  # not UTF-8 once decoded
]


@pytest.mark.parametrize("resource", TRICKS)
def test_percent_encoded_tricks_in_resources_refused(resource: str) -> None:
    """Requests and capabilities with such resources are refused with a code, never matched."""
    with pytest.raises(DelegationError) as ei:
        Request(tool="files.read", resource=resource)
    assert ei.value.code == "invalid_request"
    with pytest.raises(DelegationError) as ei:
        Capability(tool="files.read", resource=resource)
    assert ei.value.code == "invalid_capability"
    # Ordinary percent-encoding is still fine.
    ok = Request(tool="files.read", resource="files/public/a%2Cb")
    assert allows(Capability(tool="files.read", resource="files/public/**"), ok)
