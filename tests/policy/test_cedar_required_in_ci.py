"""The Cedar tests skip without cedarpy on a developer's machine, but fail under CI=true."""

from __future__ import annotations

import sys

import pytest
from support import require_optional


def test_missing_cedarpy_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """With cedarpy unimportable and CI=true, the check fails instead of skipping."""
    monkeypatch.setitem(sys.modules, "cedarpy", None)  # import cedarpy -> ImportError
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cedarpy"):
        require_optional("cedarpy", "pip install -e '.[cedar]'")


@pytest.mark.parametrize("ci", [None, "false", "1"])
def test_missing_cedarpy_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    """Anything but CI=true skips, naming what to install."""
    monkeypatch.setitem(sys.modules, "cedarpy", None)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"\.\[cedar\]"):
        require_optional("cedarpy", "pip install -e '.[cedar]'")


def test_present_cedarpy_is_returned() -> None:
    """With cedarpy installed, the module itself comes back (the tests then run)."""
    assert require_optional("cedarpy", "x").__name__ == "cedarpy"
