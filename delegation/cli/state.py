"""``delegation revoke`` and ``delegation task open|close``: the shared state of a deployment."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from delegation.errors import DelegationError, InvalidInput

if TYPE_CHECKING:
    from delegation.audit import TokenFacts
    from delegation.stores import RevocationKind

from ._common import EXIT_OK, State, Subcommands, emit, state_options, wants_json
from ._values import iso, parse_duration

__all__ = ["add_parser"]


def cmd_revoke(ns: argparse.Namespace) -> int:
    from delegation.stores import RevocationKind

    kinds: tuple[RevocationKind, ...] = get_args(RevocationKind)
    kind, value = next((k, v) for k in kinds if (v := getattr(ns, k)) is not None)
    if not value.strip():
        raise InvalidInput(f"--{kind} needs a non-empty value")
    until = time.time() + parse_duration(ns.ttl) if ns.ttl is not None else None
    with State(ns.store, ns.audit, ns.audit_key) as state:
        known = _known(state, kind, value)  # before the revoke event joins the log
        state.tasks.revoke(kind, value, until=until, reason=ns.reason)
    payload: dict[str, object] = {
        "ok": True,
        "revoked": {"kind": kind, "value": value, "until": until},
        "store": ns.store,
        "known": known,
    }
    if not known:
        # Revoking ahead of time is legitimate, but so is a typo: say which this may be.
        note = (
            f"{kind} {value} appears neither in the store nor in the audit log {ns.audit}: "
            "revoked ahead of time (check the value if you meant one already issued)"
        )
        payload["note"] = note
        if not wants_json(ns):
            print(f"note: {note}", file=sys.stderr)
    emit(ns, payload, f"revoked {kind} {value} in {ns.store} (recorded in {ns.audit})")
    return EXIT_OK


def _known(state: State, kind: RevocationKind, value: str) -> bool:
    """Whether the store or the audit log has ever seen ``value`` as a ``kind``."""
    if kind == "task" and state.tasks.get(value) is not None:
        return True
    if state.store.first_revoked([(kind, value)], time.time()) is not None:
        return True
    if not Path(state.audit_path).is_file():
        return False
    from delegation.audit import read_log

    try:
        return any(_names(record.event, kind, value) for record in read_log(state.audit_path))
    except DelegationError:  # a damaged log cannot vouch either way; audit verify says why
        return False


def _names(event: object, kind: RevocationKind, value: str) -> bool:
    if kind == "task" and getattr(event, "task", None) == value:
        return True
    return any(value in _facts(t, kind) for t in _tokens(event))


def _tokens(event: object) -> Iterator[TokenFacts]:
    from delegation.audit import AcceptEvent, DelegateEvent, MintEvent, VerifyEvent

    if isinstance(event, MintEvent | DelegateEvent):
        yield event.token
    elif isinstance(event, VerifyEvent | AcceptEvent):
        yield from event.chain or ()


def _facts(t: TokenFacts, kind: RevocationKind) -> tuple[str | None, ...]:
    return {
        "token": (t.token_id,),
        "jti": (t.jti,),
        "task": (t.task,),
        "key": (t.kid, t.cnf_kid),
    }[kind]


def cmd_task_open(ns: argparse.Namespace) -> int:
    ttl = parse_duration(ns.deadline)
    with State(ns.store, ns.audit, ns.audit_key) as state:
        info = state.tasks.open(ns.task, ttl=ttl, owner=ns.owner, purpose=ns.purpose)
    payload = {"ok": True, "task": info.to_dict(), "store": ns.store}
    emit(ns, payload, f"task {info.task} open until {iso(int(info.deadline))}")
    return EXIT_OK


def cmd_task_close(ns: argparse.Namespace) -> int:
    with State(ns.store, ns.audit, ns.audit_key) as state:
        state.tasks.close(ns.task, reason=ns.reason)
    payload = {"ok": True, "closed": ns.task, "store": ns.store}
    emit(ns, payload, f"task {ns.task} closed: every chain of it is now revoked")
    return EXIT_OK


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command("revoke", cmd_revoke, "revoke a token, jti, task or key")
    state_options(p, store="where the revocation is recorded", audit="audit log")
    p.add_argument("--reason", metavar="TEXT", help="recorded in the audit log (default: none)")
    p.add_argument(
        "--ttl",
        metavar="DUR",
        help="how long the revocation must last (e.g. the token's remaining lifetime); "
        "default: for good",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", metavar="ID", help="token id (revokes every chain below)")
    which.add_argument("--jti", metavar="J", help="a token's jti claim")
    which.add_argument("--task", metavar="T", help="task id (every chain of the task)")
    which.add_argument("--key", metavar="KID", help="key thumbprint")

    task = subparsers.group("task", "open or close a task (JIT)")
    p = task.command("open", cmd_task_open, "open a task until a deadline")
    p.add_argument("--task", required=True, metavar="T", help="task id")
    p.add_argument(
        "--deadline",
        required=True,
        metavar="DUR",
        help="how long the task stays open, e.g. 30m, 2h (at most 30d)",
    )
    p.add_argument("--owner", metavar="ID", help="who opened it (recorded; default: none)")
    p.add_argument("--purpose", metavar="TEXT", help="why (recorded; default: none)")
    state_options(p, store="where the task is recorded", audit="audit log")
    p = task.command("close", cmd_task_close, "close a task: revoke all its chains")
    p.add_argument("--task", required=True, metavar="T", help="task id")
    p.add_argument("--reason", metavar="TEXT", help="recorded in the audit log (default: none)")
    state_options(p, store="where the task is recorded", audit="audit log")
