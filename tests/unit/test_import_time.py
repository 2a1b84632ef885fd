"""``import delegation`` stays light: optional and heavy parts load only when used.

Each check runs in a fresh interpreter (``sys.modules`` of this one is full of them).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("networkx", "cedarpy", "redis", "rich", "yaml", "jwt", "starlette", "httpx")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m.split(".")[0] for m in out.split()}


def test_import_delegation_imports_no_optional_part() -> None:
    loaded = _modules_after("import delegation")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


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
