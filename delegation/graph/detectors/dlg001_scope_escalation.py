"""DLG001 scope-escalation: a hop that grants more than its parent holds.

Definition: a delegation token with a capability not covered by any capability of its
parent token (attenuation, :func:`delegation.checks.attenuation_problems`, the very check a
verifier runs), or a root grant with a capability outside the receiver's registry baseline
(when the registry gives one and no elevation of the task covers it).

Complexity: O(E log E + E x c^2) for E tokens of at most c capabilities (pattern
containment is memoised, and so is the verdict per capability tuple and capability);
witness paths are built for findings only.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse); CSA MAESTRO L7
(Agent Ecosystem: privilege escalation between agents); OWASP NHI Top 10 NHI5
(Overprivileged NHI).
"""

from __future__ import annotations

from collections.abc import Callable

from ...capabilities import Capability, covers
from ...checks import attenuation_problems
from ...errors import ScopeEscalation
from ..facts import TokenHop
from ..findings import Finding, Options
from ..model import DelegationGraph
from ._meta import rule
from ._util import evidence, locations

TITLE = "Scope escalation: a hop grants more than its parent holds"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out: list[Finding] = []
    # Verdicts per (capability tuple, capability): the graph shares tuples of the same
    # capability objects, and fleets hand the same ones on and on (the objects are alive
    # in the graph for the whole call, so their ids stay theirs).
    covered: dict[tuple[int, int], bool] = {}

    def held(caps: tuple[Capability, ...], cap: Capability) -> bool:
        pair = (id(caps), id(cap))
        ok = covered.get(pair)
        if ok is None:
            ok = covered[pair] = any(covers(p, cap) for p in caps)
        return ok

    within: dict[tuple[int, int], bool] = {}  # the same per (parent's tuple, child's tuple)
    tokens = graph.tokens
    for hop in graph.hops():
        parent = tokens.get(hop.prf) if hop.prf is not None else None
        if parent is not None:
            pcaps = parent.caps
            ok = within.get((id(pcaps), id(hop.caps)))
            if ok is None:
                ok = within[id(pcaps), id(hop.caps)] = all(held(pcaps, c) for c in hop.caps)
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
            out.extend(_root_beyond_baseline(graph, hop, held))
    return out


def _root_beyond_baseline(
    graph: DelegationGraph,
    hop: TokenHop,
    held: Callable[[tuple[Capability, ...], Capability], bool],
) -> list[Finding]:
    baseline = graph.baseline(hop.sub)
    if baseline is None:
        return []
    task = graph.tasks.get(hop.task)
    elevated = [caps for _, caps, _, _ in task.elevations] if task is not None else []
    if all(held(baseline, c) for c in hop.caps):
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


RULE = rule("DLG001", TITLE, detect)
