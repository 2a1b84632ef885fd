"""``delegation audit verify``: check an audit log's hash chain and (``--key``) signatures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EXIT_DENIED, EXIT_OK, Subcommands, emit, wants_json
from ._values import load_public

__all__ = ["add_parser"]


def cmd_audit_verify(ns: argparse.Namespace) -> int:
    from delegation.audit import verify_log

    key = load_public(ns.key, agent=None) if ns.key is not None else None
    report = verify_log(ns.file, expect_head=ns.expect_head, key=key)
    payload: dict[str, Any] = {**report.to_dict(), "file": ns.file}
    if report.ok and report.records == 0:
        note = (
            "the log is empty: there is nothing to check, and nothing here can show whether "
            "records were removed; only --expect-head (the head recorded elsewhere) detects "
            "a truncated log"
        )
        payload.update(empty=True, note=note)
        emit(ns, payload, f"{ns.file}: empty, 0 records")
        if not wants_json(ns):
            print(f"note: {note}", file=sys.stderr)
        return EXIT_OK
    if report.ok:
        if key is not None:
            what = f"hash chain intact, every record signed by audit key {key.kid}"
        else:
            what = "hash chain intact (signatures not checked: a rewrite needs --key to be seen)"
        emit(ns, payload, f"{ns.file}: {report.records} records, {what} (head {report.head})")
        return EXIT_OK
    record = _line_of(ns.file, report.bad_line)
    payload["record"] = record
    text = f"{ns.file}: TAMPERED at line {report.bad_line}: {report.reason}"
    if record is not None:
        text += f"\n  record: {record}"
    emit(ns, payload, text)
    return EXIT_DENIED


def _line_of(path: str, number: int | None, limit: int = 300) -> str | None:
    if number is None:
        return None
    try:
        with open(path, "rb") as fh:
            for i, line in enumerate(fh, 1):
                if i == number:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    return text if len(text) <= limit else text[:limit] + "..."
    except OSError:
        return None
    return None


def add_parser(subparsers: Subcommands) -> None:
    audit = subparsers.group("audit", "check an audit log")
    p = audit.command(
        "verify", cmd_audit_verify, "check an audit log's hash chain (and its signatures)"
    )
    p.add_argument("file", metavar="FILE", help="the audit log (JSON lines)")
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the head hash recorded elsewhere: also catches edits of the last record "
        "and records dropped from the end (default: not checked)",
    )
    p.add_argument(
        "--key",
        metavar="PUB.json",
        help="the writer's public audit key: every record must be signed by it, which "
        "detects a rewritten log (default: signatures not checked)",
    )
