"""The registry: trusted roots, and (optionally) agent id -> keys, role, baseline.

The file format::

    {"roots":  {"spiffe://acme.example/orchestrator": {"keys": [{...public JWK...}]}},
     "agents": {"spiffe://acme.example/agent/planner": {"keys": [{...}], "role": "planner",
                "baseline": [{"tool": "plan.*", "resource": "**"}]}},
     "tools":  {"web.fetch": {"labels": ["untrusted_input"]}}}

When ``agents`` is non-empty the verifier re-authenticates identities: every token's
``cnf`` key must be a registered key of its ``sub``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._files import read_json_object, write_json
from ._ids import check_agent_id
from .capabilities import Capability
from .errors import DelegationError, InvalidRegistry
from .keys import PublicKey

__all__ = ["AgentEntry", "Registry"]


@dataclass(frozen=True)
class AgentEntry:
    """One registered agent (or root): its keys by kid, role and baseline."""

    agent: str
    keys: Mapping[str, PublicKey]
    role: str | None = None
    baseline: tuple[Capability, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out["keys"] = [k.jwk for k in self.keys.values()]
        if self.role is not None:
            out["role"] = self.role
        if self.baseline:
            out["baseline"] = [c.to_wire() for c in self.baseline]
        return out


def _key(value: object, where: str) -> PublicKey:
    try:
        return PublicKey.from_jwk(value)
    except DelegationError as exc:
        raise InvalidRegistry(f"{where}: {exc.message}") from None


class Registry:
    """Trusted roots and known agents. Not thread-safe for writes; reads are safe.

    >>> from delegation import AgentKey
    >>> orch = AgentKey.generate("spiffe://acme.example/orchestrator")
    >>> reg = Registry()
    >>> reg.add_root(orch.agent, orch.public_jwk())
    >>> reg.root_key(orch.agent, orch.kid) is not None
    True
    """

    def __init__(self) -> None:
        self._roots: dict[str, AgentEntry] = {}
        self._agents: dict[str, AgentEntry] = {}
        self._tools: dict[str, dict[str, Any]] = {}

    # --- building --- #

    def add_root(self, agent: str, jwk: Mapping[str, Any] | PublicKey) -> None:
        """Trust ``agent`` as a root (orchestrator) with this public key (added to its keys)."""
        check_agent_id(agent, error=InvalidRegistry)
        key = jwk if isinstance(jwk, PublicKey) else _key(_public_part(jwk), f"root {agent}")
        old = self._roots.get(agent)
        keys = {**(old.keys if old else {}), key.kid: key}
        self._roots[agent] = replace(old, keys=keys) if old else AgentEntry(agent, keys)

    def add_agent(
        self,
        agent: str,
        jwk: Mapping[str, Any] | PublicKey,
        *,
        role: str | None = None,
        baseline: Iterable[Capability] | None = None,
    ) -> None:
        """Register ``agent`` with this key (added to its keys); role/baseline replace if given."""
        check_agent_id(agent, error=InvalidRegistry)
        key = jwk if isinstance(jwk, PublicKey) else _key(_public_part(jwk), f"agent {agent}")
        old = self._agents.get(agent)
        self._agents[agent] = AgentEntry(
            agent,
            {**(old.keys if old else {}), key.kid: key},
            role=role if role is not None else (old.role if old else None),
            baseline=tuple(baseline) if baseline is not None else (old.baseline if old else ()),
            extra=old.extra if old else {},
        )

    def set_tool_labels(self, tool: str, labels: Iterable[str]) -> None:
        """Attach labels (``untrusted_input``, ``sensitive_read``, ``egress``...) to a tool."""
        self._tools[tool] = {**self._tools.get(tool, {}), "labels": sorted(set(labels))}

    # --- reading --- #

    def root_key(self, agent: str, kid: str) -> PublicKey | None:
        """The registered key ``kid`` of root ``agent``, or None."""
        entry = self._roots.get(agent)
        return entry.keys.get(kid) if entry else None

    def is_root(self, agent: str) -> bool:
        return agent in self._roots

    @property
    def knows_agents(self) -> bool:
        """True when agents are registered, so identity re-authentication applies."""
        return bool(self._agents)

    def agent_has_key(self, agent: str, kid: str) -> bool:
        """True when ``kid`` is a registered key of ``agent`` (roots count as agents)."""
        entry = self._agents.get(agent) or self._roots.get(agent)
        return entry is not None and kid in entry.keys

    @property
    def roots(self) -> Mapping[str, AgentEntry]:
        return dict(self._roots)

    @property
    def agents(self) -> Mapping[str, AgentEntry]:
        return dict(self._agents)

    @property
    def tools(self) -> Mapping[str, Mapping[str, Any]]:
        return dict(self._tools)

    def tool_labels(self, tool: str) -> frozenset[str]:
        return frozenset(self._tools.get(tool, {}).get("labels", ()))

    # --- files --- #

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "roots": {a: e.to_json() for a, e in sorted(self._roots.items())},
            "agents": {a: e.to_json() for a, e in sorted(self._agents.items())},
        }
        if self._tools:
            out["tools"] = dict(sorted(self._tools.items()))
        return out

    @classmethod
    def from_json(cls, data: object) -> Registry:
        """Build a registry from its JSON form. Raises ``InvalidRegistry`` naming the field."""
        if not isinstance(data, dict):
            raise InvalidRegistry("registry must be a JSON object")
        unknown = set(data) - {"roots", "agents", "tools"}
        if unknown:
            raise InvalidRegistry(f"registry has unknown member(s) {sorted(unknown)}")
        reg = cls()
        for section in ("roots", "agents"):
            entries = data.get(section, {})
            if not isinstance(entries, dict):
                raise InvalidRegistry(f"registry {section!r} must be an object")
            for agent, entry in entries.items():
                reg._load_entry(section, agent, entry)
        tools = data.get("tools", {})
        if not isinstance(tools, dict) or not all(
            isinstance(v, dict)
            and isinstance(v.get("labels", []), list)
            and all(isinstance(x, str) for x in v.get("labels", []))
            for v in tools.values()
        ):
            raise InvalidRegistry("registry 'tools' must map tool -> {\"labels\": [strings]}")
        reg._tools = {str(k): dict(v) for k, v in tools.items()}
        return reg

    def _load_entry(self, section: str, agent: str, entry: object) -> None:
        where = f"{section}[{agent!r}]"
        check_agent_id(agent, what=f"{where}: agent id", error=InvalidRegistry)
        if not isinstance(entry, dict):
            raise InvalidRegistry(f"{where} must be an object")
        keys = entry.get("keys")
        if not isinstance(keys, list) or not keys:
            raise InvalidRegistry(f"{where}.keys must be a non-empty list of public JWKs")
        loaded = [_key(k, f"{where}.keys[{i}]") for i, k in enumerate(keys)]
        role = entry.get("role")
        if role is not None and not isinstance(role, str):
            raise InvalidRegistry(f"{where}.role must be a string")
        raw_baseline = entry.get("baseline", [])
        if not isinstance(raw_baseline, list):
            raise InvalidRegistry(f"{where}.baseline must be a list of capabilities")
        try:
            baseline = tuple(Capability.from_wire(c) for c in raw_baseline)
        except DelegationError as exc:
            raise InvalidRegistry(f"{where}.baseline: {exc.message}") from None
        extra = {k: v for k, v in entry.items() if k not in ("keys", "role", "baseline")}
        target = self._roots if section == "roots" else self._agents
        target[agent] = AgentEntry(
            agent, {k.kid: k for k in loaded}, role=role, baseline=baseline, extra=extra
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Registry:
        """Read a registry file. Raises ``FileError`` or ``InvalidRegistry``."""
        data = read_json_object(path, what="registry file", error=InvalidRegistry)
        try:
            return cls.from_json(data)
        except InvalidRegistry as exc:
            raise InvalidRegistry(f"registry file {path}: {exc.message}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the registry file atomically."""
        write_json(path, self.to_json())


def _public_part(jwk: Mapping[str, Any]) -> dict[str, Any]:
    # The key files carry an "agent" member; a registry stores bare public JWKs.
    return {k: v for k, v in jwk.items() if k != "agent"}
