"""DLG007 depth-fan-out: chains deeper than allowed, agents delegating too widely.

Definition: (1) a token standing ``options.max_depth + 1`` hops from its root
(:meth:`~delegation.graph.DelegationGraph.depth`, root = 1), the first hop beyond the
threshold, whatever the tokens' own ``dpth`` claims allowed; medium, high when the
deepest chain running through it reaches ``2 x max_depth`` hops. (2) an agent that, in
one task, delegates to more than ``options.max_fan_out`` distinct agents; medium.

Complexity: O(E x d) for E tokens and chains at most d hops deep (lineages are memoised
by the graph), plus O(E) grouping by (issuer, task).

Addresses: OWASP Agentic Top 10 ASI08 (Cascading Failures: authority fanning out and
chaining beyond what can be reviewed) and ASI03 (Identity and Privilege Abuse); CSA
MAESTRO L7 (Agent Ecosystem: runaway delegation between agents) and L3 (Agent
Frameworks); OWASP NHI Top 10 NHI5 (Overprivileged NHI: authority reaching far from its
root).
"""

from __future__ import annotations

from ..facts import TokenHop
from ..findings import Finding, Options, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import LIMIT, bounded_values, evidence, hop_step, listed, locations

TITLE = "Depth or fan-out: a chain runs too deep, or an agent delegates too widely"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    return _too_deep(graph, options) + _fan_out(graph, options)


def _too_deep(graph: DelegationGraph, options: Options) -> list[Finding]:
    limit = options.max_depth
    # first hop beyond the threshold -> the deepest depth reached through it (and where)
    deepest: dict[str, tuple[int, str]] = {}
    first: dict[str, str] = {}  # token deeper than the limit -> its first hop beyond it
    for hop in graph.hops():
        depth = graph.depth(hop.token_id)
        if depth <= limit:
            continue
        beyond = _first_beyond(graph, hop, limit, first)
        best = deepest.get(beyond)
        if best is None or depth > best[0]:
            deepest[beyond] = (depth, hop.token_id)
    out: list[Finding] = []
    for token_id in sorted(deepest):
        depth, leaf = deepest[token_id]
        hop = graph.tokens[token_id]
        line = graph.lineage(token_id)
        severity: Severity = "high" if depth >= 2 * limit else "medium"
        below = f", and the chain through it reaches {depth} hops" if depth > limit + 1 else ""
        out.append(
            Finding(
                rule="DLG007",
                severity=severity,
                title=TITLE,
                message=(
                    f"{hop.iss} delegated to {hop.sub} in task {hop.task} at {limit + 1} hops "
                    f"from the root {line[0].iss}, beyond the maximum depth {limit}{below}"
                ),
                key=(token_id,),
                path=graph.witness(token_id),
                evidence=evidence(
                    hop, depth=limit + 1, max_depth=limit, deepest=depth, deepest_token=leaf
                ),
                locations=locations(line),
            )
        )
    return out


def _first_beyond(graph: DelegationGraph, hop: TokenHop, limit: int, first: dict[str, str]) -> str:
    """The hop at ``limit + 1`` hops from the root on ``hop``'s lineage, memoised in
    ``first``: a token's is its parent's, so every token costs O(1) amortised."""
    pending: list[str] = []
    current: TokenHop | None = hop
    found: str | None = None
    while current is not None:
        token_id = current.token_id
        known = first.get(token_id)
        if known is not None:
            found = known
            break
        depth = graph.depth(token_id)
        if depth == limit + 1:
            found = token_id
            break
        parent = graph.parent(current)
        if parent is None or graph.depth(parent.token_id) != depth - 1:
            # on a prf loop depths do not step down: read its (bounded) lineage
            line = graph.lineage(token_id)
            found = line[limit].token_id if len(line) > limit else token_id
            break
        pending.append(token_id)
        current = parent
    assert found is not None
    for token_id in pending:
        first[token_id] = found
    first[hop.token_id] = found
    return found


def _fan_out(graph: DelegationGraph, options: Options) -> list[Finding]:
    # (issuer, task) -> receiver -> the first token delegated to it (hops() order)
    groups: dict[tuple[str, str], dict[str, TokenHop]] = {}
    for hop in graph.hops():
        groups.setdefault((hop.iss, hop.task), {}).setdefault(hop.sub, hop)
    out: list[Finding] = []
    wide = [(key, r) for key, r in groups.items() if len(r) > options.max_fan_out]
    for (issuer, task), receivers in sorted(wide):
        names = sorted(receivers)
        hops, more = bounded_values(receivers, names)
        out.append(
            Finding(
                rule="DLG007",
                severity="medium",
                title=TITLE,
                message=(
                    f"{issuer} delegated to {len(names)} distinct agents in task {task}, more "
                    f"than the maximum fan-out {options.max_fan_out}: {listed(names)}"
                ),
                key=(issuer, task, "fan-out"),
                path=tuple(hop_step(h) for h in hops),
                evidence={
                    "issuer": issuer,
                    "task": task,
                    "receivers": len(names),
                    "max_fan_out": options.max_fan_out,
                    "tokens": [h.token_id for h in hops],
                    "first_iat": min(h.iat for h in receivers.values()),
                    "more": more,
                },
                locations=locations(hops[:LIMIT]),
            )
        )
    return out


RULE = rule("DLG007", TITLE, detect)

__all__ = ["RULE", "TITLE", "detect"]
