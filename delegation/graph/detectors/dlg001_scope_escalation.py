"""DLG001 scope-escalation: a hop that grants more than its parent holds.

Definition: a delegation token with a capability not covered by any capability of its
parent token (attenuation, :func:`delegation.checks.attenuation_problems`, the very check a
verifier runs), or a root grant with a capability outside the receiver's registry baseline
(when the registry gives one and no elevation of the task covers it).

Complexity: O(E log E + E x c^2) for E tokens of at most c capabilities (pattern
containment is memoised, and so is the verdict per pair of capability tuples); witness
paths are built for findings only.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse); CSA MAESTRO L7
(Agent Ecosystem: privilege escalation between agents); OWASP NHI Top 10 NHI5
(Overprivileged NHI).
"""

from __future__ import annotations

from ...capabilities import covers
from ...checks import attenuation_problems
from ...errors import ScopeEscalation
from ..findings import Finding, Options, Rule
from ..model import DelegationGraph, TokenHop
from ._util import evidence, locations

TITLE = "Scope escalation: a hop grants more than its parent holds"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out: list[Finding] = []
    # Verdicts per pair of capability tuples: fleets hand the same tuples on and on (the
    # objects are alive in the graph for the whole call, so their ids stay theirs).
    covered: dict[tuple[int, int], bool] = {}
    for hop in graph.hops():
        parent = graph.parent(hop)
        if parent is not None:
            pair = (id(parent.caps), id(hop.caps))
            ok = covered.get(pair)
            if ok is None:
                ok = covered[pair] = all(any(covers(p, c) for p in parent.caps) for c in hop.caps)
            if ok:
                continue  # no scope escalation; the cheap check first, the witness only if not
            path = graph.witness(hop.token_id)
            depth = len(path) - 1
            wider = [
                p
                for p in attenuation_problems(hop, parent, depth)
                if isinstance(p, ScopeEscalation)
            ]
            if wider:
                caps = [str(c) for c in hop.caps if not any(covers(p, c) for p in parent.caps)]
                out.append(
                    Finding(
                        rule="DLG001",
                        severity="critical" if hop.signature != "invalid" else "high",
                        title=TITLE,
                        message=(
                            f"{hop.iss} delegated {', '.join(caps)} to {hop.sub} in task "
                            f"{hop.task}, beyond what its own token {parent.token_id[:12]} holds"
                        ),
                        key=(hop.token_id,),
                        path=path,
                        evidence=evidence(hop, parent=parent.token_id, excess=caps),
                        locations=locations([hop, parent]),
                    )
                )
        elif hop.prf is None:
            out.extend(_root_beyond_baseline(graph, hop, covered))
    return out


def _root_beyond_baseline(
    graph: DelegationGraph, hop: TokenHop, covered: dict[tuple[int, int], bool]
) -> list[Finding]:
    baseline = graph.baseline(hop.sub)
    if baseline is None:
        return []
    task = graph.tasks.get(hop.task)
    elevated = [caps for _, caps, _, _ in task.elevations] if task is not None else []
    if not elevated:  # the common case: memoised per (baseline, caps) pair
        pair = (id(baseline), id(hop.caps))
        ok = covered.get(pair)
        if ok is None:
            ok = covered[pair] = all(any(covers(b, c) for b in baseline) for c in hop.caps)
        if ok:
            return []
    excess = [
        str(c)
        for c in hop.caps
        if not any(covers(b, c) for b in baseline)
        and not any(any(covers(e, c) for e in caps) for caps in elevated)
    ]
    if not excess:
        return []
    return [
        Finding(
            rule="DLG001",
            severity="high",
            title=TITLE,
            message=(
                f"root {hop.iss} granted {', '.join(excess)} to {hop.sub} in task {hop.task}, "
                f"outside its registry baseline, with no elevation covering it"
            ),
            key=(hop.token_id, "baseline"),
            path=graph.witness(hop.token_id),
            evidence=evidence(hop, excess=excess),
            locations=locations([hop]),
        )
    ]


RULE = Rule(
    id="DLG001",
    name="scope-escalation",
    summary=TITLE,
    help=(
        "A delegation token carries a capability its parent token does not cover, or a "
        "root grant exceeds the receiver's registry baseline. A verifier refuses such a "
        "chain (`scope_escalation`); seeing it in a graph means a forged or hand-built hop, "
        "or a root minting beyond what the agent is meant to do. Revoke the token "
        "(`delegation revoke --token ID`) and find who signed it."
    ),
    severity="critical",
    tags=("security", "OWASP-ASI03", "MAESTRO-L7", "OWASP-NHI5"),
    detect=detect,
)
