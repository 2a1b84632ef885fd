"""The one home of the helpers detectors share: short lists and ids, bounded keys,
pattern matching, locations, evidence, sensitivity and shared per-graph indexes.

Witnesses (bounded, memoised) and depths (memoised, loop-safe) are the model's own:
:meth:`DelegationGraph.witness`, :meth:`~DelegationGraph.witness_cut` and
:meth:`~DelegationGraph.depth`. Indexes here are memoised on the graph with
:meth:`DelegationGraph.memo` (dropped on the next fact), so every rule of one analysis
shares them and each detector stays a pure function of (graph, options).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ...capabilities import Capability, pattern_matches
from ..facts import WITNESS_STEPS, Invocation, TokenHop
from ..findings import Location, Options, PathStep
from ..model import DelegationGraph

__all__ = [
    "LIMIT",
    "WITNESS_STEPS",
    "bounded",
    "bounded_values",
    "by_leaf",
    "cap_texts",
    "children_of",
    "evidence",
    "granted",
    "grants",
    "group_evidence",
    "group_locations",
    "grouped",
    "hop_step",
    "is_sensitive",
    "listed",
    "locations",
    "matches",
    "set_key",
    "short",
]

LIMIT = 20  # most items a message, an evidence list or a key names
T = TypeVar("T")


def bounded(items: Sequence[T], limit: int = LIMIT) -> tuple[list[T], int]:
    """The first ``limit`` items and how many more there are."""
    return list(items[:limit]), max(0, len(items) - limit)


def bounded_values(table: Mapping[str, T], names: Sequence[str]) -> tuple[list[T], int]:
    """The values of the first :data:`LIMIT` of ``names`` in ``table``, and how many more
    names there are."""
    shown, more = bounded(names)
    return [table[n] for n in shown], more


def listed(items: Iterable[str], limit: int = LIMIT) -> str:
    """``a, b, c`` naming at most ``limit`` items, then how many more.

    >>> listed(["a", "b", "c"], 2)
    'a, b and 1 more'
    """
    shown = items if isinstance(items, Sequence) else list(items)
    text = ", ".join(shown[:limit])
    return f"{text} and {len(shown) - limit} more" if len(shown) > limit else text


def set_key(names: Iterable[str], limit: int = LIMIT) -> tuple[str, ...]:
    """A stable, bounded key for a set of names: the sorted names, or the first
    ``limit`` of them and a digest of all when there are more."""
    ordered = sorted(set(names))
    if len(ordered) <= limit:
        return tuple(ordered)
    digest = hashlib.sha256("\n".join(ordered).encode("utf-8")).hexdigest()[:16]
    return (*ordered[:limit], f"+{len(ordered) - limit}:{digest}")


def short(token_id: str | None) -> str:
    """A token id shortened for messages (the full id is in the path and evidence)."""
    return "-" if token_id is None else token_id[:12]


def hop_step(hop: TokenHop) -> PathStep:
    """The one ``delegates`` step a token stands for."""
    return PathStep("delegates", hop.iss, hop.sub, hop.token_id)


def matches(pattern: str, value: str, sep: str) -> bool:
    """``pattern_matches``, False (not an error) for a value that is not a concrete name."""
    try:
        return pattern_matches(pattern, value, sep)
    except ValueError:
        return False


def grants(caps: Iterable[Capability], tool: str, resource: str) -> bool:
    """Whether some capability names ``tool`` on ``resource`` (constraints not judged:
    a log records the arguments' digest, not the arguments)."""
    try:
        return any(
            pattern_matches(c.tool, tool, ".") and pattern_matches(c.resource, resource, "/")
            for c in caps
        )
    except ValueError:  # a logged request that is not a concrete tool/resource matches nothing
        return False


def children_of(graph: DelegationGraph) -> dict[str, list[TokenHop]]:
    """Tokens by the parent they name (every token once; order: iat, token id). Shared."""

    def build() -> dict[str, list[TokenHop]]:
        out: dict[str, list[TokenHop]] = {}
        for hop in graph.tokens.values():
            if hop.prf is not None:
                out.setdefault(hop.prf, []).append(hop)
        for kids in out.values():
            kids.sort(key=lambda h: (h.iat, h.token_id))
        return out

    return graph.memo("children_of", build)


def by_leaf(graph: DelegationGraph) -> dict[str | None, list[Invocation]]:
    """Invocations by the leaf token of their chain, in the order read. Shared."""

    def build() -> dict[str | None, list[Invocation]]:
        out: dict[str | None, list[Invocation]] = {}
        for inv in graph.invocations:
            out.setdefault(inv.leaf, []).append(inv)
        return out

    return graph.memo("by_leaf", build)


def cap_texts(
    graph: DelegationGraph,
) -> Callable[[tuple[Capability, ...]], tuple[tuple[str, Capability], ...]]:
    """Shared: a token's capabilities by their text (``str``), sorted, each text once (the
    last capability of a text wins, as a dict built from them keeps it), memoised per
    capability tuple and per capability (facts share both, and ``str`` is not cheap)."""

    def build() -> Callable[[tuple[Capability, ...]], tuple[tuple[str, Capability], ...]]:
        # keyed by id; the value pins the object, so the id is not reused while memoised
        text_of: dict[int, tuple[Capability, str]] = {}
        by_caps: dict[int, tuple[tuple[Capability, ...], tuple[tuple[str, Capability], ...]]]
        by_caps = {}

        def text(cap: Capability) -> str:
            hit = text_of.get(id(cap))
            if hit is None:
                hit = text_of[id(cap)] = (cap, str(cap))
            return hit[1]

        def texts(caps: tuple[Capability, ...]) -> tuple[tuple[str, Capability], ...]:
            hit = by_caps.get(id(caps))
            if hit is None:
                hit = by_caps[id(caps)] = (caps, tuple(sorted({text(c): c for c in caps}.items())))
            return hit[1]

        return texts

    return graph.memo("cap_texts", build)


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


def group_evidence(hops: Sequence[TokenHop], **more: Any) -> dict[str, Any]:
    """The facts of the first of ``hops`` (the witness), and what the group adds: how many
    tokens and tasks, the first :data:`LIMIT` of each, and the last issue time.

    For rules that report a delegation *relationship* (issuer, subject, what was granted)
    once, however many tokens repeat it: ``hops`` sorted by (iat, token id).
    """
    tasks = list(dict.fromkeys(h.task for h in hops))
    token_ids, more_tokens = bounded([h.token_id for h in hops])
    shown_tasks, more_tasks = bounded(tasks)
    return evidence(
        hops[0],
        tokens=len(hops),
        token_ids=token_ids,
        more_tokens=more_tokens,
        tasks=shown_tasks,
        more_tasks=more_tasks,
        last_iat=max(h.iat for h in hops),
        **more,
    )


def group_locations(hops: Sequence[TokenHop]) -> tuple[Location, ...]:
    """Where the first :data:`LIMIT` tokens of a group were read."""
    return locations(hops[:LIMIT])


def grouped(
    pairs: Iterable[tuple[tuple[str, ...], TokenHop]],
) -> list[tuple[tuple[str, ...], list[TokenHop]]]:
    """Tokens gathered by key, each group sorted by (iat, token id), groups by key."""
    groups: dict[tuple[str, ...], list[TokenHop]] = {}
    for key, hop in pairs:
        groups.setdefault(key, []).append(hop)
    for hops in groups.values():
        hops.sort(key=_issued)
    return sorted(groups.items())


def granted(hops: Sequence[TokenHop]) -> str:
    """Where a group's grants were seen, for a message: ``in task T (token X)``, or
    ``in N tokens over K tasks (first: task T, token X)``."""
    first = hops[0]
    if len(hops) == 1:
        return f"in task {first.task} (token {short(first.token_id)})"
    tasks = len({h.task for h in hops})
    return (
        f"in {len(hops)} tokens over {tasks} task(s) (first: task {first.task}, token "
        f"{short(first.token_id)})"
    )


def _issued(hop: TokenHop) -> tuple[int, str]:
    return (hop.iat, hop.token_id)


def is_sensitive(graph: DelegationGraph, tool: str, options: Options) -> bool:
    """A tool is sensitive when a registry label says so or a configured pattern matches."""
    if graph.tool_labels(tool) & set(options.sensitive_labels):
        return True
    return any(pattern_matches(p, tool, ".") for p in options.sensitive_tools)
