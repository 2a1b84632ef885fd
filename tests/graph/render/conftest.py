from __future__ import annotations

from pathlib import Path

import pytest
from render_scenes import planted

from delegation.graph import DelegationGraph, Finding


@pytest.fixture
def scene_graph(tmp_path: Path) -> tuple[DelegationGraph, list[Finding]]:
    """The planted scene's graph (audit log and chains) and its findings (one DLG001)."""
    _, graph, findings = planted(tmp_path)
    return graph, findings
