"""What every command group shares: the parser, output, exit codes and the state files.

A command group is a module with ``add_parser(subparsers: Subcommands) -> None``; it
declares its commands with :meth:`Subcommands.command` (a leaf with a handler) or
:meth:`Subcommands.group` (a command with subcommands, e.g. ``task open``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # the library loads when a command runs, not for the parser
    from rich.console import Console

    from delegation import JsonlAudit
    from delegation.stores import KVStore
    from delegation.tasks import Tasks

__all__ = [
    "DEFAULT_AUDIT",
    "DEFAULT_STORE",
    "EXIT_DENIED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Handler",
    "Parser",
    "State",
    "Subcommands",
    "UsageError",
    "console",
    "dump",
    "emit",
    "fail",
    "state_options",
    "wants_json",
]

DEFAULT_STORE = "sqlite:///delegation-store.sqlite"
DEFAULT_AUDIT = "delegation-audit.jsonl"

EXIT_OK, EXIT_DENIED, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """argparse refused the command line (raised instead of argparse's own exit)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


class Subcommands:
    """Where a command group adds its commands: a level of subcommands plus ``--json``."""

    def __init__(self, action: Any, common: Parser) -> None:
        self._action = action  # argparse's private _SubParsersAction
        self._common = common

    def command(self, name: str, handler: Handler, help_text: str) -> Parser:
        """A command that runs ``handler``; add its flags to the parser returned."""
        p: Parser = self._action.add_parser(
            name, parents=[self._common], help=help_text, description=help_text
        )
        p.set_defaults(handler=handler)
        return p

    def group(self, name: str, help_text: str) -> Subcommands:
        """A command made of subcommands (``task open``, ``task close``)."""
        p: Parser = self._action.add_parser(
            name, parents=[self._common], help=help_text, description=help_text
        )
        dest = f"{name}_command"
        return Subcommands(
            p.add_subparsers(dest=dest, required=True, metavar="COMMAND"), self._common
        )


# --- output --- #


def dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def wants_json(ns: argparse.Namespace) -> bool:
    return bool(getattr(ns, "json", False))


def emit(ns: argparse.Namespace, payload: dict[str, Any], text: str | None) -> None:
    """Print the command's result: the JSON object, or the text (if any)."""
    if wants_json(ns):
        print(dump(payload))
    elif text is not None:
        print(text)


def fail(as_json: bool, code: str, message: str) -> int:
    """Report an error (one line, or one JSON object) and return the usage exit code."""
    message = " ".join(message.split())  # one line, always
    if as_json:
        print(dump({"ok": False, "code": code, "message": message}))
    else:
        print(f"error: {code}: {message}", file=sys.stderr)
    return EXIT_USAGE


def console() -> Console:
    """A rich console on stdout whose broken pipe reaches ``main`` (rich would exit 1)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console(highlight=False)


# --- state: the store and the audit log --- #


def state_options(p: Parser, *, store: str, audit: str) -> None:
    """``--store`` and ``--audit``, with the defaults every command shares.

    ``store`` and ``audit`` say what the command does with them (for ``--help``).
    """
    p.add_argument(
        "--store",
        default=os.environ.get("DELEGATION_STORE") or DEFAULT_STORE,
        metavar="URL",
        help=f"{store} (default: $DELEGATION_STORE, else {DEFAULT_STORE})",
    )
    p.add_argument(
        "--audit",
        default=os.environ.get("DELEGATION_AUDIT") or DEFAULT_AUDIT,
        metavar="FILE",
        help=f"{audit} (default: $DELEGATION_AUDIT, else ./{DEFAULT_AUDIT})",
    )
    p.add_argument(
        "--audit-key",
        default=os.environ.get("DELEGATION_AUDIT_KEY") or None,
        metavar="KEY.json",
        help="sign every audit record with this Ed25519 key ('audit verify --key' checks "
        "them; default: $DELEGATION_AUDIT_KEY, else unsigned)",
    )


def _store_file(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL (None for other stores)."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    return Path(path) if path else None


class State:
    """The store and audit log of a command, opened on first use and closed on exit.

    ``with State(store_url, audit_path, audit_key) as state:`` then ``state.store``,
    ``state.audit`` (signed when ``audit_key`` names a key file) and ``state.tasks``; the
    store is opened only if asked for (so an input error found first leaves nothing
    behind) and closed when the block ends, whatever happens. A store file or audit log
    that the command created is named on stderr.
    """

    def __init__(self, store: str, audit: str, audit_key: str | None = None) -> None:
        from delegation.keys import AgentKey

        # The key file is read first: a bad one is an input error, before anything is opened.
        self._audit_key = AgentKey.load(audit_key) if audit_key else None
        self.store_url = store
        self.audit_path = audit
        self._store: KVStore | None = None
        self._audit: JsonlAudit | None = None
        files = {"store": _store_file(store), "audit log": Path(audit)}
        self._new = {what: f for what, f in files.items() if f is not None and not f.exists()}

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> KVStore:
        if self._store is None:
            from delegation.stores import open_store

            self._store = open_store(self.store_url)
        return self._store

    @property
    def audit(self) -> JsonlAudit:
        if self._audit is None:
            from delegation.audit import JsonlAudit

            self._audit = JsonlAudit(self.audit_path, key=self._audit_key)
        return self._audit

    @property
    def tasks(self) -> Tasks:
        from delegation.tasks import Tasks

        return Tasks(self.store, audit=self.audit)

    def close(self) -> None:
        close = getattr(self._store, "close", None)
        if callable(close):
            close()
        self._store = None
        for what, path in self._new.items():
            if path.exists():
                print(f"note: created the {what} {path.resolve()}", file=sys.stderr)
        self._new = {}
