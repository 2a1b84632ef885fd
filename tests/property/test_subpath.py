"""Properties of the ``subpath`` constraint: sound attenuation, no traversal.

Paths are drawn from a small alphabet of segments that includes the tricks (``.``,
``..``, empty segments, NUL) so that hypothesis meets them often.
"""

from __future__ import annotations

import posixpath
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from delegation import Capability, Request, allows, covers

SEGMENTS = st.sampled_from(["a", "b", "ab", "app", ".", "..", "", "a\x00", "a\n", "..."])
CLEAN = st.sampled_from(["a", "b", "ab", "app"])


@st.composite
def paths(draw: st.DrawFn, segments: st.SearchStrategy[str] = SEGMENTS) -> str:
    parts = draw(st.lists(segments, min_size=0, max_size=4))
    absolute = draw(st.booleans())
    trailing = draw(st.booleans())
    text = "/".join(parts)
    return ("/" if absolute else "") + text + ("/" if trailing and text else "")


def bases() -> st.SearchStrategy[str]:
    """Valid subpath bases: normalised, absolute or relative, optional trailing slash."""
    return paths(CLEAN).filter(lambda p: p not in ("",))


def kinds() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        bases().map(lambda b: {"subpath": b}),
        paths(SEGMENTS).map(lambda p: {"prefix": p}),
        st.lists(paths(SEGMENTS), min_size=1, max_size=3).map(lambda v: {"one_of": v}),
        paths(SEGMENTS).map(lambda p: {"equals": p}),
    )


def _cap(kind: dict[str, Any]) -> Capability:
    return Capability(tool="files.read", constraints={"path": kind})


def _request(path: str) -> Request:
    return Request(tool="files.read", resource="fs", args={"path": path})


@given(kinds(), kinds(), paths())
def test_subpath_attenuation_is_sound(
    parent: dict[str, Any], child: dict[str, Any], path: str
) -> None:
    """covers(p, c) and allows(c, r) imply allows(p, r), for subpath among the kinds."""
    p, c, r = _cap(parent), _cap(child), _request(path)
    if covers(p, c) and allows(c, r):
        assert allows(p, r), (parent, child, path)


@given(bases())
def test_subpath_covers_itself(base: str) -> None:
    assert covers(_cap({"subpath": base}), _cap({"subpath": base}))


@given(bases(), paths())
def test_subpath_allows_only_paths_that_stay_below(base: str, path: str) -> None:
    """An allowed path is already normalised, has no NUL, and stays under the base."""
    if allows(_cap({"subpath": base}), _request(path)):
        assert "\x00" not in path and ".." not in path.split("/")
        assert posixpath.normpath(path) == path
        root = base.rstrip("/") or "/"
        normal = posixpath.normpath(path)
        assert normal == root or normal.startswith(root.rstrip("/") + "/")


@given(bases(), bases())
def test_a_deeper_subpath_is_covered(parent: str, tail: str) -> None:
    """A subpath below the parent's is covered by it; the parent is not covered by it."""
    child = parent.rstrip("/") + "/" + tail.strip("/")
    assert covers(_cap({"subpath": parent}), _cap({"subpath": child}))
    if parent.rstrip("/") != child.rstrip("/"):
        assert not covers(_cap({"subpath": child}), _cap({"subpath": parent}))
