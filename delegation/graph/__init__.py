"""The delegation graph: who delegated what to whom, and where authority reached too far.

Build a :class:`DelegationGraph` from audit logs, chain files or verified chains; ask it
what an agent effectively holds and how (``effective_capabilities``), who can reach a
tool (``paths_to``), what a compromise exposes (``blast_radius``); run the detectors
(``findings``), each finding with the witness path that explains it.

>>> from delegation.graph import RULES
>>> sorted(RULES)[0], RULES["DLG001"].name
('DLG001', 'scope-escalation')
"""

from __future__ import annotations

from .build import Window, from_audit, from_chains, from_verified, load
from .detectors import RULES
from .facts import Grant, TokenHop, node_id, trust_domain
from .findings import SEVERITIES, Finding, Location, Options, PathStep, Rule, Severity
from .model import DelegationGraph

__all__ = [
    "RULES",
    "SEVERITIES",
    "DelegationGraph",
    "Finding",
    "Grant",
    "Location",
    "Options",
    "PathStep",
    "Rule",
    "Severity",
    "TokenHop",
    "Window",
    "from_audit",
    "from_chains",
    "from_verified",
    "load",
    "node_id",
    "trust_domain",
]
