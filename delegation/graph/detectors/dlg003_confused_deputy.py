"""DLG003 confused-deputy: an agent acting, while it serves one task, on authority from elsewhere.

Definition: an agent holds a delegation in task T1 for principal P1 (a token whose ``sub``
it is, with ``iat <= ts < exp``) and, at that time ``ts``, makes a request (an allowed or
denied invocation) either with no chain at all, or with a chain of another task or
principal (the invocation's ``task`` != T1 or ``obo`` != P1) for a tool/resource that
nothing it was delegated in (T1, P1) names (tool and resource matched with
:func:`delegation.capabilities.pattern_matches`, as ``allows`` does; a log keeps only the
arguments' digest, so constraints are not judged). Its authority for T1 did not cover the
act: it lent itself to someone else's. ``high``; ``critical`` when the request was allowed
and the tool is sensitive (registry labels or ``options.sensitive_tools``). One finding per
(agent, its T1 token, the chain used, tool); the witness is the delegation path into the
agent in T1, then the invocation.

Complexity: O(E log E + I log I + I x k) for E tokens, I invocations and k the
(task, principal) groups an agent holds live at one moment: each agent's tokens and
invocations are swept together in time order, never paired all against all.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse: the confused deputy),
ASI02 (Tool Misuse and Exploitation), ASI07 (Insecure Inter-Agent Communication); CSA
MAESTRO L3 (Agent Frameworks), L7 (Agent Ecosystem); OWASP NHI Top 10 NHI9 (NHI Reuse),
NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

from ...capabilities import Capability
from ..facts import Invocation, TokenHop
from ..findings import Finding, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._reach import Reach
from ._util import evidence, is_sensitive, locations, short

TITLE = "Confused deputy: an agent acts beyond its task's delegation with another authority"

Group = tuple[str, str | None]  # (task, obo)


@dataclass
class _Hit:
    hop: TokenHop
    inv: Invocation
    severity: Severity
    count: int = 1


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    held: dict[str, list[TokenHop]] = defaultdict(list)  # each in (iat, token id) order
    for hop in graph.hops():
        held[hop.sub].append(hop)
    calls: dict[str, list[Invocation]] = defaultdict(list)
    for inv in graph.invocations:
        if inv.holder in held:
            calls[inv.holder].append(inv)
    hits: dict[tuple[str, ...], _Hit] = {}
    reach = Reach.of(graph, options)  # shared, memoised pattern matches
    for holder in sorted(calls):
        _sweep(graph, options, reach, held[holder], calls[holder], hits)
    return [_finding(graph, key, hit) for key, hit in hits.items()]


def _sweep(
    graph: DelegationGraph,
    options: Options,
    reach: Reach,
    tokens: list[TokenHop],
    invocations: list[Invocation],
    hits: dict[tuple[str, ...], _Hit],
) -> None:
    """Walk one agent's tokens (in issue order) and requests in time order, with the
    tokens live at each."""
    invocations.sort(key=lambda i: (i.ts, i.seq if i.seq is not None else -1))
    live: dict[Group, dict[str, TokenHop]] = {}
    expiry: list[tuple[int, str, Group]] = []
    nxt = 0
    for inv in invocations:
        while nxt < len(tokens) and tokens[nxt].iat <= inv.ts:
            hop = tokens[nxt]
            nxt += 1
            if hop.exp > inv.ts:
                group = (hop.task, hop.obo)
                live.setdefault(group, {})[hop.token_id] = hop
                heapq.heappush(expiry, (hop.exp, hop.token_id, group))
        while expiry and expiry[0][0] <= inv.ts:
            _, token_id, group = heapq.heappop(expiry)
            members = live.get(group)
            if members is not None:
                members.pop(token_id, None)
                if not members:
                    del live[group]
        for group in sorted(live, key=lambda g: (g[0], g[1] or "")):
            if inv.leaf is not None and group == (inv.task, inv.obo):
                continue  # acting with this very task's authority
            members = live[group]
            caps = [c for h in members.values() for c in h.caps]
            if inv.leaf is not None and _grants(reach, caps, inv.tool, inv.resource):
                continue  # what it did was within what T1 gave it anyway
            first = min(members.values(), key=lambda h: (h.iat, h.token_id))
            sensitive = inv.allowed and is_sensitive(graph, inv.tool, options)
            severity: Severity = "critical" if sensitive else "high"
            key = (inv.holder, first.token_id, inv.leaf or "-", inv.tool)
            known = hits.get(key)
            if known is None:
                hits[key] = _Hit(first, inv, severity)
            else:
                known.count += 1
                if severity == "critical" and known.severity != "critical":
                    known.inv, known.severity = inv, severity
            if inv.leaf is None:
                break  # a request with no chain is one finding, whatever else it held


def _grants(reach: Reach, caps: list[Capability], tool: str, resource: str) -> bool:
    """:func:`grants` with the graph's memoised matches (a request that is not a concrete
    tool/resource matches nothing either way)."""
    match = reach.matches
    return any(match(c.tool, tool, ".") and match(c.resource, resource, "/") for c in caps)


def _finding(graph: DelegationGraph, key: tuple[str, ...], hit: _Hit) -> Finding:
    hop, inv = hit.hop, hit.inv
    path, cut = graph.bounded_witness(hop.token_id)
    kind = "invokes" if inv.allowed else "denied"
    step = PathStep(kind, inv.holder, inv.tool, inv.leaf)
    done = "called" if inv.allowed else "tried to call"
    if inv.leaf is None:
        how = "with no delegation chain at all"
    else:
        other = []
        if inv.task != hop.task:
            other.append(f"task {inv.task}")
        if inv.obo != hop.obo:
            other.append(f"principal {inv.obo}")
        how = f"with a chain of {' and '.join(other)} (token {short(inv.leaf)})"
    leaf = graph.tokens.get(inv.leaf) if inv.leaf is not None else None
    return Finding(
        rule="DLG003",
        severity=hit.severity,
        title=TITLE,
        message=(
            f"{inv.holder} {done} {inv.tool} on {inv.resource} {how} while it held a "
            f"delegation for task {hop.task}"
            f"{f' on behalf of {hop.obo}' if hop.obo else ''} (token {short(hop.token_id)}) "
            f"that does not cover it"
            f"{f'; {hit.count} such requests' if hit.count > 1 else ''}"
        ),
        key=key,
        path=(*path, step),
        evidence=evidence(
            hop,
            invocation={
                "tool": inv.tool,
                "resource": inv.resource,
                "allowed": inv.allowed,
                "code": inv.code,
                "ts": inv.ts,
                "leaf": inv.leaf,
                "task": inv.task,
                "obo": inv.obo,
                "seq": inv.seq,
            },
            requests=hit.count,
            witness_cut=cut,
        ),
        locations=locations([hop, *([leaf] if leaf else [])], inv.where),
    )


RULE = rule("DLG003", TITLE, detect)
