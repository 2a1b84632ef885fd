"""DLG005 broken-lineage: tokens whose claimed ancestry does not hold together.

Definition, per token (the link checks are :func:`delegation.checks.link_problems`, the
very ones a verifier runs):

* ``critical``: an invalid signature (``hop.signature == "invalid"``: not signed by the key
  its parent bound, or by the root's registered key); a ``prf`` cycle (a lineage that loops
  back on itself, which no honest token id can do: one finding per cycle);
* ``high``: an unknown parent (``prf`` names a token the graph does not hold); an issuer
  that is not its parent's subject; ``act`` not mirroring the path (``hop.act_ok`` false);
  a ``jti`` claimed by several tokens (one finding per jti); a claimed lineage longer than
  :data:`~delegation.graph.model.MAX_LINEAGE` hops, where every walk up is cut (one finding
  at the first cut token of each such lineage).

Hostile input: lineages are walked once, iteratively, memoising each token's depth, so a
``prf`` loop or a forged million-hop chain costs O(E) and no recursion; witnesses are cut
to the last 20 hops.

Complexity: O(E + J) for E tokens and J duplicate-jti entries.

Addresses: OWASP Agentic Top 10 ASI07 (Insecure Inter-Agent Communication), ASI04 (Agentic
Supply Chain Vulnerabilities: forged provenance); CSA MAESTRO L7 (Agent Ecosystem), L6
(Security and Compliance: integrity of the audit trail); OWASP NHI Top 10 NHI4 (Insecure
Authentication).
"""

from __future__ import annotations

from ...checks import link_problems
from ..facts import MAX_LINEAGE, TokenHop
from ..findings import Finding, Options, PathStep, Severity
from ..model import DelegationGraph
from ._meta import rule
from ._util import WITNESS_STEPS, evidence, listed, locations, short

TITLE = "Broken lineage: a token's claimed ancestry does not hold together"

_LOOP = -1  # depth of a token on, or below, a prf cycle: it never reaches a root


def detect(graph: DelegationGraph, options: Options) -> list[Finding]:
    out = [_cycle(graph, loop) for loop in graph.cycles()]
    for hop in graph.hops():
        token_id = hop.token_id
        depth = _LOOP if graph.looped(token_id) else graph.depth(token_id)
        out.extend(_token(graph, hop, depth))
    for jti in sorted(graph.duplicate_jti):
        out.append(_duplicate(graph, jti, graph.duplicate_jti[jti]))
    return out


def _finding(
    graph: DelegationGraph,
    hop: TokenHop,
    what: str,
    severity: Severity,
    message: str,
    **more: object,
) -> Finding:
    path, cut = graph.bounded_witness(hop.token_id)
    parent = graph.parent(hop)
    return Finding(
        rule="DLG005",
        severity=severity,
        title=TITLE,
        message=message,
        key=(hop.token_id, what),
        path=path,
        evidence=evidence(hop, prf=hop.prf, witness_cut=cut, **more),
        locations=locations([hop, *([parent] if parent else [])]),
    )


def _name(hop: TokenHop) -> str:
    return f"token {short(hop.token_id)} ({hop.iss} -> {hop.sub}, task {hop.task})"


def _token(graph: DelegationGraph, hop: TokenHop, depth: int) -> list[Finding]:
    out: list[Finding] = []
    if hop.signature == "invalid":
        signer = "the key its parent bound" if hop.prf is not None else "the root's registered key"
        out.append(
            _finding(
                graph,
                hop,
                "signature",
                "critical",
                f"{_name(hop)} is not signed by {signer}: forged or altered",
            )
        )
    parent = graph.parent(hop)
    if hop.prf is not None and parent is None:
        out.append(
            _finding(
                graph,
                hop,
                "unknown_parent",
                "high",
                f"{_name(hop)} names parent {short(hop.prf)}, which no input holds: its "
                f"authority cannot be traced to a root",
            )
        )
    elif parent is not None:
        index = depth - 1 if depth > 1 else 1
        for problem in link_problems(hop, parent, parent.token_id, index):
            out.append(
                _finding(
                    graph,
                    hop,
                    f"link_{problem.claim}",
                    "high",
                    f"{_name(hop)}: issued by {hop.iss}, but its parent {short(parent.token_id)} "
                    f"was delegated to {parent.sub}"
                    if problem.claim == "iss"
                    else f"{_name(hop)}: {problem.message}",
                    code=problem.code,
                )
            )
    # act is judged against the parent a chain showed; a chain read from a cut-off hop has
    # none to show, so the verdict only counts where the parent is known.
    if hop.act_ok is False and (hop.prf is None or parent is not None):
        out.append(
            _finding(
                graph,
                hop,
                "act",
                "high",
                f"{_name(hop)}: its act claim does not mirror the issuers of its chain",
            )
        )
    if depth == MAX_LINEAGE + 1:
        out.append(
            _finding(
                graph,
                hop,
                "lineage_cut",
                "high",
                f"{_name(hop)} claims a lineage over {MAX_LINEAGE} hops long; every walk up "
                f"from it is cut there, and no verifier accepts such a chain",
                claimed_over=MAX_LINEAGE,
            )
        )
    return out


def _cycle(graph: DelegationGraph, loop: tuple[str, ...]) -> Finding:
    hops = [graph.tokens[t] for t in loop if t in graph.tokens]
    steps = tuple(PathStep("delegates", h.iss, h.sub, h.token_id) for h in hops[:WITNESS_STEPS])
    agents = listed([h.sub for h in hops])
    head = hops[0]
    return Finding(
        rule="DLG005",
        severity="critical",
        title=TITLE,
        message=(
            f"{len(loop)} token(s) of task {head.task} name each other as parents in a loop "
            f"({agents}): a lineage no honest token can have, so it never reaches a root"
        ),
        key=(loop[0], "cycle"),
        path=steps,
        evidence=evidence(head, cycle=list(loop[:WITNESS_STEPS]), cycle_length=len(loop)),
        locations=locations(hops[:WITNESS_STEPS]),
    )


def _duplicate(graph: DelegationGraph, jti: str, ids: list[str]) -> Finding:
    hops = [graph.tokens[t] for t in ids if t in graph.tokens]
    steps = tuple(PathStep("delegates", h.iss, h.sub, h.token_id) for h in hops[:WITNESS_STEPS])
    return Finding(
        rule="DLG005",
        severity="high",
        title=TITLE,
        message=(
            f"jti {jti} is claimed by {len(ids)} different tokens "
            f"({listed(f'{h.iss} -> {h.sub}' for h in hops)}): replay or a forged copy"
        ),
        key=("jti", jti),
        path=steps,
        evidence=evidence(hops[0], tokens=ids[:WITNESS_STEPS], count=len(ids)),
        locations=locations(hops[:WITNESS_STEPS]),
    )


RULE = rule("DLG005", TITLE, detect)
