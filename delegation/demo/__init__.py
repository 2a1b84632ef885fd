"""``delegation demo``: the whole story end to end, told on the terminal by ``cli/demo.py``.

* :mod:`.story`: the cast, their rules, the forgeries and the report, shared by both modes;
* :mod:`.in_process`: the story with function calls in one process (no extra needed);
* :mod:`.network`: the story between separate processes on loopback ports (the ``http``
  extra), started and stopped by :mod:`.processes`, each serving :mod:`.agent`.
"""

from __future__ import annotations

from .in_process import play_demo
from .story import ALLOW, ATTACKER, DEMO_FILES, EXPECTED_RULES, ORG, DemoReport, Step

__all__ = [
    "ALLOW",
    "ATTACKER",
    "DEMO_FILES",
    "EXPECTED_RULES",
    "ORG",
    "DemoReport",
    "Step",
    "play_demo",
]
