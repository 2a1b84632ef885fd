from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, settings
from support import World

from delegation.keys import Backend, PublicKey

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def world() -> World:
    """A fresh Ed25519 world (orchestrator + 6 registered agents, fixed clock)."""
    return World()


@pytest.fixture
def es_world() -> World:
    """The same world with P-256 (ES256) keys."""
    return World(alg="ES256")


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kids of the real signature checks made (every check goes through ``is_valid``)."""
    calls: list[str] = []
    original = PublicKey.is_valid

    def counting(
        self: PublicKey, signature: bytes, data: bytes, *, backend: Backend | None = None
    ) -> bool:
        calls.append(self.kid)
        return original(self, signature, data, backend=backend)

    monkeypatch.setattr(PublicKey, "is_valid", counting)
    return calls


@pytest.fixture(autouse=True)
def _fresh_memo_caches_under_mutmut() -> None:
    """Under mutmut (scripts/mutate), empty delegation's memo caches before each test.

    mutmut runs each mutant against the tests it saw call the mutated function. A memoised
    result (``pattern_covers``, ``_split``) hides the call from every later test with the
    same arguments, so those tests were never run against the mutants of the functions
    behind the cache. Outside mutmut this does nothing.
    """
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    for name, module in list(sys.modules.items()):
        if name == "delegation" or name.startswith("delegation."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and getattr(value, "__module__", None) == name:
                    clear()
