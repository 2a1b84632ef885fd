"""DLG010 bearer-or-broad: a hop without key binding, or a broad capability left re-delegable.

Definition: (1) ``unbound``: a token whose ``cnf`` names no usable key (``cnf_kid`` is
None): whoever holds it can use it, a bearer token; high. (2) ``self-bound``: a token
binding the very key that signed it (``cnf_kid == kid``) while naming another agent as
subject: the issuer keeps control of what it claims to hand on; high. (A self-delegation,
``iss == sub``, binds its own key by nature; DLG008 reports it.) (3) ``broad``: a token
carrying a capability for every tool (``tool`` ``**``, high) or for the whole resource
space (``resource`` ``**``, medium) that may still be delegated further (``dpth`` > 0).
One finding per issuing agent and case (the key): binding and granting are the issuer's
practice, so the tokens, receivers and tasks that repeat it are counted and listed (bounded)
in one finding, whose witness is the first such token's path.

Complexity: O(E x c + E log E) for E tokens of at most c capabilities.

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse) and ASI07 (Insecure
Inter-Agent Communication: unbound credentials passed between agents); CSA MAESTRO L7
(Agent Ecosystem) and L6 (Security and Compliance); OWASP NHI Top 10 NHI4 (Insecure
Authentication: bearer credentials) and NHI5 (Overprivileged NHI).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..facts import TokenHop
from ..findings import Finding, Options, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import bounded, granted, group_evidence, group_locations, grouped, listed

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Bearer or broad: a hop without key binding, or a wildcard grant left re-delegable"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    broad: dict[str, tuple[list[str], list[str]]] = {}  # token id -> (tools, resources)
    # per capability tuple (graph facts share, and so pin, them): its broad grants
    wide: dict[int, tuple[list[str], list[str]]] = {}

    def cases() -> Iterator[tuple[tuple[str, ...], TokenHop]]:
        for hop in graph.hops():
            if hop.cnf_kid is None:
                yield (hop.iss, "unbound"), hop
            elif hop.cnf_kid == hop.kid and hop.iss != hop.sub:
                yield (hop.iss, "self-bound"), hop
            if hop.dpth > 0:
                found = wide.get(id(hop.caps))
                if found is None:
                    tools = sorted({str(c) for c in hop.caps if c.tool == "**"})
                    resources = sorted(
                        {str(c) for c in hop.caps if c.resource == "**"} - set(tools)
                    )
                    found = wide[id(hop.caps)] = (tools, resources)
                if found[0] or found[1]:
                    broad[hop.token_id] = found
                    yield (hop.iss, "broad"), hop

    out: list[Finding] = []
    for key, hops in grouped(cases()):
        iss, case = key
        first = hops[0]
        to = f"to {listed(sorted({h.sub for h in hops}), 3)} {granted(hops)}"
        more: dict[str, object] = {}
        if case == "unbound":
            severity: Severity = "high"
            message = (
                f"{iss} delegated {to} with no usable key binding (cnf): the token works for "
                "whoever holds it, like a bearer token"
            )
        elif case == "self-bound":
            severity = "high"
            message = (
                f"{iss} delegated {to} but bound the token to its own signing key "
                f"{first.kid}: {iss} keeps control of it, and the receiver can only act "
                "through it"
            )
        else:
            tools = sorted({t for h in hops for t in broad[h.token_id][0]})
            resources = sorted({r for h in hops for r in broad[h.token_id][1]} - set(tools))
            dpth = max(h.dpth for h in hops)
            severity = "high" if tools else "medium"
            what = "every tool" if tools else "the whole resource space"
            message = (
                f"{iss} granted {listed(tools + resources, 5)} ({what}) {to}, re-delegable "
                f"up to {dpth} hop(s) further"
            )
            more = {"broad": bounded(tools + resources)[0], "dpth": dpth}
        out.append(
            Finding(
                rule="DLG010",
                severity=severity,
                title=TITLE,
                message=message,
                key=key,
                path=graph.witness(first.token_id),
                evidence=group_evidence(
                    hops,
                    case=case,
                    kid=first.kid,
                    cnf_kid=first.cnf_kid,
                    subjects=bounded(sorted({h.sub for h in hops}))[0],
                    **more,
                ),
                locations=group_locations(hops),
            )
        )
    return out


RULE = rule("DLG010", TITLE, detect)
