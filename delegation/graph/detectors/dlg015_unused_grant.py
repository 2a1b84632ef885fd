"""DLG015 unused-grant: capabilities delegated but never exercised in the observed window.

Definition: a capability of a token for which no *allowed* invocation was observed whose
tool and resource it matches (:func:`delegation.capabilities.pattern_matches`), made with
that token or a token below it (the invocation's leaf has the token in its lineage; when the
leaf is unknown to the graph, with any token its holder holds). Least-privilege advice:
low, or info for a token that was delegated further (its capabilities may be meant for the
agents below). Only when the graph observed invocations at all: chains alone say nothing
about use, so they yield no finding. Key: token id and capability.

Complexity: O(I + U x d + E x c x u) for I invocations, U distinct (leaf, tool, resource)
uses walked up at most d hops (each (token, request) pair is visited once), E tokens of at
most c capabilities and at most u distinct requests seen through one token.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse: standing privilege
nobody needs); CSA MAESTRO L6 (Security and Compliance: least privilege) and L5
(Evaluation and Observability); OWASP NHI Top 10 NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from collections import defaultdict

from ..findings import Finding, Options, Rule, Severity
from ..model import MAX_LINEAGE, DelegationGraph
from ._reach import Reach
from ._util import cap_texts, evidence, locations

TITLE = "Unused grant: a delegated capability was never exercised"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    if not graph.invocations:
        return []
    used = _uses(graph)
    reach = Reach.of(graph, options)
    allowed = sum(1 for inv in graph.invocations if inv.allowed)
    first = min(inv.ts for inv in graph.invocations)
    last = max(inv.ts for inv in graph.invocations)
    children: dict[str, int] = defaultdict(int)
    for hop in graph.tokens.values():
        if hop.prf is not None:
            children[hop.prf] += 1
    out: list[Finding] = []
    texts = cap_texts(graph)
    matches = reach.matches
    calls = len(graph.invocations)
    for hop in graph.hops():
        requests = used.get(hop.token_id, ())
        unused = [
            (text, cap)
            for text, cap in texts(hop.caps)
            if not any(
                matches(cap.tool, tool, ".") and matches(cap.resource, resource, "/")
                for tool, resource in requests
            )
        ]
        if not unused:
            continue
        # what every finding of this token shares, built once
        below = children.get(hop.token_id, 0)
        path, cut = graph.witness(hop.token_id), graph.witness_cut(hop.token_id)
        where = locations([hop])
        base = evidence(hop)
        who = (
            f"neither {hop.sub} nor the agents below it ({below} tokens delegated) used it"
            if below
            else f"{hop.sub} never used it"
        )
        tail = (
            f" to {hop.sub} in task {hop.task} (token {hop.token_id[:12]}), but {who} in an "
            f"allowed call ({allowed} allowed of {calls} calls observed): grant less"
        )
        severity: Severity = "info" if below else "low"
        for text, _cap in unused:
            out.append(
                Finding(
                    rule="DLG015",
                    severity=severity,
                    title=TITLE,
                    message=f"{hop.iss} delegated {text}{tail}",
                    key=(hop.token_id, text),
                    path=path,
                    evidence={
                        **base,
                        "capability": text,
                        "children": below,
                        "calls_observed": calls,
                        "allowed_calls": allowed,
                        "window": [first, last],
                        "path_cut": cut,
                    },
                    locations=where,
                )
            )
    return out


def _uses(graph: DelegationGraph) -> dict[str, set[tuple[str, str]]]:
    """The (tool, resource) requests allowed through each token or a token below it."""
    used: dict[str, set[tuple[str, str]]] = defaultdict(set)
    seen: set[tuple[str | None, str, str, str]] = set()
    for inv in graph.invocations:
        if not inv.allowed or (inv.leaf, inv.holder, inv.tool, inv.resource) in seen:
            continue
        seen.add((inv.leaf, inv.holder, inv.tool, inv.resource))
        request = (inv.tool, inv.resource)
        if inv.leaf is not None and inv.leaf in graph.tokens:
            starts = [inv.leaf]
        else:
            starts = [h.token_id for h in graph.held_tokens(inv.holder)]
        for start in starts:
            current: str | None = start
            for _ in range(MAX_LINEAGE):
                # Every walk marks all of its ancestors, so a token already marked for this
                # request has marked ancestors too: stop there (and on a prf loop).
                if current is None or current not in graph.tokens or request in used[current]:
                    break
                used[current].add(request)
                current = graph.tokens[current].prf
    return used


RULE = Rule(
    id="DLG015",
    name="unused-grant",
    summary=TITLE,
    help=(
        "A capability was delegated, but no allowed call in the observed window used it, "
        "neither by the agent holding it nor by any agent it delegated to. Standing "
        "privilege nobody exercises only widens what a compromised agent can do: grant "
        "narrower capabilities (a tighter tool or resource pattern) or drop it from the "
        "chain. Low by default; info for a token that was delegated further. Needs audit "
        "logs with decisions: chains alone yield no finding."
    ),
    severity="low",
    tags=("security", "OWASP-ASI03", "MAESTRO-L5", "MAESTRO-L6", "OWASP-NHI5"),
    detect=detect,
)
