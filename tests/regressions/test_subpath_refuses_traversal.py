"""Issue 9, item 14: ``prefix`` does no path handling; ``subpath`` is the path-aware kind."""

from __future__ import annotations

import pytest

from delegation import Capability, DelegationError, Request, allows, covers

PREFIX = Capability(tool="fs.read", constraints={"path": {"prefix": "/srv/app/"}})
SUBPATH = Capability(tool="fs.read", constraints={"path": {"subpath": "/srv/app/"}})


def _req(path: str) -> Request:
    return Request(tool="fs.read", resource="fs", args={"path": path})


@pytest.mark.parametrize(
    "path",
    [
        "/srv/app/../../etc/shadow",
        "/srv/app/./../../etc/shadow",
        "/srv/app//x",
        "/srv/app/x\x00.txt",
        "/srv/app2/secret",
        "/srv/app/..",
        "srv/app/x",
    ],
)
def test_subpath_refuses_traversal(path: str) -> None:
    """The docs' example allowed traversal with prefix; subpath refuses it."""
    assert not allows(SUBPATH, _req(path))
    assert allows(SUBPATH, _req("/srv/app/logs/today.txt"))
    assert allows(SUBPATH, _req("/srv/app"))
    # A prefix never covers into a subpath (it admits ".."), a deeper subpath does.
    assert not covers(SUBPATH, PREFIX)
    deeper = Capability(tool="fs.read", constraints={"path": {"subpath": "/srv/app/logs"}})
    assert covers(SUBPATH, deeper) and not covers(deeper, SUBPATH)
    # A subpath is covered by a prefix of its directory ("/srv/app" itself is allowed,
    # so the prefix "/srv/app/" does not cover it; "/srv/" does).
    assert not covers(PREFIX, SUBPATH)
    assert covers(Capability(tool="fs.read", constraints={"path": {"prefix": "/srv/"}}), SUBPATH)


@pytest.mark.parametrize("base", ["/srv/../etc", "/srv/./app", "a//b", "", "/srv/\x00"])
def test_subpath_base_must_be_normalised(base: str) -> None:
    with pytest.raises(DelegationError) as ei:
        Capability(tool="fs.read", constraints={"path": {"subpath": base}})
    assert ei.value.code == "invalid_capability"
