"""DLG013 shared-key: one key bound to several agent ids, or an agent's keys that are not its own.

Definition: (1) a key (a token's ``cnf`` thumbprint, and a root grant's signing ``kid``
for its issuer) bound to two or more agent ids; high, the witness one token per agent.
(2) an agent id bound to keys whose registry owners (``roots``/``agents`` entries'
``keys``) sit in a trust domain other than its own or in several, or bound to several
distinct keys of which some are not registered to it (a registered agent only: key
rotation within the registry is fine); medium, the witness one token per key.

Complexity: O(E + K) for E tokens and K registered keys (dicts by key and by agent).

Addresses: OWASP Agentic Top 10 ASI03 (Identity and Privilege Abuse: one identity's key
speaking for another); CSA MAESTRO L6 (Security and Compliance) and L4 (Deployment and
Infrastructure: key distribution); OWASP NHI Top 10 NHI9 (NHI Reuse), NHI2 (Secret
Leakage) and NHI8 (Environment Isolation: keys shared across trust domains).
"""

from __future__ import annotations

from ..facts import TokenHop, trust_domain
from ..findings import Finding, Options
from ..model import DelegationGraph
from ._meta import rule
from ._util import LIMIT, bounded_values, hop_step, listed, locations

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Shared key: one key speaks for several agents, or an agent uses keys not its own"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    # the first token (in hops() order: issue time, token id) binding each pair
    by_key: dict[str, dict[str, TokenHop]] = {}  # kid -> agent -> first token binding them
    by_agent: dict[str, dict[str, TokenHop]] = {}  # agent -> kid -> first token
    for hop in graph.hops():
        bindings = [(hop.cnf_kid, hop.sub)]
        if hop.prf is None:
            bindings.append((hop.kid, hop.iss))  # a root speaks with its signing key
        for kid, agent in bindings:
            if kid is None:
                continue
            by_key.setdefault(kid, {}).setdefault(agent, hop)
            by_agent.setdefault(agent, {}).setdefault(kid, hop)
    out: list[Finding] = []
    for kid, agents in sorted(by_key.items()):
        if len(agents) > 1:
            names = sorted(agents)
            hops, more = bounded_values(agents, names)
            out.append(
                Finding(
                    rule="DLG013",
                    severity="high",
                    title=TITLE,
                    message=(
                        f"key {kid} is bound to {len(names)} agent ids ({listed(names)}): "
                        "whoever holds it can act as each of them"
                    ),
                    key=(kid,),
                    path=tuple(hop_step(h) for h in hops),
                    evidence={
                        "kid": kid,
                        "agents": names[:LIMIT],
                        "more": more,
                        "tokens": [h.token_id for h in hops],
                        "seq": [h.seq for h in hops if h.seq is not None],
                    },
                    locations=locations(hops),
                )
            )
    out.extend(_foreign_keys(graph, by_agent))
    return out


def _foreign_keys(
    graph: DelegationGraph, by_agent: dict[str, dict[str, TokenHop]]
) -> list[Finding]:
    registry = graph.registry
    if registry is None:
        return []
    owners: dict[str, set[str]] = {}  # kid -> registered owners
    entries = {**registry.roots, **registry.agents}
    for owner, registered in entries.items():
        for kid in registered.keys:
            owners.setdefault(kid, set()).add(owner)
    out: list[Finding] = []
    for agent, keys in sorted(by_agent.items()):
        kids = sorted(keys)
        domains = {trust_domain(agent)} | {
            trust_domain(o) for kid in kids for o in owners.get(kid, ())
        }
        entry = entries.get(agent)
        foreign = (
            [k for k in kids if k not in entry.keys] if entry is not None and len(kids) > 1 else []
        )
        if len(domains) <= 1 and not foreign:
            continue
        reasons = []
        if len(domains) > 1:
            reasons.append(
                f"its keys are registered to agents in {len(domains)} trust domains "
                f"({listed(sorted(domains))})"
            )
        if foreign:
            reasons.append(f"{len(foreign)} of its {len(kids)} keys are not registered to it")
        hops, more = bounded_values(keys, kids)
        out.append(
            Finding(
                rule="DLG013",
                severity="medium",
                title=TITLE,
                message=f"{agent} is bound to {len(kids)} key(s), and " + "; ".join(reasons),
                key=(agent, "keys"),
                path=tuple(hop_step(h) for h in hops),
                evidence={
                    "agent": agent,
                    "keys": kids[:LIMIT],
                    "more": more,
                    "domains": sorted(domains)[:LIMIT],
                    "unregistered": foreign[:LIMIT],
                    "owners": {k: sorted(owners.get(k, ()))[:LIMIT] for k in kids[:LIMIT]},
                    "tokens": [h.token_id for h in hops],
                },
                locations=locations(hops),
            )
        )
    return out


RULE = rule("DLG013", TITLE, detect)
