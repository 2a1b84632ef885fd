from __future__ import annotations

from pathlib import Path

import pytest
from graph_scene import Scene


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    """A fresh deployment: orchestrator, agents a0..a5, one store, one audit log."""
    return Scene(tmp_path)
