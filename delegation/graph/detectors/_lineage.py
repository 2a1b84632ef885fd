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
    "Witnesses",
    "children_of",
    "listed",
    "matches",
    "short",
    "witness",
]

WITNESS_STEPS = 20  # at most this many delegation hops in a witness (the ones nearest the leaf)
LISTED = 20  # at most this many items named in a message


class Witnesses:
    """Bounded witnesses of one graph, memoised: a token's is its parent's plus one step.

    ``get(token_id)`` is the delegation path that delivered the token, root first, cut to
    its last ``limit`` hops, and whether hops above were left out (or a ``prf`` loop stopped
    the walk). Each token is walked once, so witnesses for every token cost O(E x limit)
    in C-level tuple copies, whatever the claimed depth.
    """

    def __init__(self, graph: DelegationGraph, limit: int = WITNESS_STEPS) -> None:
        self.graph = graph
        self.limit = limit
        self._memo: dict[str, tuple[tuple[PathStep, ...], bool]] = {}

    def get(self, token_id: str) -> tuple[tuple[PathStep, ...], bool]:
        memo, tokens = self._memo, self.graph.tokens
        known = memo.get(token_id)
        if known is not None:
            return known
        if token_id not in tokens:
            return ((), False)
        pending: list[TokenHop] = []  # child first
        on_walk: set[str] = set()
        current: str | None = token_id
        base: tuple[tuple[PathStep, ...], bool] = ((), False)
        exact = True  # False: the walk stopped early, so only the asked token's is complete
        while current is not None and current in tokens:
            if current in memo:
                base = memo[current]
                break
            if current in on_walk or len(pending) == self.limit:
                base, exact = ((), True), False  # a loop, or more hops than a witness shows
                break
            on_walk.add(current)
            hop = tokens[current]
            pending.append(hop)
            current = hop.prf
        steps, cut = base
        for hop in reversed(pending):
            steps = (*steps, PathStep("delegates", hop.iss, hop.sub, hop.token_id))
            if len(steps) > self.limit:
                steps, cut = steps[-self.limit :], True
            if exact:
                memo[hop.token_id] = (steps, cut)
        memo[token_id] = (steps, cut)
        return steps, cut


def witness(
    graph: DelegationGraph, token_id: str, limit: int = WITNESS_STEPS
) -> tuple[tuple[PathStep, ...], bool]:
    """One bounded witness (see :class:`Witnesses`; use that for many tokens)."""
    return Witnesses(graph, limit).get(token_id)


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
