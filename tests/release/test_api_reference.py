"""The public API is listed in one place, docs/api.md, and every exported name has a docstring.

The public API is ``delegation.__all__`` plus ``delegation.graph.__all__``. The API page
renders each name with a ``::: delegation.NAME`` (or ``::: delegation.graph.NAME``)
directive; ``mkdocs build --strict`` (the last step of scripts/check) renders them.
Docstrings are read the way mkdocstrings reads them (griffe, statically), so a constant's
attribute docstring counts and an inherited one does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe
import pytest

import delegation
import delegation.graph

ROOT = Path(__file__).resolve().parents[2]
API_PAGE = ROOT / "docs" / "api.md"
PACKAGES = {"delegation": delegation.__all__, "delegation.graph": delegation.graph.__all__}
EXPORTED = [f"{pkg}.{name}" for pkg, names in PACKAGES.items() for name in names]


def _directives() -> list[str]:
    return re.findall(r"^::: (delegation(?:\.graph)?\.\w+)\s*$", API_PAGE.read_text(), re.M)


def test_api_page_lists_every_exported_name_once() -> None:
    listed = [name for name in _directives() if name.rsplit(".", 1)[-1] != "graph"]
    assert len(listed) == len(set(listed)), "a name is listed twice on docs/api.md"
    assert sorted(listed) == sorted(EXPORTED), (
        f"missing from docs/api.md: {sorted(set(EXPORTED) - set(listed))}; "
        f"not exported: {sorted(set(listed) - set(EXPORTED))}"
    )


def test_mkdocs_nav_has_the_api_page_and_every_guide() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f": {page.name}\n" in config, f"{page.name} is not in mkdocs.yml's nav"


@pytest.fixture(scope="module")
def loaded() -> griffe.Module:
    package = griffe.load("delegation", search_paths=[str(ROOT)], resolve_aliases=True)
    assert isinstance(package, griffe.Module)
    return package


@pytest.mark.parametrize("path", EXPORTED)
def test_exported_name_has_a_docstring(loaded: griffe.Module, path: str) -> None:
    obj = loaded[path.removeprefix("delegation.")]
    docstring = obj.docstring.value.strip() if obj.docstring else ""
    assert docstring, f"{path} has no docstring (the API reference would show nothing)"
    first_line = docstring.splitlines()[0]
    assert first_line.strip(), f"{path}: the docstring should open with one line"
