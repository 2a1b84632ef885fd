"""Builders: audit logs, chain files and verified chains into one :class:`DelegationGraph`.

Inputs are streamed line by line, so memory grows with the graph, not with the log. An
input's kind is recognised by content: JSON lines (first non-blank character ``{``) are
audit records, anything else is one ``~``-joined chain per line. A line that cannot be
read is never dropped silently: it is kept in ``graph.skipped`` with its file, line and
reason, and the reports count it.

Chains are parsed with :func:`delegation.parse_unverified`: the graph shows what a chain
*claims*, each token's signature marked ``valid``, ``invalid`` or ``unknown`` (the root's
key not in the registry). Nothing here is an authorization decision.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from .._files import read_error
from ..audit import (
    AcceptEvent,
    AuditRecord,
    DelegateEvent,
    ElevateEvent,
    MintEvent,
    RecordReader,
    RevokeEvent,
    TaskCloseEvent,
    TaskOpenEvent,
    VerifyEvent,
)
from ..checks import act_problem, receipt_problem, signature_problem
from ..errors import DelegationError
from ..keys import PublicKey
from ..registry import Registry
from ..tokens import DelegationClaims, UnverifiedToken, parse_jws
from ..verify import VerifiedChain
from .facts import Acceptance, Invocation, Revocation, TaskFacts, TokenHop
from .findings import Location
from .model import DelegationGraph

__all__ = [
    "Window",
    "add_audit",
    "add_chains",
    "from_audit",
    "from_chains",
    "from_verified",
    "load",
]

MAX_LINE = 1 << 20  # 1 MiB: a longer line is skipped (and counted), never parsed
_ALGS = ("EdDSA", "ES256")


@dataclass(frozen=True)
class Window:
    """Which facts to keep: one task, and/or a time window (POSIX seconds, inclusive)."""

    task: str | None = None
    since: float | None = None
    until: float | None = None

    def keeps(self, task: str | None, ts: float | None) -> bool:
        if self.task is not None and task != self.task:
            return False
        if ts is not None and self.since is not None and ts < self.since:
            return False
        return not (ts is not None and self.until is not None and ts > self.until)


ALL = Window()


def _lines(stream: IO[bytes], name: str, graph: DelegationGraph) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their numbers; over-long lines are skipped and counted."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            graph.skipped.append((Location(name, number), f"line over {MAX_LINE} bytes"))
            while line and not line.endswith(b"\n"):  # drain the rest of the line
                line = stream.readline(MAX_LINE)
            continue
        if line.strip():
            yield number, line


# --- audit logs --- #


def add_audit(
    graph: DelegationGraph,
    lines: Iterable[tuple[int, bytes]],
    name: str,
    window: Window = ALL,
) -> None:
    """Fold the records of one audit log (numbered lines) into ``graph``."""
    reader = RecordReader()  # repeated ancestors in chains are not validated again
    parse = reader.parse
    with graph.batch():
        _add_lines(graph, lines, name, window, parse)


def _add_lines(
    graph: DelegationGraph,
    lines: Iterable[tuple[int, bytes]],
    name: str,
    window: Window,
    parse: Callable[..., AuditRecord],
) -> None:
    for number, line in lines:
        where = Location(name, number)
        try:
            record = parse(line, where=f"{name}:{number}")
        except DelegationError as exc:
            graph.skipped.append((where, exc.message.removeprefix(f"{name}:{number}: ")))
            continue
        graph.records += 1
        _add_record(graph, record, where, window)


def _add_record(
    graph: DelegationGraph, record: AuditRecord, where: Location, window: Window
) -> None:
    event, ts, seq = record.event, record.ts, record.seq
    kind = event.event  # dispatch on the discriminator first: most records are these two
    if kind == "accept" or kind == "verify":
        _add_chain_event(graph, cast(VerifyEvent | AcceptEvent, event), ts, seq, where, window)
    elif isinstance(event, MintEvent | DelegateEvent):
        t = event.token
        if window.keeps(t.task, t.iat):
            hop = TokenHop.of_facts(t)
            hop.minted, hop.seq, hop.elevation = True, seq, event.elevation
            graph.add_token(hop, where=where)
    elif isinstance(event, RevokeEvent):
        if window.keeps(None, ts):  # kept whatever the task: they are few and decisive
            graph.revocations.append(
                Revocation(event.kind, event.value, ts, event.until, where, seq)
            )
    elif isinstance(event, TaskOpenEvent | TaskCloseEvent | ElevateEvent):
        if not window.keeps(event.task, None):
            return
        task = graph.tasks.setdefault(event.task, TaskFacts(event.task, where=where))
        if isinstance(event, TaskOpenEvent):
            task.opened, task.deadline = ts, event.deadline
        elif isinstance(event, TaskCloseEvent):
            task.closed = ts if task.closed is None else min(task.closed, ts)
        else:
            task.elevations.append((event.id, event.caps, event.granted_at, event.until))


def _add_chain_event(
    graph: DelegationGraph,
    event: VerifyEvent | AcceptEvent,
    ts: float,
    seq: int,
    where: Location,
    window: Window,
) -> None:
    chain = event.chain or ()
    leaf = chain[-1] if chain else None
    if not window.keeps(leaf.task if leaf else None, ts):
        return
    tokens = graph.tokens
    for facts in chain:
        known = tokens.get(facts.token_id)
        if known is None:
            hop = TokenHop.of_facts(facts)
            hop.seq = seq
            known = graph.add_token(hop, where=where)
        else:  # what add_token's merge of these facts would change, without a new hop
            if known.seq is None:
                known.seq = seq
            known.kid = known.kid or facts.kid
            known.cnf_kid = known.cnf_kid or facts.cnf_kid
            known.see(where)
        if event.allowed:
            known.verified = True
    if isinstance(event, VerifyEvent):
        _add_decision(graph, event, leaf, ts, where, seq)
    elif leaf is not None:
        graph.add_acceptance(
            Acceptance(leaf.token_id, event.audience, event.allowed, event.code, ts, where, seq),
            delegator=leaf.iss,
        )


def _add_decision(
    graph: DelegationGraph,
    event: VerifyEvent,
    leaf: object,
    ts: float,
    where: Location,
    seq: int,
) -> None:
    from ..audit import TokenFacts

    holder = leaf.sub if isinstance(leaf, TokenFacts) else None
    proof = event.proof
    if holder is None:
        # The chain could not be read: the proof, if parsed, still names who called.
        holder = proof.iss if proof is not None else None
    if holder is None or event.request is None:
        graph.skipped.append((where, f"a {event.code} decision names no caller or request"))
        return
    graph.add_invocation(
        Invocation(
            holder=holder,
            tool=event.request.tool,
            resource=event.request.resource,
            leaf=leaf.token_id if isinstance(leaf, TokenFacts) else None,
            task=leaf.task if isinstance(leaf, TokenFacts) else None,
            obo=leaf.obo if isinstance(leaf, TokenFacts) else None,
            ts=ts,
            allowed=event.allowed,
            code=event.code,
            audience=event.audience,
            proof_jti=proof.jti if proof is not None else None,
            proof_iss=proof.iss if proof is not None else None,
            hop=event.hop,
            where=where,
            seq=seq,
        )
    )


# --- chains --- #


def add_chains(
    graph: DelegationGraph,
    lines: Iterable[tuple[int, bytes]],
    name: str,
    window: Window = ALL,
    *,
    verified: bool = False,
) -> None:
    """Fold chains (one ``~``-joined chain per numbered line) into ``graph``."""
    with graph.batch():
        for number, line in lines:
            where = Location(name, number)
            try:
                text = line.decode("ascii").strip()
            except UnicodeDecodeError:
                graph.skipped.append((where, "not an ASCII chain"))
                continue
            graph.records += 1
            _add_chain(graph, text.split("~"), where, window, verified=verified)


def _add_chain(
    graph: DelegationGraph, raws: list[str], where: Location, window: Window, *, verified: bool
) -> None:
    parent: UnverifiedToken | None = None
    parent_key: PublicKey | None = None
    for i, raw in enumerate(raws):
        try:
            t = parse_jws(raw, DelegationClaims, what=f"token {i}")
        except DelegationError as exc:
            graph.skipped.append((where, exc.message))
            return  # what follows cannot be linked to anything read
        c: DelegationClaims = t.claims
        if not window.keeps(c.task, c.iat):
            return
        hop = TokenHop.of_token(t)
        hop.verified = verified
        key = _signer_key(graph.registry, t, parent, parent_key)
        if verified:
            hop.signature = "valid"
        elif key is not None:
            bad = signature_problem(t, key, hop=i, whose="its issuer's key")
            hop.signature = "valid" if bad is None else "invalid"
        pc: DelegationClaims | None = parent.claims if parent is not None else None
        if pc is not None or c.prf is None:  # a line starting below its root cannot judge act
            hop.act_ok = act_problem(c, pc, i) is None
        if parent is not None and parent_key is not None and c.rcpt is not None:
            hop.receipt_ok = (
                receipt_problem(
                    t,
                    parent,
                    parent_key,
                    i,
                    algorithms=_ALGS,
                    max_bytes=1 << 16,
                    skew=30,
                    required=False,
                )
                is None
            )
        elif c.rcpt is not None:
            hop.receipt_ok = False  # a receipt on a root grant accepts nothing
        graph.add_token(hop, where=where)
        parent = t
        try:
            parent_key = PublicKey.from_jwk(c.cnf.jwk)
        except DelegationError:
            parent_key = None


def _signer_key(
    registry: Registry | None,
    t: UnverifiedToken,
    parent: UnverifiedToken | None,
    parent_key: PublicKey | None,
) -> PublicKey | None:
    """The key the token must verify under: its parent's ``cnf``, or the root's registry key."""
    if parent is not None:
        return parent_key
    if registry is None:
        return None
    return registry.root_key(t.claims.iss, str(t.header.get("kid")))


# --- entry points --- #


def from_audit(
    paths: Iterable[str | Path], *, registry: Registry | None = None, window: Window = ALL
) -> DelegationGraph:
    """A graph from audit logs (several verifiers' logs merge into one graph)."""
    graph = DelegationGraph(registry)
    for path in paths:
        with _open(path) as stream:
            add_audit(graph, _lines(stream, str(path), graph), str(path), window)
    return graph


def from_chains(
    chains: Iterable[str], *, registry: Registry | None = None, window: Window = ALL
) -> DelegationGraph:
    """A graph from chains in their ``~``-joined wire form (read, never trusted)."""
    graph = DelegationGraph(registry)
    numbered = ((i, str(c).encode("ascii", "replace")) for i, c in enumerate(chains, 1))
    add_chains(graph, numbered, "<chains>", window)
    return graph


def from_verified(
    chains: Iterable[VerifiedChain], *, registry: Registry | None = None
) -> DelegationGraph:
    """A graph from chains a :class:`~delegation.Verifier` accepted (signatures valid)."""
    graph = DelegationGraph(registry)
    numbered = ((i, str(v.chain).encode("ascii")) for i, v in enumerate(chains, 1))
    add_chains(graph, numbered, "<verified>", verified=True)
    return graph


def load(
    inputs: Iterable[str], *, registry: Registry | None = None, window: Window = ALL
) -> DelegationGraph:
    """A graph from files (``-`` is stdin), each recognised by content as an audit log
    (JSON lines) or a chain file (one chain per line). Raises ``file_error``."""
    graph = DelegationGraph(registry)
    for name in inputs:
        with _open(name) as stream:
            head = _peek(stream)
            lines = _lines(stream, name, graph)
            if head == b"{":
                add_audit(graph, lines, name, window)
            else:
                add_chains(graph, lines, name, window)
    return graph


def _open(name: str | Path) -> IO[bytes]:
    if str(name) == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")
    except OSError as exc:
        raise read_error(exc, name, what="input") from None


def _peek(stream: IO[bytes]) -> bytes:
    """The first non-blank byte, without consuming the stream."""
    peek = getattr(stream, "peek", None)
    data = peek(4096) if peek is not None else b""
    return bytes(data).lstrip()[:1]
