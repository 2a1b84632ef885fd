"""Reachability helpers shared by DLG011, DLG012, DLG015 and DLG017: which tools a token reaches.

The *known tools* of a graph are the registry's tools, the tools seen in invocations and the
concrete tool names that capabilities or ``Options.sensitive_tools`` spell out (no wildcard).
A capability *reaches* a known tool when its tool pattern matches the tool's name
(:func:`delegation.capabilities.pattern_matches`). A token reaches the tools of the
capabilities it really holds: those covered by its parent's (an escalated capability is not
held, as in :meth:`DelegationGraph.effective_capabilities`; DLG001 reports it).

Every match is memoised per distinct tool pattern, so the cost is O(E x c) lookups plus
O(P x T) pattern matches for P distinct patterns and T known tools.
"""

from __future__ import annotations

from ...capabilities import Capability, covers
from ..facts import TokenHop
from ..findings import Options
from ..model import DelegationGraph
from ._util import is_sensitive, matches

__all__ = ["Reach"]


class Reach:
    """The known tools of a graph, their labels and sensitivity, and which tokens reach them."""

    @classmethod
    def of(cls, graph: DelegationGraph, options: Options) -> Reach:
        """The graph's shared ``Reach`` for these options (built once per analysis)."""
        key = f"reach|{options.sensitive_tools!r}|{options.sensitive_labels!r}"
        return graph.memo(key, lambda: cls(graph, options))

    def __init__(self, graph: DelegationGraph, options: Options) -> None:
        self.graph = graph
        names: set[str] = set()
        if graph.registry is not None:
            names.update(graph.registry.tools)
        for _, data in graph.graph.nodes(data=True):
            if data["kind"] == "tool":
                names.add(data["name"])
        for hop in graph.tokens.values():
            names.update(c.tool for c in hop.caps if "*" not in c.tool)
        names.update(p for p in options.sensitive_tools if "*" not in p)
        self.tools: tuple[str, ...] = tuple(sorted(n for n in names if matches(n, n, ".")))
        self.labels: dict[str, frozenset[str]] = {t: graph.tool_labels(t) for t in self.tools}
        self.sensitive: frozenset[str] = frozenset(
            t for t in self.tools if is_sensitive(graph, t, options)
        )
        self._by_pattern: dict[str, tuple[str, ...]] = {}
        self._held: dict[str, tuple[Capability, ...]] = {}
        self._token_tools: dict[str, tuple[str, ...]] = {}
        self._caps_tools: dict[int, tuple[tuple[Capability, ...], tuple[str, ...]]] = {}
        self._matches: dict[tuple[str, str, str], bool] = {}
        self._covers: dict[tuple[int, int], tuple[tuple[Capability, ...], Capability, bool]] = {}

    def matches(self, pattern: str, value: str, sep: str) -> bool:
        """:func:`matches`, memoised for the life of this object (patterns repeat a lot)."""
        key = (pattern, value, sep)
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = matches(pattern, value, sep)
        return found

    def tools_of(self, pattern: str) -> tuple[str, ...]:
        """The known tools a capability's tool pattern reaches, sorted."""
        found = self._by_pattern.get(pattern)
        if found is None:
            found = tuple(t for t in self.tools if matches(pattern, t, "."))
            self._by_pattern[pattern] = found
        return found

    def held(self, hop: TokenHop) -> tuple[Capability, ...]:
        """The capabilities of ``hop`` its parent covers (all of them for a root or orphan)."""
        found = self._held.get(hop.token_id)
        if found is None:
            parent = self.graph.parent(hop)
            if parent is None:
                found = hop.caps
            else:
                found = tuple(c for c in hop.caps if self._covered(parent.caps, c))
                if len(found) == len(hop.caps):
                    found = hop.caps  # all held: the graph's shared tuple, not a copy
            self._held[hop.token_id] = found
        return found

    def _covered(self, caps: tuple[Capability, ...], cap: Capability) -> bool:
        """Whether one of ``caps`` covers ``cap``, memoised per (tuple, capability) object:
        facts share both, so siblings under one parent are judged once."""
        key = (id(caps), id(cap))
        hit = self._covers.get(key)
        if hit is None:  # the value pins both objects: their ids stay theirs while memoised
            hit = self._covers[key] = (caps, cap, any(covers(p, cap) for p in caps))
        return hit[2]

    def token_tools(
        self, hop: TokenHop, held: tuple[Capability, ...] | None = None
    ) -> tuple[str, ...]:
        """The known tools the capabilities ``hop`` really holds (``held``, if known) reach."""
        found = self._token_tools.get(hop.token_id)
        if found is None:
            caps = self.held(hop) if held is None else held
            hit = self._caps_tools.get(id(caps))
            if hit is None:  # the value pins the tuple: its id stays its own while memoised
                out: set[str] = set()
                for cap in caps:
                    out.update(self.tools_of(cap.tool))
                hit = self._caps_tools[id(caps)] = (caps, tuple(sorted(out)))
            found = self._token_tools[hop.token_id] = hit[1]
        return found
