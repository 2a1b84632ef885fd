"""DLG014 trust-boundary: a hop crossing trust domains (or tenants, environments) unallowed.

Definition: a ``delegates`` hop whose issuer and subject sit in different SPIFFE trust
domains (:func:`~delegation.graph.trust_domain`), or whose registry entries differ in
their ``tenant`` or ``env`` members (both entries naming it: an entry without it is not
scoped by it), when the pair (from, to) of the crossing is not in
``options.allowed_crossings`` (the pair of domains, or of tenant / env values). Medium; high
when a crossing hop may be delegated further (``dpth`` > 0), carrying the authority deeper
into the other side. One finding per receiving agent and crossing (the key), however many
tokens (tasks, issuers) carried authority across it: the witness is the first such token's
path, the evidence counts and lists (bounded) the others.

Complexity: O(E log E) for E tokens (crossings judged once per agent pair; each group
sorted by issue time).

Addresses: OWASP Agentic Top 10 ASI07 (Insecure Inter-Agent Communication) and ASI03
(Identity and Privilege Abuse); CSA MAESTRO L7 (Agent Ecosystem: cross-organisation
agents) and L4 (Deployment and Infrastructure: tenant and environment isolation); OWASP
NHI Top 10 NHI8 (Environment Isolation) and NHI3 (Vulnerable Third-Party NHI).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..facts import TokenHop, trust_domain
from ..findings import Finding, Options, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import bounded, granted, group_evidence, group_locations, grouped, listed

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Trust boundary: a hop crosses trust domains, tenants or environments unallowed"
_MEMBERS = ("tenant", "env")


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    allowed = set(options.allowed_crossings)
    extras: dict[str, dict[str, Any] | None] = {}

    def extra(agent: str) -> dict[str, Any] | None:
        if agent not in extras:
            extras[agent] = graph.agent(agent).get("extra")
        return extras[agent]

    crossing: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    named: dict[tuple[str, str], str] = {}  # (issuer, subject) -> its crossings, as text
    domains: dict[str, str] = {}

    def domain(agent: str) -> str:
        found = domains.get(agent)
        if found is None:
            found = domains[agent] = trust_domain(agent)
        return found

    def unallowed(iss: str, sub: str) -> list[tuple[str, str, str]]:
        """The crossings of an issuer -> subject hop no allowance covers (per pair once)."""
        known = crossing.get((iss, sub))
        if known is not None:
            return known
        found: list[tuple[str, str, str]] = []
        src, dst = domain(iss), domain(sub)
        if src != dst:
            found.append(("domain", src, dst))
        a, b = extra(iss), extra(sub)
        if a is not None and b is not None:
            for member in _MEMBERS:
                u, v = a.get(member), b.get(member)
                if u is not None and v is not None and u != v:
                    found.append((member, str(u), str(v)))
        crossing[(iss, sub)] = found = [c for c in found if (c[1], c[2]) not in allowed]
        named[iss, sub] = "; ".join(f"{kind} {u} -> {v}" for kind, u, v in found)
        return found

    def crossings() -> Iterator[tuple[tuple[str, ...], TokenHop]]:
        for hop in graph.hops():
            if unallowed(hop.iss, hop.sub):
                yield (hop.sub, named[hop.iss, hop.sub]), hop

    out: list[Finding] = []
    for (sub, what), hops in grouped(crossings()):
        found = crossing[(hops[0].iss, sub)]
        issuers = sorted({h.iss for h in hops})
        dpth = max(h.dpth for h in hops)
        severity: Severity = "high" if dpth > 0 else "medium"
        further = f", and {sub} may delegate it up to {dpth} hop(s) further" if dpth > 0 else ""
        out.append(
            Finding(
                rule="DLG014",
                severity=severity,
                title=TITLE,
                message=(
                    f"{listed(issuers, 3)} delegated to {sub} {granted(hops)} across a trust "
                    f"boundary ({what}) with no allowance{further}"
                ),
                key=(sub, what),
                path=graph.witness(hops[0].token_id),
                evidence=group_evidence(
                    hops,
                    crossings=[{"kind": k, "from": u, "to": v} for k, u, v in found],
                    issuers=bounded(issuers)[0],
                    dpth=dpth,
                ),
                locations=group_locations(hops),
            )
        )
    return out


RULE = rule("DLG014", TITLE, detect)
