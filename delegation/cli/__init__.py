"""The ``delegation`` command: keys, registries, minting, proving, verifying, auditing.

A thin edge over the public API (docs/cli.md). Conventions:

* Exit codes: 0 success / allowed; 1 ``verify`` denied or ``audit verify`` found tampering
  (or ``demo`` saw a step misbehave); 2 usage or input error (bad flag, missing file,
  malformed key, garbage chain given to a command other than ``verify``, bad duration,
  capability or ``--arg``); 130 interrupted; 141 stdout closed early (broken pipe).
* ``--json`` (before or after the subcommand) prints exactly one JSON object on stdout,
  for errors too: ``{"ok": false, "code": "<code>", "message": "..."}``. Without it,
  results go to stdout and an error is one line on stderr: ``error: <code>: <message>``.
  Usage errors use the code ``usage_error``.
* ``verify``: a store that cannot be opened or read is a denial (``store_unavailable``,
  exit 1), as in the library. A chain given to ``verify`` is judged, not merely read, so a
  garbage chain there is a denial (``malformed``, exit 1), audited like every decision. On allow it
  prints ``allowed: ...`` (text) or ``{"ok": true, ...}`` (``VerifiedChain.to_dict()``,
  with the policy's verdict under ``decision``); on deny ``denied: <code>: <message>`` on
  stderr, or ``{"ok": false, "code", "message", "hop"?, "claim"?}``. Either way the policy
  in force is named: a ``policy: <digest>`` line on stderr, or ``"policy": "<digest>"``
  in the JSON object (``chain-grants-only`` without ``--policy``). ``--policy FILE`` loads
  the rules engine (JSON/YAML) or, for ``.cedar``, Cedar; ``--label K=V`` passes request
  labels to it.
* Durations: ``90s``, ``10m``, ``1h``, ``2d`` or plain seconds. Capabilities:
  ``TOOL[:RESOURCE]`` or a JSON object. ``--arg K=V``: V is JSON when it parses as JSON
  (``10``, ``true``, ``"x"``, ``[1,2]``), else a plain string. ``FILE|-``: ``-`` is stdin.
* Times (``verify --at``): POSIX seconds or ISO-8601; an ISO time without a zone is UTC.
* ``keygen`` never overwrites a key file unless ``--force`` is given.
* Set ``DELEGATION_DEBUG=1`` to get a traceback instead of ``internal_error`` on a bug.

Layout: one module per command group (``keys``: keygen, registry; ``tokens``: mint,
delegate, prove, inspect; ``verify``; ``state``: revoke, task; ``audit``; ``demo``), each
with an ``add_parser(subparsers)``; ``_common`` holds the parser class, output helpers and
the :class:`~delegation.cli._common.State` context manager for the store and audit log;
``_values`` the value parsers. A new group is a module plus one entry in
``COMMAND_GROUPS``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings

import delegation
from delegation.errors import DelegationError, InternalError

from . import audit, demo, graph, keys, state, tokens, verify
from ._common import EXIT_OK, Parser, Subcommands, UsageError, fail, wants_json
from ._values import parse_args_kv, parse_duration, parse_time

__all__ = ["main", "parse_args_kv", "parse_duration", "parse_time"]

# One line per command group: each module adds its commands to the parser.
COMMAND_GROUPS = (keys, tokens, verify, state, audit, graph, demo)

# Flags whose value may start with "-" (a negative duration is a bad duration, which
# argparse would otherwise report as a missing value).
_SIGNED_VALUES = frozenset({"--ttl", "--deadline"})


def _join_signed_values(args: list[str]) -> list[str]:
    out: list[str] = []
    for arg in args:
        if out and out[-1] in _SIGNED_VALUES and arg[:1] == "-" and arg[1:2].isdigit():
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def build_parser() -> Parser:
    """The whole command line: ``--json``/``--version``, then every group's commands."""
    common = Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print exactly one JSON object on stdout",
    )
    parser = Parser(
        prog="delegation",
        description="Signed, attenuated delegation tokens for multi-agent systems.",
        parents=[common],
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    subparsers = Subcommands(
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"), common
    )
    for group in COMMAND_GROUPS:
        group.add_parser(subparsers)
    return parser


class _Version(argparse.Action):
    """``--version``: the installed version, read (importlib.metadata) only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=str(kwargs.get("help"))
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        sys.stdout.write(f"delegation {delegation.__version__}\n")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    """Run the ``delegation`` command; return its exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in args
    try:
        try:
            ns = build_parser().parse_args(_join_signed_values(args))
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        as_json = wants_json(ns)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code: int = ns.handler(ns)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        return code
    except UsageError as exc:
        return fail(as_json, "usage_error", str(exc))
    except DelegationError as exc:
        return fail(as_json, exc.code, exc.message)
    except KeyboardInterrupt:
        if argv is None and threading.current_thread() is threading.main_thread():
            # this process is the command, and it is over: a second Ctrl-C while the
            # interpreter exits would kill it by the signal (no status 130); ignore it
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:
        if os.environ.get("DELEGATION_DEBUG"):
            raise
        err = InternalError(f"unexpected {type(exc).__name__}: {exc}")
        return fail(as_json, err.code, err.message)
