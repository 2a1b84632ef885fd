"""Helpers shared by DLG002-DLG006 and DLG009: bounded witnesses, children, short lists.

Every walk here is iterative and bounded, so a hostile claimed lineage (a ``prf`` loop,
a chain of a million forged hops) costs no more than the steps it is allowed to take.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...capabilities import Capability, pattern_matches
from ..findings import PathStep
from ..model import DelegationGraph, TokenHop

__all__ = [
    "WITNESS_STEPS",
    "children_of",
    "listed",
    "matches",
    "short",
    "witness",
]

WITNESS_STEPS = 20  # at most this many delegation hops in a witness (the ones nearest the leaf)
LISTED = 20  # at most this many items named in a message


def witness(
    graph: DelegationGraph, token_id: str, limit: int = WITNESS_STEPS
) -> tuple[tuple[PathStep, ...], bool]:
    """The delegation path that delivered ``token_id``, root first, cut to its last ``limit``
    hops; the flag says whether hops above were left out (or a ``prf`` loop stopped it)."""
    steps: list[PathStep] = []
    seen: set[str] = set()
    current: str | None = token_id
    while current is not None and current in graph.tokens and current not in seen:
        if len(steps) == limit:
            return tuple(reversed(steps)), True
        seen.add(current)
        hop = graph.tokens[current]
        steps.append(PathStep("delegates", hop.iss, hop.sub, hop.token_id))
        current = hop.prf
    return tuple(reversed(steps)), current is not None and current in seen


def children_of(graph: DelegationGraph) -> dict[str, list[TokenHop]]:
    """Tokens by the parent they name (every token once; order: iat, token id)."""
    out: dict[str, list[TokenHop]] = {}
    for hop in graph.tokens.values():
        if hop.prf is not None:
            out.setdefault(hop.prf, []).append(hop)
    for kids in out.values():
        kids.sort(key=lambda h: (h.iat, h.token_id))
    return out


def listed(items: Iterable[str], limit: int = LISTED) -> str:
    """``a, b, c`` naming at most ``limit`` items, then how many more.

    >>> listed(["a", "b", "c"], 2)
    'a, b (and 1 more)'
    """
    items = list(items)
    head = ", ".join(items[:limit])
    return head if len(items) <= limit else f"{head} (and {len(items) - limit} more)"


def short(token_id: str | None) -> str:
    """A token id shortened for messages (the full id is in the path and evidence)."""
    return "-" if token_id is None else token_id[:12]


def matches(caps: Iterable[Capability], tool: str, resource: str) -> bool:
    """Whether some capability names ``tool`` on ``resource`` (constraints not judged:
    a log records the arguments' digest, not the arguments)."""
    try:
        return any(
            pattern_matches(c.tool, tool, ".") and pattern_matches(c.resource, resource, "/")
            for c in caps
        )
    except ValueError:  # a logged request that is not a concrete tool/resource matches nothing
        return False
