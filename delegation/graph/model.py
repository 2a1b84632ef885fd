"""The delegation graph: facts about tokens, decisions and tasks over a networkx MultiDiGraph.

Nodes (ids are ``kind|name`` strings, so a principal ``user:alice`` never collides with
an agent of the same spelling):

* ``agent|<agent id>``: ``kind="agent"``, ``name``, ``domain`` (SPIFFE trust domain, or the
  URI's authority or scheme), ``role``, ``baseline`` (registry), ``root`` (a trusted root);
* ``principal|<obo>``: ``kind="principal"``, ``name``;
* ``tool|<tool>``: ``kind="tool"``, ``name``, ``labels`` (registry).

Edges (``kind`` attribute; the key names the fact):

* ``delegates`` issuer -> subject, key = token id, ``hop`` = its :class:`TokenHop`;
* ``on_behalf`` principal -> the root issuer of a chain acting for it;
* ``invokes`` holder -> tool, allowed calls grouped by (leaf token, tool), ``count``;
* ``denied`` holder -> tool (or delegator -> receiver for a refused acceptance), grouped
  by (code, leaf token, tool), ``count``.

Facts come first (builders in :mod:`delegation.graph.build`); derived views (lineage,
depth, effective capabilities) are computed on demand and memoised until the next fact.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import networkx as nx

from ..capabilities import Capability, covers, pattern_matches
from ..registry import AgentEntry, Registry
from .facts import (
    MAX_LINEAGE,
    WITNESS_STEPS,
    Acceptance,
    Grant,
    Invocation,
    Revocation,
    TaskFacts,
    TokenHop,
    merge,
    node_id,
    trust_domain,
)
from .findings import Finding, Location, Options, PathStep

__all__ = ["DelegationGraph"]

_T = TypeVar("_T")


class DelegationGraph:
    """Delegation facts as a networkx ``MultiDiGraph``, with queries and detectors.

    Build it with :func:`delegation.graph.from_chains`, :func:`~delegation.graph.from_audit`
    or :func:`~delegation.graph.from_verified` (several inputs merge into one graph).

    >>> from delegation.graph import DelegationGraph
    >>> g = DelegationGraph()
    >>> g.graph.number_of_edges(), g.findings()
    (0, [])
    """

    def __init__(self, registry: Registry | None = None) -> None:
        self.graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self.registry = registry
        self.tokens: dict[str, TokenHop] = {}
        self.invocations: list[Invocation] = []
        self.acceptances: dict[str, list[Acceptance]] = {}
        self.revocations: list[Revocation] = []
        self.tasks: dict[str, TaskFacts] = {}
        self.duplicate_jti: dict[str, list[str]] = {}  # jti -> token ids claiming it
        self.skipped: list[tuple[Location, str]] = []  # input lines not read, and why
        self.records = 0  # input records read (audit records and chain lines)
        self._jti: dict[str, str] = {}
        # Derived views, memoised until the next fact (see _forget): the token order, each
        # token's depth and loop membership, bounded witnesses, and detectors' indexes.
        self._order: list[TokenHop] | None = None
        self._depth: dict[str, int] = {}
        self._looped: set[str] = set()  # tokens on, or below, a prf loop
        self._cycles: list[tuple[str, ...]] = []
        self._witness: dict[str, tuple[tuple[PathStep, ...], bool]] = {}
        self._memo: dict[str, Any] = {}
        self._nodes: dict[str, str] = {}  # agent id -> its node id (one string per agent)
        # One tuple per combination of capability objects: tokens that carry the same
        # objects share it (memory), and detectors may memoise verdicts per tuple. The
        # table holds the objects its keys name, so their ids cannot be reused meanwhile.
        self._caps: dict[tuple[int, ...], tuple[Capability, ...]] = {}
        # Registry.agents copies its table on every read: read it once per registry.
        self._entries: tuple[Registry | None, Mapping[str, AgentEntry]] = (None, {})

    # --- facts --- #

    def add_token(self, hop: TokenHop, *, where: Location | None = None) -> TokenHop:
        """Add a token (a ``delegates`` edge), or merge what is known into the one held.

        Returns the graph's own record of the token.
        """
        token_id = hop.token_id
        known = self.tokens.get(token_id)
        if known is not None:
            merge(known, hop)
            known.see(where)
            if self._memo:
                self._memo.clear()
            return known
        if where is not None:
            hop.see(where)
        hop.caps = self._caps.setdefault(tuple(map(id, hop.caps)), hop.caps)
        self.tokens[token_id] = hop
        self._forget()
        first = self._jti.setdefault(hop.jti, token_id)
        if first != token_id:
            self.duplicate_jti.setdefault(hop.jti, [first]).append(token_id)
        g = self.graph
        nodes = self._nodes
        src = nodes.get(hop.iss) or self._agent(hop.iss)
        dst = nodes.get(hop.sub) or self._agent(hop.sub)
        g.add_edge(src, dst, key=token_id, kind="delegates", hop=hop)
        if hop.prf is None and hop.obo is not None:
            principal = node_id("principal", hop.obo)
            if principal not in g:
                g.add_node(principal, kind="principal", name=hop.obo)
            if not g.has_edge(principal, src, key=hop.obo):
                g.add_edge(principal, src, key=hop.obo, kind="on_behalf")
        return hop

    def _forget(self) -> None:
        """Drop the derived views: a new fact may change any of them."""
        self._order = None
        if self._depth:
            self._depth.clear()
            self._looped.clear()
            self._cycles.clear()
        if self._witness:
            self._witness.clear()
        if self._memo:
            self._memo.clear()

    def add_invocation(self, inv: Invocation) -> None:
        """Record a decision on a request (an ``invokes`` or ``denied`` edge)."""
        self.invocations.append(inv)
        if self._memo:
            self._memo.clear()
        holder, tool = self._agent(inv.holder), self._tool(inv.tool)
        kind = "invokes" if inv.allowed else "denied"
        key = f"{kind}|{inv.code}|{inv.leaf or '-'}"
        g = self.graph
        if g.has_edge(holder, tool, key=key):
            data = g.edges[holder, tool, key]
            data["count"] += 1
            data["first"] = min(data["first"], inv.ts)
            data["last"] = max(data["last"], inv.ts)
        else:
            g.add_edge(
                holder,
                tool,
                key=key,
                kind=kind,
                code=inv.code,
                leaf=inv.leaf,
                task=inv.task,
                count=1,
                first=inv.ts,
                last=inv.ts,
            )

    def add_acceptance(self, acc: Acceptance, delegator: str | None) -> None:
        """Record an acceptance decision; a refusal is a ``denied`` edge to the receiver."""
        self.acceptances.setdefault(acc.token_id, []).append(acc)
        if self._memo:
            self._memo.clear()
        if not acc.allowed and delegator is not None:
            src, dst = self._agent(delegator), self._agent(acc.audience)
            key = f"denied|{acc.code}|{acc.token_id}"
            if self.graph.has_edge(src, dst, key=key):
                self.graph.edges[src, dst, key]["count"] += 1
            else:
                self.graph.add_edge(
                    src, dst, key=key, kind="denied", code=acc.code, leaf=acc.token_id, count=1
                )

    def _registered(self) -> Mapping[str, AgentEntry]:
        """The registry's agents (read once per registry object, not once per lookup)."""
        reg, entries = self._entries
        if reg is not self.registry:
            entries = self.registry.agents if self.registry is not None else {}
            self._entries = (self.registry, entries)
        return entries

    def _agent(self, agent: str) -> str:
        known = self._nodes.get(agent)
        if known is not None:
            return known
        n = node_id("agent", agent)
        self._nodes[agent] = n
        if n not in self.graph:
            attrs: dict[str, Any] = {"kind": "agent", "name": agent, "domain": trust_domain(agent)}
            reg = self.registry
            if reg is not None:
                entry = self._registered().get(agent) or reg.roots.get(agent)
                attrs["registered"] = entry is not None
                attrs["root"] = reg.is_root(agent)
                if entry is not None:
                    attrs["role"] = entry.role
                    attrs["baseline"] = entry.baseline if agent in self._registered() else None
                    attrs["extra"] = dict(entry.extra)
            self.graph.add_node(n, **attrs)
        return n

    def _tool(self, tool: str) -> str:
        n = node_id("tool", tool)
        if n not in self.graph:
            labels = self.registry.tool_labels(tool) if self.registry is not None else frozenset()
            self.graph.add_node(n, kind="tool", name=tool, labels=tuple(sorted(labels)))
        return n

    # --- derived views --- #

    def agents(self) -> list[str]:
        """Every agent id in the graph, sorted."""
        return sorted(d["name"] for _, d in self.graph.nodes(data=True) if d["kind"] == "agent")

    def agent(self, agent: str) -> dict[str, Any]:
        """The node attributes of an agent (empty when unknown)."""
        return dict(self.graph.nodes.get(node_id("agent", agent), {}))

    def baseline(self, agent: str) -> tuple[Capability, ...] | None:
        """The agent's registry baseline, or None when the registry does not give one."""
        entry = self._registered().get(agent) if self.registry is not None else None
        return entry.baseline if entry is not None else None

    def tool_labels(self, tool: str) -> frozenset[str]:
        """The registry labels of a tool (patterns in the registry are not expanded)."""
        return self.registry.tool_labels(tool) if self.registry is not None else frozenset()

    def parent(self, hop: TokenHop) -> TokenHop | None:
        """The token ``hop`` names as its parent, when the graph has it."""
        return self.tokens.get(hop.prf) if hop.prf is not None else None

    def lineage(self, token_id: str) -> tuple[TokenHop, ...]:
        """The token and its ancestors, root first, as far as the graph knows them.

        Cut at a loop in ``prf`` or after ``MAX_LINEAGE`` hops, so a hostile claimed
        lineage cannot run away. Not memoised (O(depth) per call): detectors use
        :meth:`depth`, :meth:`witness` and :meth:`hops`, which are.
        """
        chain: list[TokenHop] = []
        seen: set[str] = set()
        tokens = self.tokens
        current: str | None = token_id
        while current is not None and current in tokens and len(chain) < MAX_LINEAGE:
            if current in seen:
                break
            seen.add(current)
            hop = tokens[current]
            chain.append(hop)
            current = hop.prf
        chain.reverse()
        return tuple(chain)

    def _walk_depths(self) -> None:
        """Every token's depth and the ``prf`` loops, in one iterative pass, O(E).

        Any start order gives the same result (each token has one ``prf``, so a walk meets
        at most one loop, and loops are rotated to a canonical form): tokens are taken as
        they were added, which walks memory forwards on a large graph."""
        tokens, depth, looped = self.tokens, self._depth, self._looped
        cycles: list[tuple[str, ...]] = []
        for start in tokens:
            if start in depth:
                continue
            stack: list[str] = []
            on_path: dict[str, int] = {}
            current: str | None = start
            while current is not None and current in tokens and current not in depth:
                if current in on_path:
                    break
                on_path[current] = len(stack)
                stack.append(current)
                current = tokens[current].prf
            base, loop_below = 0, False
            if current is not None and current in on_path:
                loop = stack[on_path[current] :]
                cycles.append(_rotated(loop))
                for member in loop:  # each walks the whole loop, then stops
                    depth[member] = len(loop)
                    looped.add(member)
                del stack[on_path[current] :]
                base, loop_below = len(loop), True
            elif current is not None and current in depth:
                base, loop_below = depth[current], current in looped
            for token_id in reversed(stack):
                base += 1
                depth[token_id] = base
                if loop_below:
                    looped.add(token_id)
        cycles.sort()
        self._cycles = cycles

    def depth(self, token_id: str) -> int:
        """How many hops from the root the token stands (1 for a root grant).

        Counted along its claimed lineage as far as the graph knows it; on or below a
        ``prf`` loop, the distinct tokens walked before the loop closes. Memoised: every
        token's depth is computed in one O(E) pass after a new fact. 0 for an unknown token.
        """
        if not self._depth and self.tokens:
            self._walk_depths()
        return self._depth.get(token_id, 0)

    def looped(self, token_id: str) -> bool:
        """Whether the token stands on, or below, a ``prf`` loop (it never reaches a root)."""
        self.depth(token_id)
        return token_id in self._looped

    @property
    def lineage_cycles(self) -> list[tuple[str, ...]]:
        """The ``prf`` loops (see :meth:`cycles`)."""
        return self.cycles()

    def cycles(self) -> list[tuple[str, ...]]:
        """The ``prf`` loops, each in delegation order from its smallest token id, sorted."""
        if self.tokens:
            self.depth(next(iter(self.tokens)))
        return list(self._cycles)

    def witness(self, token_id: str) -> tuple[PathStep, ...]:
        """The delegation path that delivered a token, root first, cut to its last
        ``WITNESS_STEPS`` hops (:meth:`witness_cut` says how many were left out)."""
        return self.bounded_witness(token_id)[0]

    def witness_cut(self, token_id: str) -> int:
        """How many hops above the token's :meth:`witness` it leaves out."""
        return max(0, self.depth(token_id) - len(self.bounded_witness(token_id)[0]))

    def bounded_witness(self, token_id: str) -> tuple[tuple[PathStep, ...], bool]:
        """:meth:`witness`, and whether hops above it were left out (or a ``prf`` loop
        stopped the walk). Memoised: a token's is its parent's plus one step, so witnesses
        for every token cost O(E x WITNESS_STEPS) in C-level tuple copies, whatever the depth."""
        memo, tokens, limit = self._witness, self.tokens, WITNESS_STEPS
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
            if current in on_walk or len(pending) == limit:
                base, exact = ((), True), False  # a loop, or more hops than a witness shows
                break
            on_walk.add(current)
            hop = tokens[current]
            pending.append(hop)
            current = hop.prf
        steps, cut = base
        for hop in reversed(pending):
            steps = (*steps, PathStep("delegates", hop.iss, hop.sub, hop.token_id))
            if len(steps) > limit:
                steps, cut = steps[-limit:], True
            if exact:
                memo[hop.token_id] = (steps, cut)
        memo[token_id] = (steps, cut)
        return steps, cut

    @contextmanager
    def batch(self) -> Iterator[DelegationGraph]:
        """Add (or analyse) many facts at once, the cyclic garbage collector paused (it
        would walk the whole growing graph every few hundred new objects); restored after.

        >>> g = DelegationGraph()
        >>> with g.batch():
        ...     g.records += 1
        >>> g.records
        1
        """
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield self
        finally:
            if enabled:
                gc.enable()

    def memo(self, name: str, build: Callable[[], _T]) -> _T:
        """A derived index shared by detectors (``name`` says what it is), built once and
        kept until the next fact. ``build`` must be a pure function of the graph."""
        try:
            found: _T = self._memo[name]
        except KeyError:
            found = self._memo[name] = build()
        return found

    def held_tokens(self, agent: str) -> list[TokenHop]:
        """The tokens delegated to ``agent``, oldest first."""
        n = node_id("agent", agent)
        if n not in self.graph:
            return []
        hops = [
            d["hop"] for _, _, d in self.graph.in_edges(n, data=True) if d["kind"] == "delegates"
        ]
        return sorted(hops, key=lambda h: (h.iat, h.token_id))

    def effective_capabilities(self, agent: str) -> list[Grant]:
        """What ``agent`` holds: each capability with the token and path that delivered it.

        Only hops that do not exceed their parent count (an escalated capability is not
        really held; DLG001 reports it). Sorted by task, token and capability.
        """
        out: list[Grant] = []
        for hop in self.held_tokens(agent):
            parent = self.parent(hop)
            for cap in hop.caps:
                if parent is not None and not any(covers(p, cap) for p in parent.caps):
                    continue
                out.append(Grant(cap, hop.token_id, hop.task, hop.obo, self.witness(hop.token_id)))
        return sorted(out, key=lambda g: (g.task, g.token_id, str(g.capability)))

    def paths_to(self, tool: str) -> list[tuple[PathStep, ...]]:
        """Every delegation path ending in a token whose capabilities reach ``tool``.

        Searched backwards from the tool: only tokens granting it are walked up.
        """
        out = []
        for hop in self.tokens.values():
            if any(pattern_matches(c.tool, tool, ".") for c in hop.caps):
                out.append((*self.witness(hop.token_id), PathStep("holds", hop.sub, tool)))
        return sorted(out, key=lambda p: tuple(s.token or s.target for s in p))

    def blast_radius(self, agent: str) -> dict[str, Any]:
        """What a compromise of ``agent`` exposes: tools it may call, agents it may hand on to.

        ``tools``: tool patterns of its capabilities; ``redelegable``: those it may still
        delegate (``dpth`` > 0); ``downstream``: agents reachable along its delegations.
        """
        grants = self.effective_capabilities(agent)
        tools = sorted({g.capability.tool for g in grants})
        redelegable = sorted(
            {g.capability.tool for g in grants if self.tokens[g.token_id].dpth > 0}
        )
        n = node_id("agent", agent)
        downstream: list[str] = []
        if n in self.graph:
            sub = nx.subgraph_view(
                self.graph,
                filter_edge=lambda u, v, k: self.graph.edges[u, v, k]["kind"] == "delegates",
            )
            downstream = sorted(
                self.graph.nodes[d]["name"] for d in nx.descendants(sub, n) if d != n
            )
        return {
            "agent": agent,
            "tools": tools,
            "redelegable": redelegable,
            "downstream": downstream,
            "tokens": len(grants),
        }

    def hops(self) -> Iterator[TokenHop]:
        """Every token, in a stable order (issue time, then token id); the order is kept until
        a token is added.

        Time order is also (nearly) the order facts were read and their objects allocated:
        a sweep over a large graph then walks memory forwards instead of at random.
        """
        order = self._order
        if order is None:
            order = self._order = sorted(self.tokens.values(), key=_issued)
        return iter(order)

    def render_html(self, findings: Iterable[Finding] | None = None) -> str:
        """One self-contained interactive HTML page of the graph (no network access).

        ``findings`` default to every rule's, with the default options.
        """
        from .render import render

        return render(self, list(findings) if findings is not None else self.findings(), "html")

    def findings(
        self, rules: Iterable[str] | None = None, options: Options | None = None
    ) -> list[Finding]:
        """Run the detectors (all, or the given rule ids) and return sorted findings."""
        from .detectors import run

        return run(self, rules=rules, options=options or Options())


def _rotated(walked: list[str]) -> tuple[str, ...]:
    """A loop walked child to parent, in delegation order from its smallest token id."""
    loop = walked[::-1]
    low = loop.index(min(loop))
    return (*loop[low:], *loop[:low])


def _issued(hop: TokenHop) -> tuple[int, str]:
    return (hop.iat, hop.token_id)
