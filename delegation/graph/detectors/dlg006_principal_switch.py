"""DLG006 principal-switch: a chain that changes whom or what it serves, or a key serving many.

Definition:

* ``high``: a hop whose ``task`` or ``obo`` differs from its parent's
  (:func:`delegation.checks.task_problems` yielding ``TaskMismatch`` or
  ``PrincipalMismatch``, the very check a verifier runs); one finding per token;
* ``medium``: one agent key (the ``cnf`` key thumbprint that tokens bind) acting for several
  principals within ``options.principal_window`` seconds: two tokens bound to the key, or
  two requests made with chains whose leaf binds it, for distinct ``obo`` that close in
  time. One finding per key, with the first such pair as witness.

Complexity: O(E x c^2 + (E + I) log(E + I) + (E + I) x p) for E tokens of at most c
capabilities, I invocations and p distinct principals seen for one key (a sweep in time
order per key, never all pairs of tokens).

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse), ASI01 (Agent Goal
Hijack: authority re-pointed at another principal's goal); CSA MAESTRO L7 (Agent
Ecosystem), L3 (Agent Frameworks: session and principal isolation); OWASP NHI Top 10 NHI9
(NHI Reuse), NHI8 (Environment Isolation).
"""

from __future__ import annotations

from collections import defaultdict
from operator import itemgetter
from typing import NamedTuple

from ...checks import task_problems
from ...errors import PrincipalMismatch, TaskMismatch
from ..facts import TokenHop
from ..findings import Finding, Location, Options
from ..model import DelegationGraph
from ._meta import rule
from ._util import evidence, listed, locations, short

TITLE = "Principal switch: authority re-pointed at another task or principal"


class _Act(NamedTuple):
    """One moment a key served a principal: a token bound to it, or a request with it."""

    ts: float
    order: int  # a token's issue before a request at the same instant
    token_id: str
    obo: str
    agent: str
    what: str
    where: Location | None


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out = [f for hop in graph.hops() if (f := _switch(graph, hop)) is not None]
    acts: dict[str, list[_Act]] = defaultdict(list)
    for hop in graph.tokens.values():
        if hop.cnf_kid is not None and hop.obo is not None:
            where = hop.seen_in[0] if hop.seen_in else None
            acts[hop.cnf_kid].append(
                _Act(hop.iat, 0, hop.token_id, hop.obo, hop.sub, "was delegated", where)
            )
    for inv in graph.invocations:
        leaf = graph.tokens.get(inv.leaf) if inv.leaf is not None else None
        if leaf is not None and leaf.cnf_kid is not None and inv.obo is not None:
            acts[leaf.cnf_kid].append(
                _Act(inv.ts, 1, leaf.token_id, inv.obo, inv.holder, f"called {inv.tool}", inv.where)
            )
    for kid in sorted(acts):
        found = _shared_key(graph, kid, sorted(acts[kid], key=_order), options.principal_window)
        if found is not None:
            out.append(found)
    return out


# time, then token before request, then names (never ``where``): a total, stable order
_order = itemgetter(0, 1, 2, 3, 4, 5)


def _switch(graph: DelegationGraph, hop: TokenHop) -> Finding | None:
    parent = graph.parent(hop)
    if parent is None:
        return None
    changed = list(task_problems(hop, parent, 1))
    if not changed:
        return None
    what = []
    if any(isinstance(p, TaskMismatch) for p in changed):
        what.append(f"task {parent.task} -> {hop.task}")
    if any(isinstance(p, PrincipalMismatch) for p in changed):
        what.append(f"principal {parent.obo} -> {hop.obo}")
    path, cut = graph.bounded_witness(hop.token_id)
    return Finding(
        rule="DLG006",
        severity="high",
        title=TITLE,
        message=(
            f"{hop.iss} delegated to {hop.sub} (token {short(hop.token_id)}) under its token "
            f"{short(parent.token_id)} but changed {' and '.join(what)}: authority granted "
            f"for one task/principal re-pointed at another"
        ),
        key=(hop.token_id, "switch"),
        path=path,
        evidence=evidence(
            hop,
            parent=parent.token_id,
            parent_task=parent.task,
            parent_obo=parent.obo,
            codes=[p.code for p in changed],
            witness_cut=cut,
        ),
        locations=locations([hop, parent]),
    )


def _shared_key(graph: DelegationGraph, kid: str, acts: list[_Act], window: int) -> Finding | None:
    last: dict[str, _Act] = {}  # principal -> its latest act so far
    pair: tuple[_Act, _Act] | None = None
    for act in acts:
        # the first other principal (by name) this key served within the window before
        near = [o for o, b in last.items() if o != act.obo and act.ts - b.ts <= window]
        if near:
            pair = (last[min(near)], act)
            break
        last[act.obo] = act
    if pair is None:
        return None
    first, second = pair
    principals = sorted({a.obo for a in acts})
    agents = sorted({a.agent for a in acts})
    one, _ = graph.bounded_witness(first.token_id)
    two, _ = graph.bounded_witness(second.token_id)
    hop = graph.tokens[second.token_id]
    return Finding(
        rule="DLG006",
        severity="medium",
        title=TITLE,
        message=(
            f"key {kid} (held by {listed(agents)}) served {first.obo} and {second.obo} within "
            f"{second.ts - first.ts:.0f}s (window {window}s): {first.agent} {first.what} for "
            f"{first.obo} (token {short(first.token_id)}), then {second.agent} {second.what} "
            f"for {second.obo} (token {short(second.token_id)}); "
            f"{len(principals)} principal(s) in all"
        ),
        key=(kid, "principals"),
        path=(*one, *(s for s in two if s not in one)),
        evidence=evidence(
            hop,
            key=kid,
            principals=principals[:20],
            agents=agents[:20],
            first={"ts": first.ts, "token": first.token_id, "obo": first.obo},
            second={"ts": second.ts, "token": second.token_id, "obo": second.obo},
        ),
        locations=locations([graph.tokens[first.token_id], hop], first.where, second.where),
    )


RULE = rule("DLG006", TITLE, detect)
