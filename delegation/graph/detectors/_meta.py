"""The detectors' rule metadata, kept in one data file (``rules.toml``) read once.

A rule's name, default severity, help text and standards tags are data that reports and
SARIF show; they live together in ``rules.toml`` by rule id, and each detector module
joins them to its own finding title and ``detect`` function with :func:`rule`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Any, cast

from ..findings import SEVERITIES, Detector, Rule, Severity

__all__ = ["rule"]


@cache
def _table() -> dict[str, dict[str, Any]]:
    text = files(__name__.rpartition(".")[0]).joinpath("rules.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def rule(rule_id: str, summary: str, detect: Detector) -> Rule:
    """The :class:`Rule` for ``rule_id``: its metadata from ``rules.toml``, ``detect`` its check.

    >>> r = rule("DLG008", "a loop", lambda graph, options: [])
    >>> (r.name, r.severity, r.tags[:2])
    ('delegation-cycle', 'high', ('security', 'OWASP-ASI08'))
    """
    meta = _table()[rule_id]
    severity = meta["severity"]
    if severity not in SEVERITIES:  # a typo in the data file fails at import, not in a report
        raise ValueError(f"rules.toml: {rule_id} has an unknown severity {severity!r}")
    return Rule(
        id=rule_id,
        name=meta["name"],
        summary=summary,
        help=meta["help"],
        severity=cast(Severity, severity),
        tags=tuple(meta["tags"]),
        detect=detect,
    )
