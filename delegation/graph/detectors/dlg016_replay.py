"""DLG016 replay: a proof or an acceptance presented again, or by someone else than its holder.

Definition, over the logged decisions: (1) a proof (its issuer and ``jti``) presented in
more than one decision, or any decision denied ``proof_replayed``; high. (2) an inbound
delegation accepted again (acceptances denied ``already_accepted``); high. (3) a proof
presented by a holder other than the chain's subject (denied ``holder_mismatch``, or the
proof's ``iss`` differs from the leaf's subject); high. (4) one leaf token presented with
proofs from several different issuers: its key is in more than one hand; critical.

Complexity: O(I + X) for I decisions and X acceptances (dicts by proof, by leaf).

Addresses: OWASP Agentic Top 10 ASI07 (Insecure Inter-Agent Communication: replayed
messages) and ASI03 (Identity and Privilege Abuse: a stolen credential used by another
agent); CSA MAESTRO L7 (Agent Ecosystem) and L6 (Security and Compliance); OWASP NHI Top
10 NHI2 (Secret Leakage: a key in several hands) and NHI4 (Insecure Authentication).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..facts import Invocation
from ..findings import Finding, Location, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import LIMIT, bounded, evidence, listed, locations, short

__all__ = ["RULE", "TITLE", "detect"]

TITLE = "Replay: a proof or delegation presented again, or by someone other than its holder"
_REPLAYED = "proof_replayed"
_ACCEPTED = "already_accepted"
_HOLDER = "holder_mismatch"


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    decisions = _unique(graph.invocations)
    by_proof: dict[tuple[str, str], list[Invocation]] = {}
    by_leaf: dict[str, list[Invocation]] = {}
    for inv in decisions:
        if inv.proof_jti is not None:
            by_proof.setdefault((inv.proof_jti, inv.proof_iss or "-"), []).append(inv)
        if inv.leaf is not None and inv.proof_iss is not None:
            by_leaf.setdefault(inv.leaf, []).append(inv)
    out: list[Finding] = []
    suspect = [
        (proof, invs)
        for proof, invs in by_proof.items()
        if len(invs) > 1
        or invs[0].code in (_REPLAYED, _HOLDER)
        or invs[0].proof_iss != invs[0].holder
    ]
    for (jti, iss), invs in sorted(suspect, key=lambda item: item[0]):
        if len(invs) > 1 or any(i.code == _REPLAYED for i in invs):
            out.append(
                _on_proof(
                    graph,
                    invs,
                    (jti, iss, "replay"),
                    f"proof {jti} of {iss} was presented in {len(invs)} decisions "
                    f"({_codes(invs)}): a proof authorizes one request, once",
                )
            )
        stolen = [i for i in invs if i.code == _HOLDER or (i.proof_iss not in (None, i.holder))]
        if stolen:
            first = stolen[0]
            out.append(
                _on_proof(
                    graph,
                    stolen,
                    (jti, iss, "holder"),
                    f"{iss} presented proof {jti} for a chain held by {first.holder} "
                    f"(tool {first.tool}, task {first.task}): only the chain's subject may",
                )
            )
    several = [(leaf, invs) for leaf, invs in by_leaf.items() if len(invs) > 1]
    for leaf, invs in sorted(several, key=lambda item: item[0]):
        issuers = sorted({i.proof_iss for i in invs if i.proof_iss is not None})
        if len(issuers) > 1:
            firsts = [next(i for i in invs if i.proof_iss == who) for who in issuers[:LIMIT]]
            out.append(
                _on_proof(
                    graph,
                    firsts,
                    (leaf, "issuers"),
                    f"token {short(leaf)} (held by {invs[0].holder}, task {invs[0].task}) was "
                    f"presented with proofs from {len(issuers)} issuers ({listed(issuers)}): "
                    "its key is in more than one hand",
                    severity="critical",
                    issuers=issuers[:LIMIT],
                )
            )
    out.extend(_reaccepted(graph))
    return out


def _unique(invocations: Sequence[Invocation]) -> list[Invocation]:
    """Each decision once, even when the same log was read twice."""
    seen: set[tuple[Location, int | None]] = set()
    out = []
    for inv in invocations:
        if inv.where is not None:
            mark = (inv.where, inv.seq)
            if mark in seen:
                continue
            seen.add(mark)
        out.append(inv)
    return out


def _codes(invs: Sequence[Invocation]) -> str:
    return ", ".join(sorted({"allowed" if i.allowed else i.code for i in invs}))


def _on_proof(
    graph: DelegationGraph,
    invs: Sequence[Invocation],
    key: tuple[str, ...],
    message: str,
    *,
    severity: Severity = "high",
    **more: Any,
) -> Finding:
    shown, rest = bounded(list(invs))
    leaf = next((i.leaf for i in shown if i.leaf is not None), None)
    path: tuple[PathStep, ...] = graph.witness(leaf) if leaf is not None else ()
    steps: dict[PathStep, None] = {}
    for i in shown:
        kind = "invokes" if i.allowed else "denied"
        steps.setdefault(PathStep(kind, i.proof_iss or i.holder, i.tool, i.leaf))
    facts: dict[str, Any] = (
        evidence(graph.tokens[leaf]) if leaf is not None and leaf in graph.tokens else {}
    )
    facts.update(
        proof_jti=shown[0].proof_jti,
        proof_iss=shown[0].proof_iss,
        decisions=[
            {
                "seq": i.seq,
                "ts": i.ts,
                "holder": i.holder,
                "proof_iss": i.proof_iss,
                "tool": i.tool,
                "audience": i.audience,
                "code": i.code,
            }
            for i in shown
        ],
        more=rest,
        **more,
    )
    hops = graph.lineage(leaf) if leaf is not None else ()
    return Finding(
        rule="DLG016",
        severity=severity,
        title=TITLE,
        message=message,
        key=key,
        path=(*path, *steps),
        evidence=facts,
        locations=locations(hops, *(i.where for i in shown)),
    )


def _reaccepted(graph: DelegationGraph) -> list[Finding]:
    out: list[Finding] = []
    for token_id, accs in sorted(graph.acceptances.items()):
        again = [a for a in accs if a.code == _ACCEPTED]
        if not again:
            continue
        hop = graph.tokens.get(token_id)
        shown, rest = bounded(again)
        who = hop.sub if hop is not None else shown[0].audience
        path: tuple[PathStep, ...] = graph.witness(token_id)
        issuer = hop.iss if hop is not None else "?"
        steps = {PathStep("denied", issuer, a.audience, token_id): None for a in shown}
        facts: dict[str, Any] = evidence(hop) if hop is not None else {"token_id": token_id}
        facts.update(
            attempts=[{"seq": a.seq, "ts": a.ts, "audience": a.audience} for a in shown],
            accepted=sum(a.allowed for a in accs),
            more=rest,
        )
        out.append(
            Finding(
                rule="DLG016",
                severity="high",
                title=TITLE,
                message=(
                    f"the delegation {short(token_id)} to {who} was presented for acceptance "
                    f"again {len(again)} time(s) after it was accepted (already_accepted)"
                ),
                key=(token_id, "accept"),
                path=(*path, *steps),
                evidence=facts,
                locations=locations([hop] if hop is not None else [], *(a.where for a in shown)),
            )
        )
    return out


RULE = rule("DLG016", TITLE, detect)
