"""``import delegation`` stays light: optional and heavy parts load only when used.

Each check runs in a fresh interpreter (``sys.modules`` of this one is full of them).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("networkx", "cedarpy", "redis", "rich", "yaml", "jwt", "starlette", "httpx")
# What the library's models and keys cost at import: neither ``import delegation`` nor the
# CLI's parser (``delegation --help``) may load them.
LIBRARY = ("pydantic", "pydantic_core", "cryptography", "nacl", "orjson", "rfc8785")


def _all_modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def _modules_after(code: str) -> set[str]:
    return {m.split(".")[0] for m in _all_modules_after(code)}


def test_import_delegation_imports_no_optional_part() -> None:
    loaded = _modules_after("import delegation")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_import_delegation_imports_no_submodule() -> None:
    """Every public name is lazy: ``import delegation`` loads the package file only."""
    loaded = _all_modules_after("import delegation")
    assert {m for m in loaded if m.startswith("delegation.")} == set()
    assert not {m.split(".")[0] for m in loaded} & set(LIBRARY + HEAVY)


def test_cli_parser_imports_no_library_model() -> None:
    """``delegation --help`` builds the parser from light modules (errors, limits)."""
    code = "from delegation.cli import build_parser\nbuild_parser().format_help()"
    loaded = _all_modules_after(code)
    assert not {m.split(".")[0] for m in loaded} & set(LIBRARY + HEAVY)
    library = {m for m in loaded if m.startswith("delegation.") and "cli" not in m}
    assert library <= {"delegation.errors", "delegation.limits"}, sorted(library)


def test_every_public_name_imports_from_its_module() -> None:
    """``from delegation import X`` works for every name of ``__all__``, in a fresh
    interpreter, and gives the object its module defines."""
    import delegation

    names = ", ".join(delegation.__all__)
    code = (
        f"from delegation import {names}\n"
        "import delegation, importlib\n"
        "for name in delegation.__all__:\n"
        "    home = importlib.import_module(delegation._LAZY[name], 'delegation')\n"
        "    assert getattr(home, name) is globals()[name], name\n"
        "print(len(delegation.__all__))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert int(out) == len(delegation.__all__) == len(set(delegation.__all__))
    assert set(delegation._LAZY) == set(delegation.__all__)
    assert set(delegation.__all__) <= set(dir(delegation))


def test_verifying_imports_no_optional_part() -> None:
    """A whole mint + verify round (the README's path) still needs none but pyjwt."""
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from support import World, REQ\n"
        "w = World(); c = w.chain(3); w.verifier().verify(c, w.prove(c), REQ)\n"
    )
    loaded = _modules_after(code)
    assert not loaded & (set(HEAVY) - {"jwt"}), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("name", ["CedarPolicy", "RulesPolicy"])
def test_lazy_names_resolve(name: str) -> None:
    import delegation

    assert getattr(delegation, name).__name__ == name
    with pytest.raises(AttributeError):
        delegation.NoSuchName  # noqa: B018
