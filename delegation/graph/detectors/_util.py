"""Small helpers the detectors share: locations, evidence, sensitivity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...capabilities import pattern_matches
from ..findings import Location, Options
from ..model import DelegationGraph, TokenHop

__all__ = ["evidence", "is_sensitive", "locations"]


def locations(hops: Iterable[TokenHop], *extra: Location | None) -> tuple[Location, ...]:
    """Where the facts of ``hops`` (and ``extra``) were read: first sighting of each."""
    out: dict[Location, None] = {}
    for loc in extra:
        if loc is not None:
            out.setdefault(loc)
    for hop in hops:
        if hop.seen_in:
            out.setdefault(hop.seen_in[0])
    return tuple(out)


def evidence(hop: TokenHop, **more: Any) -> dict[str, Any]:
    """The facts of one token an analyst checks first."""
    out: dict[str, Any] = {
        "token_id": hop.token_id,
        "jti": hop.jti,
        "iss": hop.iss,
        "sub": hop.sub,
        "task": hop.task,
        "iat": hop.iat,
        "exp": hop.exp,
        "signature": hop.signature,
    }
    if hop.obo is not None:
        out["obo"] = hop.obo
    if hop.seq is not None:
        out["seq"] = hop.seq
    out.update(more)
    return out


def is_sensitive(graph: DelegationGraph, tool: str, options: Options) -> bool:
    """A tool is sensitive when a registry label says so or a configured pattern matches."""
    if graph.tool_labels(tool) & set(options.sensitive_labels):
        return True
    return any(pattern_matches(p, tool, ".") for p in options.sensitive_tools)
