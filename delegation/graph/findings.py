"""Findings, witness paths, severities, detector options and the rule record.

A :class:`Finding` says which rule fired, how bad it is, and *why*: ``path`` is the
witness, the concrete hops (tokens and calls) that explain it; ``evidence`` the facts an
analyst checks (jti, times, audit sequence numbers); ``locations`` where in the inputs
those facts were read (file and line), for SARIF and for humans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from .model import DelegationGraph

__all__ = [
    "SECURITY_SEVERITY",
    "SEVERITIES",
    "Finding",
    "Location",
    "Options",
    "PathStep",
    "Rule",
    "Severity",
    "load_options",
    "severity_at_least",
]

Severity = Literal["critical", "high", "medium", "low", "info"]
"""How bad a finding is: ``"critical"``, ``"high"``, ``"medium"``, ``"low"`` or ``"info"``."""
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
"""The severities, worst first (``--fail-on`` and ``severity_at_least`` rank by it)."""
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
# SARIF ``security-severity`` (CVSS-like scores code-scanning UIs turn into levels).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def severity_at_least(severity: Severity, threshold: Severity) -> bool:
    """Whether ``severity`` is ``threshold`` or worse.

    >>> severity_at_least("critical", "high"), severity_at_least("low", "medium")
    (True, False)
    """
    return _RANK[severity] <= _RANK[threshold]


@dataclass(frozen=True, order=True)
class Location:
    """Where a fact was read: an input's name and its 1-based line."""

    source: str
    line: int


@dataclass(frozen=True)
class PathStep:
    """One hop of a witness path: ``source`` delegated to (or invoked) ``target``.

    ``kind`` is ``delegates`` (``token`` names the token), ``invokes`` or ``denied``
    (``target`` is a tool), or ``holds`` (an agent holding ``token``).
    """

    kind: str
    source: str
    target: str
    token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "from": self.source, "to": self.target}
        if self.token is not None:
            out["token"] = self.token
        return out


@dataclass(frozen=True)
class Finding:
    """One result of a detector.

    ``key`` identifies the finding across runs (rule + the token ids or agents it is
    about, never times or lines): SARIF's fingerprint and ``graph diff`` use it.
    """

    rule: str
    severity: Severity
    title: str
    message: str
    key: tuple[str, ...]
    path: tuple[PathStep, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    locations: tuple[Location, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Stable across runs: the rule and what the finding is about."""
        return "|".join((self.rule, *self.key))

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents on the witness path, in order, each once."""
        seen: dict[str, None] = {}
        for step in self.path:
            seen.setdefault(step.source)
            if step.kind in ("delegates", "holds"):
                seen.setdefault(step.target)
        return tuple(seen)

    def sort_key(self) -> tuple[int, str, str, str]:
        return (_RANK[self.severity], self.rule, self.fingerprint, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``graph analyze --format json``)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "path": [s.to_dict() for s in self.path],
            "evidence": dict(self.evidence),
            "locations": [{"source": loc.source, "line": loc.line} for loc in self.locations],
            "fingerprint": self.fingerprint,
        }


class Options(BaseModel):
    """What the detectors are told (``graph analyze --config FILE``, JSON or YAML).

    >>> Options().max_depth, Options(max_depth=6).max_depth
    (4, 6)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_depth: int = Field(4, ge=1, le=64, description="DLG007: deepest chain allowed")
    max_fan_out: int = Field(
        10, ge=1, description="DLG007: most agents one agent may delegate to in one task"
    )
    max_lifetime: int = Field(3600, ge=1, description="DLG009: longest token lifetime (s)")
    sensitive_labels: tuple[str, ...] = Field(
        ("sensitive_read", "sensitive_write", "egress", "payments", "admin"),
        description="tool labels that make a tool sensitive (DLG012, DLG017)",
    )
    toxic_sets: tuple[tuple[str, ...], ...] = Field(
        (("untrusted_input", "sensitive_read", "egress"),),
        description="DLG011: label sets no task's agents may hold together",
    )
    allowed_crossings: tuple[tuple[str, str], ...] = Field(
        (), description="DLG014: (from domain, to domain) pairs allowed to delegate"
    )
    principal_window: int = Field(
        3600, ge=1, description="DLG006: window (s) in which one key should serve one principal"
    )
    max_reach: int = Field(
        10,
        ge=1,
        description="DLG012: most agents that may reach one sensitive tool before it is medium",
    )
    sensitive_tools: tuple[str, ...] = Field(
        (), description="tool patterns treated as sensitive whatever their labels"
    )


def load_options(path: str) -> Options:
    """Read detector options from a JSON or YAML file; errors name the file and field.

    Raises ``file_error`` or ``invalid_input``.
    """
    import json

    import yaml

    from .._files import read_text
    from ..errors import InvalidInput

    text = read_text(path, what="graph config")
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(
            f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {first}"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: the config must be a mapping of option names to values")
    try:
        return Options.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise InvalidInput(f"{path}: {where}: {err['msg']}") from None


Detector = Callable[["DelegationGraph", Options], list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A detector and what reports say about it (SARIF rule metadata)."""

    id: str
    name: str
    summary: str
    help: str
    severity: Severity
    tags: tuple[str, ...]
    detect: Detector = field(repr=False)

    @property
    def security_severity(self) -> str:
        """SARIF ``security-severity`` for the rule's default severity."""
        return SECURITY_SEVERITY[self.severity]
