"""DLG018 re-rooting: an agent holding a delegated chain in a task gets a fresh root grant there.

Definition: a root grant (no ``prf``) to agent X in task T issued at or after a
delegated (non-root) token X already received in T (``root.iat >= held.iat``). The
agent's authority in T is meant to flow down its chain, attenuated at every hop; a fresh
root replaces that lineage. High; critical when the new root allows more than every
chain X held before it: a larger ``dpth`` or a later ``exp`` (depth or TTL laundering).
The witness is the held chain's path (the most permissive one held before the root),
then the new root.

Complexity: O(E log E) for E tokens (grouped by (agent, task), sorted by ``iat``, prefix
maxima, binary search per root).

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse: laundering limits
through a new root) and ASI10 (Rogue Agents: an agent asking the orchestrator for a
fresh grant); CSA MAESTRO L7 (Agent Ecosystem) and L3 (Agent Frameworks: orchestrator
logic); OWASP NHI Top 10 NHI5 (Overprivileged NHI) and NHI7 (Long-Lived Secrets:
lifetimes extended past the chain's).
"""

from __future__ import annotations

from bisect import bisect_right

from ..facts import TokenHop
from ..findings import Finding, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import evidence, locations, short

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Re-rooting: an agent holding a delegated chain gets a fresh root grant in the task"


def _rank(hop: TokenHop) -> tuple[int, int, int, str]:
    return (hop.exp, hop.dpth, hop.iat, hop.token_id)


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    held: dict[tuple[str, str], list[TokenHop]] = {}
    roots: dict[tuple[str, str], list[TokenHop]] = {}
    for hop in graph.hops():
        (held if hop.prf is not None else roots).setdefault((hop.sub, hop.task), []).append(hop)
    out: list[Finding] = []
    for group, fresh in sorted(roots.items()):
        chains = held.get(group, [])  # in hops() order: issue time, then token id
        if not chains:
            continue
        times = [h.iat for h in chains]
        best: list[TokenHop] = []  # most permissive held token among the first i+1
        max_dpth: list[int] = []
        for h in chains:
            best.append(h if not best or _rank(h) > _rank(best[-1]) else best[-1])
            max_dpth.append(max(h.dpth, max_dpth[-1]) if max_dpth else h.dpth)
        for root in fresh:
            i = bisect_right(times, root.iat) - 1
            if i < 0:
                continue
            prior, deepest = best[i], max_dpth[i]
            gains = []
            if root.dpth > deepest:
                gains.append(f"depth {root.dpth} (held chains allowed {deepest})")
            if root.exp > prior.exp:
                gains.append(f"expiry {root.exp - prior.exp}s later than the held chain's")
            severity: Severity = "critical" if gains else "high"
            why = f": it launders {' and '.join(gains)}" if gains else ""
            out.append(
                Finding(
                    rule="DLG018",
                    severity=severity,
                    title=TITLE,
                    message=(
                        f"{root.iss} minted a fresh root grant to {root.sub} in task "
                        f"{root.task}, which already held the delegated token "
                        f"{short(prior.token_id)} from {prior.iss} there{why}"
                    ),
                    key=(root.token_id,),
                    path=(
                        *graph.witness(prior.token_id),
                        PathStep("delegates", root.iss, root.sub, root.token_id),
                    ),
                    evidence=evidence(
                        root,
                        dpth=root.dpth,
                        held=prior.token_id,
                        held_iat=prior.iat,
                        held_exp=prior.exp,
                        held_dpth=prior.dpth,
                        held_max_dpth=deepest,
                        held_tokens=i + 1,
                    ),
                    locations=locations([root, *graph.lineage(prior.token_id)]),
                )
            )
    return out


RULE = rule("DLG018", TITLE, detect)
