"""The detectors, one module per rule, registered by rule id in one immutable table.

Each module defines ``TITLE`` (its findings' title), ``detect(graph, options) ->
list[Finding]``, a pure function of the graph, and ``RULE`` (a
:class:`~delegation.graph.findings.Rule`) joining them to the rule's metadata kept for
all rules in one data file, ``rules.toml``: its stable id, name, default severity, help
text and the standards it maps to (see :mod:`._meta`). Module docstrings state the
rule's definition, its complexity and the OWASP Agentic Top 10, CSA MAESTRO and OWASP
NHI Top 10 entries it addresses.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from ...errors import InvalidInput
from ..findings import Finding, Options, Rule

if TYPE_CHECKING:
    from ..model import DelegationGraph

__all__ = ["RULES", "run"]

_MODULES = (
    "dlg001_scope_escalation",
    "dlg002_baseline_exceeded",
    "dlg003_confused_deputy",
    "dlg004_unverified_hop",
    "dlg005_broken_lineage",
    "dlg006_principal_switch",
    "dlg007_depth_fan_out",
    "dlg008_delegation_cycle",
    "dlg009_lifetime_extension",
    "dlg010_bearer_or_broad",
    "dlg011_toxic_combination",
    "dlg012_blast_radius",
    "dlg013_shared_key",
    "dlg014_trust_boundary",
    "dlg015_unused_grant",
    "dlg016_replay",
    "dlg017_choke_point",
    "dlg018_re_rooting",
)


def _load() -> Mapping[str, Rule]:
    rules: dict[str, Rule] = {}
    for name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # not written yet
        rule: Rule = module.RULE
        rules[rule.id] = rule
    return MappingProxyType(dict(sorted(rules.items())))


RULES: Mapping[str, Rule] = _load()
"""Every detector, by rule id (``"DLG001"`` ... ``"DLG018"``), in id order; read-only."""


def run(
    graph: DelegationGraph, *, rules: Iterable[str] | None = None, options: Options
) -> list[Finding]:
    """Run the selected rules (all by default); findings sorted, duplicates removed.

    Raises ``invalid_input`` for an unknown rule id.
    """
    selected = sorted(RULES) if rules is None else sorted(set(rules))
    unknown = [r for r in selected if r not in RULES]
    if unknown:
        raise InvalidInput(f"unknown rule(s) {', '.join(unknown)} (known: {', '.join(RULES)})")
    found: dict[str, Finding] = {}
    with graph.batch():  # an analysis allocates millions of acyclic, long-lived objects
        for rule_id in selected:
            for finding in RULES[rule_id].detect(graph, options):
                found.setdefault(finding.fingerprint, finding)
        return sorted(found.values(), key=Finding.sort_key)
