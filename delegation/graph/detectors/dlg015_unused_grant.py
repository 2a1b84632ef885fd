"""DLG015 unused-grant: capabilities delegated but never exercised in the observed window.

Definition: a capability of a token for which no *allowed* invocation was observed whose
tool and resource it matches (:func:`delegation.capabilities.pattern_matches`), made with
that token or a token below it (the invocation's leaf has the token in its lineage; when the
leaf is unknown to the graph, with any token its holder holds). Least-privilege advice.
Only when the graph observed invocations at all: chains alone say nothing about use, so they
yield no finding. One finding per receiving agent (the key): least privilege is about what
an agent holds, so its unused capabilities, the tokens and tasks that granted them and their
issuers are listed (bounded) in one finding, whose witness is the first such token's path.
Low when one of those tokens was not delegated further; info when all were (the agents
below may be meant to use them).

Complexity: O(I + U x d + E x c x u) for I invocations, U distinct (leaf, tool, resource)
uses walked up at most d hops (each (token, request) pair is visited once), E tokens of at
most c capabilities and at most u distinct requests seen through one token.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse: standing privilege
nobody needs); CSA MAESTRO L6 (Security and Compliance: least privilege) and L5
(Evaluation and Observability); OWASP NHI Top 10 NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from collections import defaultdict

from ..facts import MAX_LINEAGE, TokenHop
from ..findings import Finding, Options, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._reach import Reach
from ._util import (
    bounded,
    cap_texts,
    granted,
    group_evidence,
    group_locations,
    listed,
)

TITLE = "Unused grant: a delegated capability was never exercised"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    if not graph.invocations:
        return []
    used = _uses(graph)
    reach = Reach.of(graph, options)
    allowed = sum(1 for inv in graph.invocations if inv.allowed)
    first_ts = min(inv.ts for inv in graph.invocations)
    last_ts = max(inv.ts for inv in graph.invocations)
    children: dict[str, int] = defaultdict(int)
    for hop in graph.tokens.values():
        if hop.prf is not None:
            children[hop.prf] += 1
    texts = cap_texts(graph)
    matches = reach.matches
    calls = len(graph.invocations)

    # per receiving agent (the finding's key): its tokens with unused capabilities, in
    # graph.hops() order (issue time, token id), and the distinct lists of those texts
    groups: dict[str, tuple[list[TokenHop], dict[int, list[str]]]] = {}
    names: dict[int, list[str]] = {}  # per capability tuple: all its texts (none used)
    for hop in graph.hops():
        requests = used.get(hop.token_id)
        if requests is None:  # most tokens: nothing went through them
            found = names.get(id(hop.caps))
            if found is None:  # graph facts share (and so pin) their capability tuples
                found = names[id(hop.caps)] = [text for text, _ in texts(hop.caps)]
        else:
            found = [
                text
                for text, cap in texts(hop.caps)
                if not any(
                    matches(cap.tool, tool, ".") and matches(cap.resource, resource, "/")
                    for tool, resource in requests
                )
            ]
        if found:
            group = groups.get(hop.sub)
            if group is None:
                group = groups[hop.sub] = ([], {})
            group[0].append(hop)
            group[1][id(found)] = found  # the value pins the list: its id stays its own

    out: list[Finding] = []
    for sub in sorted(groups):
        hops, lists = groups[sub]
        key = (sub,)
        first = hops[0]
        caps = sorted(set().union(*lists.values()))
        shown, more = bounded(caps)
        below = sum(children.get(h.token_id, 0) for h in hops)
        # info only when every token was delegated further (its agents below may need it)
        severity: Severity = "info" if all(h.token_id in children for h in hops) else "low"
        who = (
            f"neither it nor the agents below it ({below} token{'' if below == 1 else 's'} "
            "delegated) used"
            if below
            else "it never used"
        )
        out.append(
            Finding(
                rule="DLG015",
                severity=severity,
                title=TITLE,
                message=(
                    f"{sub} was granted {listed(caps, 5)} {granted(hops)}, but {who} "
                    f"{'it' if len(caps) == 1 else 'them'} in an allowed call ({allowed} "
                    f"allowed of {calls} calls observed): grant less"
                ),
                key=key,
                path=graph.witness(first.token_id),
                evidence=group_evidence(
                    hops,
                    capabilities=shown,
                    more_capabilities=more,
                    issuers=bounded(sorted({h.iss for h in hops}))[0],
                    children=below,
                    calls_observed=calls,
                    allowed_calls=allowed,
                    window=[first_ts, last_ts],
                    path_cut=graph.witness_cut(first.token_id),
                ),
                locations=group_locations(hops),
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


RULE = rule("DLG015", TITLE, detect)
