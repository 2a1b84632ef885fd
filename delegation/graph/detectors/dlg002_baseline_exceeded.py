"""DLG002 baseline-exceeded: authority that reached an agent beyond its registry baseline.

Definition: for every agent the registry gives a (non-empty) baseline, each capability it
holds through a *non-root* token (a delegated hop; root grants beyond the baseline are
DLG001's) that is really held (covered by the parent token, as
:meth:`~delegation.graph.DelegationGraph.effective_capabilities` counts it) and that no
baseline capability covers (:func:`delegation.capabilities.covers`) is an excess: the hidden
propagation that no single hop shows. One finding per (agent, token), listing the excess
capabilities, with the delegation path that delivered them. ``high``, or ``low`` (naming the
elevation) when every excess is covered by an approved elevation of the token's task that
was in force when the token was issued, or the token records the elevation it was minted
under (``hop.elevation``). An agent with no registry baseline gives nothing.

Complexity: O(E x c x b) for E tokens of at most c capabilities and baselines of at most b
(pattern containment is memoised); witnesses are bounded to 20 hops.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse), ASI08 (Cascading
Failures: authority spreading hop by hop); CSA MAESTRO L7 (Agent Ecosystem), L6 (Security
and Compliance: baselines as policy); OWASP NHI Top 10 NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from ...capabilities import Capability, covers
from ..facts import TokenHop
from ..findings import Finding, Options, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import evidence, listed, locations, short

TITLE = "Baseline exceeded: delegated authority beyond the agent's registry baseline"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out: list[Finding] = []
    # (baseline, capability tuple) -> the capabilities the baseline does not cover, keyed
    # by ids: facts and registry entries share those tuples, the value pins them
    beyond: dict[tuple[int, int], tuple[object, object, list[Capability]]] = {}
    for hop in graph.hops():
        if hop.prf is None:
            continue  # root grants beyond the baseline are DLG001's
        baseline = graph.baseline(hop.sub)
        if not baseline:
            continue  # no baseline: nothing to exceed (minting reads an empty one so too)
        hit = beyond.get((id(baseline), id(hop.caps)))
        if hit is None:
            outside = [c for c in hop.caps if not any(covers(b, c) for b in baseline)]
            hit = beyond[id(baseline), id(hop.caps)] = (baseline, hop.caps, outside)
        if not hit[2]:
            continue
        parent = graph.parent(hop)
        excess = [c for c in hit[2] if parent is None or any(covers(p, c) for p in parent.caps)]
        if excess:
            out.append(_finding(graph, hop, excess))
    return out


def _elevation(graph: DelegationGraph, hop: TokenHop, cap: Capability) -> str | None:
    """The id of an elevation that covers ``cap`` for ``hop``, or None."""
    if hop.elevation is not None:
        return hop.elevation
    task = graph.tasks.get(hop.task)
    if task is None:
        return None
    for ident, caps, granted_at, until in task.elevations:
        # iat is whole seconds, the grant time is not: a token of the same second counts.
        if granted_at - 1 <= hop.iat <= until and any(covers(e, cap) for e in caps):
            return ident
    return None


def _finding(graph: DelegationGraph, hop: TokenHop, excess: list[Capability]) -> Finding:
    elevations = {str(c): _elevation(graph, hop, c) for c in excess}
    bare = [c for c, e in elevations.items() if e is None]
    severity: Severity = "high" if bare else "low"
    used = sorted({e for e in elevations.values() if e is not None})
    path, cut = graph.bounded_witness(hop.token_id)
    caps = listed(elevations)
    if bare:
        why = "no elevation of the task covers " + ("it" if len(bare) == 1 else listed(bare))
    else:
        why = f"covered by elevation {listed(used)} of the task"
    return Finding(
        rule="DLG002",
        severity=severity,
        title=TITLE,
        message=(
            f"{hop.sub} received {caps} from {hop.iss} in task {hop.task} "
            f"(token {short(hop.token_id)}), outside its registry baseline; {why}"
        ),
        key=(hop.sub, hop.token_id),
        path=path,
        evidence=evidence(
            hop,
            excess=list(elevations),
            elevations=used,
            baseline=[str(b) for b in graph.baseline(hop.sub) or ()],
            witness_cut=cut,
        ),
        locations=locations([hop, *(graph.tokens[s.token] for s in path if s.token)]),
    )


RULE = rule("DLG002", TITLE, detect)
