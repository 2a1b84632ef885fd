"""Snapshots of an analysis, and what grew between two of them (``graph diff``).

A snapshot keeps what an analyst compares over time: each agent's effective
capabilities, which agents reach each labelled tool, and the findings by fingerprint.
``diff(old, new)`` reports what grew: new agents, agents whose capabilities grew, new
paths to labelled tools, new findings, and the findings that were resolved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..capabilities import pattern_matches
from ..errors import FileError, InvalidInput
from .findings import Finding

if TYPE_CHECKING:
    from .model import DelegationGraph

__all__ = ["SNAPSHOT_VERSION", "diff", "is_snapshot", "load_snapshot", "snapshot"]

SNAPSHOT_VERSION = 1
_MAX_SNAPSHOT = 256 << 20


def snapshot(graph: DelegationGraph, findings: list[Finding]) -> dict[str, Any]:
    """What ``graph analyze --save`` writes: comparable facts, no times or line numbers."""
    agents: dict[str, list[str]] = {}
    for agent in graph.agents():
        caps = sorted({str(g.capability) for g in graph.effective_capabilities(agent)})
        agents[agent] = caps
    labelled = sorted(graph.registry.tools) if graph.registry is not None else []
    tools = sorted({inv.tool for inv in graph.invocations} | set(labelled))
    reach: dict[str, list[str]] = {}
    for tool in tools:
        labels = graph.tool_labels(tool)
        if not labels:
            continue
        holders = sorted(
            {
                h.sub
                for h in graph.tokens.values()
                if any(pattern_matches(c.tool, tool, ".") for c in h.caps)
            }
        )
        reach[tool] = holders
    return {
        "delegation_snapshot": SNAPSHOT_VERSION,
        "agents": agents,
        "labelled_tools": reach,
        "findings": {
            f.fingerprint: {"rule": f.rule, "severity": f.severity, "message": f.message}
            for f in findings
        },
    }


def is_snapshot(path: str) -> bool:
    """Whether the file holds a saved snapshot (not an audit log or chain file)."""
    if path == "-":
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b'{"delegation_snapshot"')


def load_snapshot(path: str) -> dict[str, Any]:
    """Read a snapshot written by ``graph analyze --save``.

    Raises ``file_error`` or ``invalid_input``.
    """
    try:
        if Path(path).stat().st_size > _MAX_SNAPSHOT:
            raise InvalidInput(f"snapshot {path} is over {_MAX_SNAPSHOT >> 20} MiB")
        data = json.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise FileError(f"snapshot not found: {path}") from None
    except OSError as exc:
        raise FileError(f"cannot read snapshot {path}: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise InvalidInput(f"snapshot {path} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("delegation_snapshot") != SNAPSHOT_VERSION:
        raise InvalidInput(f"{path} is not a version {SNAPSHOT_VERSION} delegation snapshot")
    for name in ("agents", "labelled_tools", "findings"):
        if not isinstance(data.get(name), dict):
            raise InvalidInput(f"snapshot {path}: {name!r} must be an object")
    return data


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What grew from ``old`` to ``new`` (two snapshots), and which findings went away.

    >>> a = {"agents": {"x:a": ["t:**"]}, "labelled_tools": {}, "findings": {}}
    >>> b = {"agents": {"x:a": ["t:**", "u:**"], "x:b": []}, "labelled_tools": {},
    ...      "findings": {}}
    >>> d = diff(a, b); d["new_agents"], d["grown_agents"], d["grew"]
    (['x:b'], {'x:a': ['u:**']}, True)
    """
    old_agents, new_agents = old["agents"], new["agents"]
    grown = {
        agent: sorted(set(caps) - set(old_agents.get(agent, [])))
        for agent, caps in sorted(new_agents.items())
        if agent in old_agents and set(caps) - set(old_agents[agent])
    }
    new_paths = {
        tool: sorted(set(holders) - set(old["labelled_tools"].get(tool, [])))
        for tool, holders in sorted(new["labelled_tools"].items())
        if set(holders) - set(old["labelled_tools"].get(tool, []))
    }
    old_f, new_f = old["findings"], new["findings"]
    added = [{"fingerprint": k, **new_f[k]} for k in sorted(new_f) if k not in old_f]
    resolved = [{"fingerprint": k, **old_f[k]} for k in sorted(old_f) if k not in new_f]
    out: dict[str, Any] = {
        "new_agents": sorted(set(new_agents) - set(old_agents)),
        "grown_agents": grown,
        "new_paths_to_labelled_tools": new_paths,
        "new_findings": added,
        "resolved_findings": resolved,
    }
    out["grew"] = bool(out["new_agents"] or grown or new_paths or added)
    return out
