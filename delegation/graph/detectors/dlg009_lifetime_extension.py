"""DLG009 lifetime-extension: authority that lives, or is used, longer than it may.

Definition:

* ``high``: a token outliving its parent, with a lifetime over ``options.max_lifetime``, or
  with ``exp <= iat`` (:func:`delegation.checks.time_problems` with ``now=None``, the very
  check a verifier runs); one finding per token;
* ``critical``: an allowed request at a time when a revocation of its leaf or an ancestor
  (token id or jti), of its task, or of a key of its chain (the root's signing key, a bound
  ``cnf`` key) was in force (``ts <= request < until``); one finding per (leaf, revocation);
* ``critical``: an allowed request after its task was closed, or after the task's deadline;
  one finding per leaf;
* ``high``: a token issued after its task was closed; one finding per token.

Complexity: O(E x c + I x d + R) for E tokens, I invocations of chains at most d hops deep
(the lineage is walked once per leaf and memoised by the graph) and R revocations,
indexed by what they name.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse), ASI10 (Rogue Agents:
acting past revocation); CSA MAESTRO L4 (Deployment and Infrastructure: revocation
propagation), L6 (Security and Compliance); OWASP NHI Top 10 NHI7 (Long-Lived Secrets),
NHI1 (Improper Offboarding).
"""

from __future__ import annotations

from collections import defaultdict

from ...checks import time_problems
from ..facts import Invocation, Revocation, TokenHop
from ..findings import Finding, Location, Options, PathStep
from ..model import DelegationGraph
from ._meta import rule
from ._util import evidence, locations, short

TITLE = "Lifetime extension: authority outliving its grant, its revocation or its task"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out: list[Finding] = []
    for hop in graph.hops():
        out.extend(_lifetime(graph, hop, options.max_lifetime))
        task = graph.tasks.get(hop.task)
        if task is not None and task.closed is not None and hop.iat > task.closed:
            out.append(
                _token_finding(
                    graph,
                    hop,
                    "after_close",
                    f"token {short(hop.token_id)} ({hop.iss} -> {hop.sub}) was issued at "
                    f"{hop.iat}, after task {hop.task} closed at {task.closed:.0f}",
                    closed=task.closed,
                )
            )
    revoked: dict[tuple[str, str], list[Revocation]] = defaultdict(list)
    for r in graph.revocations:
        revoked[(r.kind, r.value)].append(r)
    seen: set[tuple[str, ...]] = set()
    for inv in sorted(graph.invocations, key=lambda i: (i.ts, i.seq if i.seq is not None else -1)):
        if not inv.allowed or inv.leaf is None:
            continue
        out.extend(_after_revocation(graph, inv, revoked, seen))
        out.extend(_after_task(graph, inv, seen))
    return out


def _lifetime(graph: DelegationGraph, hop: TokenHop, max_lifetime: int) -> list[Finding]:
    parent = graph.parent(hop)
    problems = list(time_problems(hop, parent, 0, max_lifetime=max_lifetime, now=None))
    if not problems:
        return []
    why = []
    if hop.exp <= hop.iat:
        why.append("its exp is not after its iat")
    elif hop.exp - hop.iat > max_lifetime:
        why.append(f"it lives {hop.exp - hop.iat}s, over the {max_lifetime}s maximum")
    if parent is not None and hop.exp > parent.exp:
        why.append(f"it outlives its parent {short(parent.token_id)} by {hop.exp - parent.exp}s")
    return [
        _token_finding(
            graph,
            hop,
            "lifetime",
            f"token {short(hop.token_id)} ({hop.iss} -> {hop.sub}, task {hop.task}): "
            + "; ".join(why),
            parent=parent.token_id if parent is not None else None,
            parent_exp=parent.exp if parent is not None else None,
            lifetime=hop.exp - hop.iat,
            codes=[p.code for p in problems],
        )
    ]


def _token_finding(
    graph: DelegationGraph, hop: TokenHop, what: str, message: str, **more: object
) -> Finding:
    path, cut = graph.bounded_witness(hop.token_id)
    return Finding(
        rule="DLG009",
        severity="high",
        title=TITLE,
        message=message,
        key=(hop.token_id, what),
        path=path,
        evidence=evidence(hop, witness_cut=cut, **more),
        locations=locations([hop]),
    )


def _chain_names(graph: DelegationGraph, leaf: str) -> list[tuple[str, str]]:
    """What a verifier checks against revocations for a chain ending at ``leaf``."""
    hops = graph.lineage(leaf)
    names: list[tuple[str, str]] = []
    for h in hops:
        names += [("token", h.token_id), ("jti", h.jti)]
        if h.cnf_kid is not None:
            names.append(("key", h.cnf_kid))
    if hops:
        names.append(("task", hops[0].task))
        if hops[0].prf is None and hops[0].kid is not None:
            names.append(("key", hops[0].kid))
    return names


def _after_revocation(
    graph: DelegationGraph,
    inv: Invocation,
    revoked: dict[tuple[str, str], list[Revocation]],
    seen: set[tuple[str, ...]],
) -> list[Finding]:
    if not revoked or inv.leaf is None:
        return []
    out = []
    for kind, value in _chain_names(graph, inv.leaf):
        for r in revoked.get((kind, value), ()):
            if not (r.ts <= inv.ts and (r.until is None or inv.ts < r.until)):
                continue
            key = (inv.leaf, "revoked", f"{kind}:{value}")
            if key in seen:
                continue
            seen.add(key)
            out.append(
                _use_finding(
                    graph,
                    inv,
                    key,
                    f"{inv.holder} was allowed {inv.tool} on {inv.resource} at {inv.ts:.0f} "
                    f"with a chain whose {kind} {short(value)} had been revoked at {r.ts:.0f}"
                    f"{'' if r.until is None else f' until {r.until:.0f}'}: a verifier "
                    f"without the shared revocation store, or one that ignored it",
                    revocation={
                        "kind": kind,
                        "value": value,
                        "ts": r.ts,
                        "until": r.until,
                        "seq": r.seq,
                    },
                    where=r.where,
                )
            )
    return out


def _after_task(
    graph: DelegationGraph, inv: Invocation, seen: set[tuple[str, ...]]
) -> list[Finding]:
    task = graph.tasks.get(inv.task) if inv.task is not None else None
    if task is None or inv.leaf is None:
        return []
    if task.closed is not None and task.closed <= inv.ts:
        what, when = "closed", task.closed
    elif task.deadline is not None and inv.ts > task.deadline:
        what, when = "deadline", task.deadline
    else:
        return []
    key = (inv.leaf, f"after_{what}")
    if key in seen:
        return []
    seen.add(key)
    said = "was closed" if what == "closed" else "reached its deadline"
    return [
        _use_finding(
            graph,
            inv,
            key,
            f"{inv.holder} was allowed {inv.tool} on {inv.resource} at {inv.ts:.0f} in task "
            f"{inv.task}, which {said} at {when:.0f}",
            task={"task": task.task, "closed": task.closed, "deadline": task.deadline},
            where=task.where,
        )
    ]


def _use_finding(
    graph: DelegationGraph,
    inv: Invocation,
    key: tuple[str, ...],
    message: str,
    *,
    where: Location | None,
    **more: object,
) -> Finding:
    assert inv.leaf is not None
    leaf = graph.tokens[inv.leaf]
    path, cut = graph.bounded_witness(inv.leaf)
    step = PathStep("invokes", inv.holder, inv.tool, inv.leaf)
    return Finding(
        rule="DLG009",
        severity="critical",
        title=TITLE,
        message=message,
        key=key,
        path=(*path, step),
        evidence=evidence(
            leaf,
            invocation={"ts": inv.ts, "seq": inv.seq, "tool": inv.tool, "code": inv.code},
            witness_cut=cut,
            **more,
        ),
        locations=locations([leaf], inv.where, where),
    )


RULE = rule("DLG009", TITLE, detect)
