"""DLG010 bearer-or-broad: a hop without key binding, or a broad capability left re-delegable.

Definition: (1) ``unbound``: a token whose ``cnf`` names no usable key (``cnf_kid`` is
None): whoever holds it can use it, a bearer token; high. (2) ``self-bound``: a token
binding the very key that signed it (``cnf_kid == kid``) while naming another agent as
subject: the issuer keeps control of what it claims to hand on; high. (A self-delegation,
``iss == sub``, binds its own key by nature; DLG008 reports it.) (3) ``broad``: a token
carrying a capability for every tool (``tool`` ``**``, high) or for the whole resource
space (``resource`` ``**``, medium) that may still be delegated further (``dpth`` > 0).

Complexity: O(E x c) for E tokens of at most c capabilities.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse) and ASI07 (Insecure
Inter-Agent Communication: unbound credentials passed between agents); CSA MAESTRO L7
(Agent Ecosystem) and L6 (Security and Compliance); OWASP NHI Top 10 NHI4 (Insecure
Authentication: bearer credentials) and NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from ..findings import Finding, Options, Rule, Severity
from ..model import DelegationGraph, TokenHop
from ._util import evidence, locations

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Bearer or broad: a hop without key binding, or a wildcard grant left re-delegable"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out: list[Finding] = []
    for hop in graph.hops():
        if hop.cnf_kid is None:
            out.append(
                _finding(
                    graph,
                    hop,
                    "unbound",
                    "high",
                    f"{hop.iss} delegated to {hop.sub} in task {hop.task} with no usable key "
                    "binding (cnf): the token works for whoever holds it, like a bearer token",
                )
            )
        elif hop.cnf_kid == hop.kid and hop.iss != hop.sub:
            out.append(
                _finding(
                    graph,
                    hop,
                    "self-bound",
                    "high",
                    f"{hop.iss} delegated to {hop.sub} in task {hop.task} but bound the token "
                    f"to its own signing key {hop.kid}: {hop.iss} keeps control of it, and "
                    f"{hop.sub} can only act through it",
                )
            )
        if hop.dpth > 0:
            tools = sorted({str(c) for c in hop.caps if c.tool == "**"})
            resources = sorted({str(c) for c in hop.caps if c.resource == "**"} - set(tools))
            if tools or resources:
                broad = tools + resources
                what = "every tool" if tools else "the whole resource space"
                out.append(
                    _finding(
                        graph,
                        hop,
                        "broad",
                        "high" if tools else "medium",
                        f"{hop.iss} granted {', '.join(broad)} ({what}) to {hop.sub} in task "
                        f"{hop.task}, and {hop.sub} may delegate it {hop.dpth} hop(s) further",
                        broad=broad,
                        dpth=hop.dpth,
                    )
                )
    return out


def _finding(
    graph: DelegationGraph,
    hop: TokenHop,
    case: str,
    severity: Severity,
    message: str,
    **more: object,
) -> Finding:
    return Finding(
        rule="DLG010",
        severity=severity,
        title=TITLE,
        message=message,
        key=(hop.token_id, case),
        path=graph.witness(hop.token_id),
        evidence=evidence(hop, case=case, kid=hop.kid, cnf_kid=hop.cnf_kid, **more),
        locations=locations([hop]),
    )


RULE = Rule(
    id="DLG010",
    name="bearer-or-broad",
    summary=TITLE,
    help=(
        "A delegation token is not bound to its receiver's key (no usable `cnf`, or bound "
        "to the issuer's own signing key, so the issuer keeps control), or it grants every "
        "tool (`**`, high) or the whole resource space (`**`, medium) while it may still be "
        "delegated further (`dpth` > 0). Bind every hop to the receiver's registered key; "
        "grant narrow tool and resource patterns, and mint broad ones with `depth=0`."
    ),
    severity="high",
    tags=(
        "security",
        "OWASP-ASI03",
        "OWASP-ASI07",
        "MAESTRO-L7",
        "MAESTRO-L6",
        "OWASP-NHI4",
        "OWASP-NHI5",
    ),
    detect=detect,
)
