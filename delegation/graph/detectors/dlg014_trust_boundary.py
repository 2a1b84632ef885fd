"""DLG014 trust-boundary: a hop crossing trust domains (or tenants, environments) unallowed.

Definition: a ``delegates`` hop whose issuer and subject sit in different SPIFFE trust
domains (:func:`~delegation.graph.trust_domain`), or whose registry entries differ in
their ``tenant`` or ``env`` members (both entries naming it: an entry without it is not
scoped by it), when
the pair (from, to) of the crossing is not in ``options.allowed_crossings`` (the pair of
domains, or of tenant / env values). Medium; high when the crossing hop may be delegated
further (``dpth`` > 0), carrying the authority deeper into the other side.

Complexity: O(E) for E tokens (node attributes are looked up once per agent).

Addresses: OWASP Agentic Top 10 ASI07 (Insecure Inter-Agent Communication) and ASI03
(Identity and Privilege Abuse); CSA MAESTRO L7 (Agent Ecosystem: cross-organisation
agents) and L4 (Deployment and Infrastructure: tenant and environment isolation); OWASP
NHI Top 10 NHI8 (Environment Isolation) and NHI3 (Vulnerable Third-Party NHI).
"""

from __future__ import annotations

from typing import Any

from ..findings import Finding, Options, Rule, Severity
from ..model import DelegationGraph, trust_domain
from ._util import evidence, locations

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

    out: list[Finding] = []
    for hop in graph.hops():
        crossings: list[tuple[str, str, str]] = []
        src, dst = trust_domain(hop.iss), trust_domain(hop.sub)
        if src != dst:
            crossings.append(("domain", src, dst))
        a, b = extra(hop.iss), extra(hop.sub)
        if a is not None and b is not None:
            for member in _MEMBERS:
                u, v = a.get(member), b.get(member)
                if u is not None and v is not None and u != v:
                    crossings.append((member, str(u), str(v)))
        unallowed = [c for c in crossings if (c[1], c[2]) not in allowed]
        if not unallowed:
            continue
        severity: Severity = "high" if hop.dpth > 0 else "medium"
        what = "; ".join(f"{kind} {u} -> {v}" for kind, u, v in unallowed)
        further = (
            f", and {hop.sub} may delegate it {hop.dpth} hop(s) further" if hop.dpth > 0 else ""
        )
        out.append(
            Finding(
                rule="DLG014",
                severity=severity,
                title=TITLE,
                message=(
                    f"{hop.iss} delegated to {hop.sub} in task {hop.task} across a trust "
                    f"boundary ({what}) with no allowance{further}"
                ),
                key=(hop.token_id,),
                path=graph.witness(hop.token_id),
                evidence=evidence(
                    hop,
                    crossings=[{"kind": k, "from": u, "to": v} for k, u, v in unallowed],
                    dpth=hop.dpth,
                ),
                locations=locations([hop]),
            )
        )
    return out


RULE = Rule(
    id="DLG014",
    name="trust-boundary",
    summary=TITLE,
    help=(
        "A delegation hop crosses SPIFFE trust domains, or registry `tenant` / `env` "
        "boundaries, and the crossing is not listed in `allowed_crossings`. Medium; high "
        "when the receiver may delegate further, taking the authority deeper into the other "
        "side. Allow intended federation explicitly in `--config` (`allowed_crossings: "
        "[[from, to]]`), otherwise keep delegation inside one domain."
    ),
    severity="medium",
    tags=(
        "security",
        "OWASP-ASI07",
        "OWASP-ASI03",
        "MAESTRO-L7",
        "MAESTRO-L4",
        "OWASP-NHI8",
        "OWASP-NHI3",
    ),
    detect=detect,
)
