"""DLG004 unverified-hop: a delegation re-delegated or used with no sign its receiver checked it.

Definition: a non-root token that was *re-delegated* (a token names it as parent) or *used*
(it is the leaf of an invocation; an ancestor of a leaf has a child in the graph, so it is
re-delegated) and:

* ``medium``: no evidence that its receiver verified and accepted it: no allowed
  acceptance (``Verifier.accept``) by its ``sub`` in the logs, and no child carrying a
  receipt (``rcpt``) of it;
* ``high``: a use or re-delegation at or after a refusal of it by its receiver (an accept
  decision denied, other than ``already_accepted``), with no allowed acceptance before;
* ``high``: a child whose receipt does not verify (``receipt_ok`` false: bad signature,
  another token accepted, dated outside the hop) — one finding per such child, whatever
  the parent (a receipt on the child of a root grant evidences its acceptance too); the
  medium finding above is then not repeated for the parent.

The witness is the path into the token, then the first re-delegation or use.

Complexity: O(E + I + A) for E tokens, I invocations and A acceptance decisions.

Addresses: OWASP Agentic Top 10 ASI07 (Insecure Inter-Agent Communication), ASI03 (Identity
and Privilege Abuse); CSA MAESTRO L7 (Agent Ecosystem), L5 (Evaluation and Observability:
re-authorization evidence); OWASP NHI Top 10 NHI4 (Insecure Authentication).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..facts import Acceptance, Invocation, TokenHop
from ..findings import Finding, Location, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import children_of, evidence, listed, locations, short

TITLE = "Unverified hop: a delegation passed on or used without its receiver's acceptance"


@dataclass(frozen=True)
class _Use:
    """A re-delegation (``child``) or a request (``inv``) made with a token, at ``ts``."""

    ts: float
    step: PathStep
    where: Location | None
    seq: int | None
    what: str


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    children = children_of(graph)
    used: dict[str, list[Invocation]] = defaultdict(list)
    for inv in graph.invocations:
        if inv.leaf is not None:
            used[inv.leaf].append(inv)
    # parents of a hop whose receipt does not verify (few): the others skip that check
    badly = {h.prf for h in graph.tokens.values() if h.receipt_ok is False}
    out: list[Finding] = []
    for hop in graph.hops():
        kids = children.get(hop.token_id, [])
        bad = _bad_receipts(graph, hop, kids) if hop.token_id in badly else []
        out.extend(bad)
        invs = used.get(hop.token_id, [])
        if hop.prf is None or (not kids and not invs):
            continue  # a root grant is accepted by nobody; an idle token is not at issue
        found = _judge(graph, hop, kids, invs, quiet=bool(bad))
        if found is not None:
            out.append(found)
    return out


def _redelegation(kid: TokenHop) -> _Use:
    where = kid.seen_in[0] if kid.seen_in else None
    return _Use(
        kid.iat,
        PathStep("delegates", kid.iss, kid.sub, kid.token_id),
        where,
        kid.seq,
        f"delegated it on to {kid.sub} (token {short(kid.token_id)})",
    )


def _request(inv: Invocation) -> _Use:
    kind = "invokes" if inv.allowed else "denied"
    verb = "called" if inv.allowed else "tried to call"
    return _Use(
        inv.ts,
        PathStep(kind, inv.holder, inv.tool, inv.leaf),
        inv.where,
        inv.seq,
        f"{verb} {inv.tool} with it",
    )


def _bad_receipts(graph: DelegationGraph, hop: TokenHop, kids: list[TokenHop]) -> list[Finding]:
    out = []
    for kid in kids:
        if kid.receipt_ok is not False:
            continue
        path, cut = graph.bounded_witness(kid.token_id)
        out.append(
            Finding(
                rule="DLG004",
                severity="high",
                title=TITLE,
                message=(
                    f"{kid.iss} delegated token {short(hop.token_id)} of task {hop.task} on to "
                    f"{kid.sub} with a receipt that does not verify: no evidence it accepted "
                    f"what it passed on"
                ),
                key=(kid.token_id, "bad_receipt"),
                path=path,
                evidence=evidence(kid, parent=hop.token_id, witness_cut=cut),
                locations=locations([kid, hop]),
            )
        )
    return out


def _judge(
    graph: DelegationGraph,
    hop: TokenHop,
    kids: list[TokenHop],
    invs: list[Invocation],
    *,
    quiet: bool,
) -> Finding | None:
    """The worst of: used after a refusal (high); no evidence at all (medium, unless a bad
    receipt was reported for it already: ``quiet``)."""
    mine = [a for a in graph.acceptances.get(hop.token_id, ()) if a.audience == hop.sub]
    if all(a.allowed or a.code == "already_accepted" for a in mine) and (
        quiet or any(a.allowed for a in mine) or _receipted(kids)
    ):
        return None  # the common case: accepted, and never refused
    refused = sorted((a for a in mine if not a.allowed and a.code != "already_accepted"), key=_when)
    accepted = sorted((a for a in mine if a.allowed), key=_when)
    uses = [_redelegation(k) for k in kids] + [_request(i) for i in invs]
    if refused:
        for use in sorted(uses, key=_use_order):
            # the first use after a refusal that no acceptance had preceded
            before = [a for a in refused if a.ts <= use.ts]
            if before and not any(a.ts <= use.ts for a in accepted):
                return _finding(graph, hop, use, "high", before[0], mine)
    if accepted or quiet or _receipted(kids):
        return None
    # the first use in time order (min keeps the first of equals, as a stable sort would)
    return _finding(graph, hop, min(uses, key=_use_order), "medium", None, mine)


def _receipted(kids: list[TokenHop]) -> bool:
    return any(k.receipt and k.receipt_ok is not False for k in kids)


def _use_order(u: _Use) -> tuple[float, int, str]:
    return (u.ts, u.seq if u.seq is not None else -1, u.what)


def _when(a: Acceptance) -> tuple[float, int]:
    return (a.ts, a.seq if a.seq is not None else -1)


def _finding(
    graph: DelegationGraph,
    hop: TokenHop,
    use: _Use,
    severity: Severity,
    refusal: Acceptance | None,
    decisions: list[Acceptance],
) -> Finding:
    path, cut = graph.bounded_witness(hop.token_id)
    if refusal is not None:
        why = (
            f"after it had refused it ({refusal.code}), with no acceptance before: the "
            f"receiver's own check said no"
        )
        key = (hop.token_id, "after_denial")
    else:
        why = "with no accept decision of it in the logs and no receipt on a child"
        key = (hop.token_id, "unverified")
    return Finding(
        rule="DLG004",
        severity=severity,
        title=TITLE,
        message=(
            f"{hop.sub} {use.what}, holding token {short(hop.token_id)} from {hop.iss} in "
            f"task {hop.task}, {why}"
        ),
        key=key,
        path=(*path, use.step),
        evidence=evidence(
            hop,
            first_use={"ts": use.ts, "seq": use.seq, "what": use.what},
            decisions=listed(f"{a.code}@{a.seq if a.seq is not None else a.ts}" for a in decisions)
            or "none",
            witness_cut=cut,
        ),
        locations=locations([hop], refusal.where if refusal else None, use.where),
    )


RULE = rule("DLG004", TITLE, detect)
