"""The ``delegation`` command: keys, registries, minting, proving, verifying, auditing.

A thin edge over the public API (DESIGN "CLI contract"). Conventions:

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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from delegation import (
    AgentKey,
    Capability,
    CedarPolicy,
    Chain,
    ChainGrantsOnly,
    DelegationError,
    Delegator,
    FileError,
    FixedClock,
    InternalError,
    InvalidCapability,
    InvalidInput,
    InvalidKey,
    InvalidRequest,
    JsonlAudit,
    Policy,
    PublicKey,
    Registry,
    Request,
    RulesPolicy,
    StoreUnavailable,
    TokenRejected,
    Verifier,
    __version__,
    open_store,
    parse_unverified,
    verify_log,
)
from delegation._files import read_text
from delegation.audit import VerifyEvent
from delegation.stores import KVStore
from delegation.tasks import Tasks

if TYPE_CHECKING:
    from rich.console import Console

    from delegation import UnverifiedToken

__all__ = ["main", "parse_args_kv", "parse_duration", "parse_time"]

DEFAULT_STORE = "sqlite:///delegation-store.sqlite"
DEFAULT_AUDIT = "delegation-audit.jsonl"
POLICY_IN_FORCE = "chain-grants-only"

_EXIT_OK, _EXIT_DENIED, _EXIT_USAGE = 0, 1, 2
_DURATION = re.compile(r"(\d{1,12})([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_RevocationKind = Literal["token", "jti", "task", "key"]
_REVOCATION_KINDS: tuple[_RevocationKind, ...] = ("token", "jti", "task", "key")


class _UsageError(Exception):
    """argparse refused the command line (raised instead of argparse's own exit)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# --- value parsers (public so tests and scripts can share the rules) --- #


def parse_duration(text: str) -> int:
    """Seconds in ``90s``, ``10m``, ``1h``, ``2d`` or ``600``. Raises ``InvalidInput``.

    >>> parse_duration("10m"), parse_duration("90")
    (600, 90)
    """
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise InvalidInput(f"invalid duration {text!r} (use 90s, 10m, 1h, 2d or seconds)")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise InvalidInput(f"duration {text!r} must be positive")
    return seconds


def parse_time(text: str) -> float:
    """POSIX seconds from ``1764331200`` or ISO-8601 (UTC when no zone). Raises ``InvalidInput``.

    >>> parse_time("2027-01-15T08:00:00Z")
    1800000000.0
    """
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(f"invalid time {text!r} (a non-negative POSIX timestamp)")
        return value
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"invalid time {text!r} (POSIX seconds or ISO-8601, e.g. 2027-01-15T08:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse_args_kv(items: Sequence[str]) -> dict[str, Any]:
    """Request arguments from ``K=V`` strings; V is JSON when it parses, else a string.

    >>> parse_args_kv(["max_rows=10", "region=eu", 'tags=["a"]'])
    {'max_rows': 10, 'region': 'eu', 'tags': ['a']}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidRequest(f"--arg {item!r} must look like NAME=VALUE")
        if key in out:
            raise InvalidRequest(f"--arg {key!r} is given more than once")
        try:
            out[key] = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            out[key] = raw
    return out


# --- small helpers --- #


def _read_input(source: str, *, what: str) -> str:
    """The stripped text of a file, or of stdin for ``-``."""
    if source == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError:
            raise FileError(f"{what} on stdin is not UTF-8 text") from None
    else:
        text = read_text(source, what=what)
    text = text.strip()
    if not text:
        raise FileError(f"{what} is empty: {source}")
    return text


def _read_chain(source: str) -> Chain:
    return Chain.parse(_read_input(source, what="chain"))


def _load_public(path: str, *, agent: str | None) -> PublicKey:
    """A public key file; when it names an agent, it must be ``agent``."""
    try:
        data = json.loads(_read_input(path, what="public key file"))
    except ValueError:
        raise InvalidKey(f"public key file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidKey(f"public key file {path} must hold one JSON object (a public JWK)")
    try:
        key = PublicKey.from_jwk(data)
    except InvalidKey as exc:
        hint = " (pass the public key file, not the private one)" if "private" in str(exc) else ""
        raise InvalidKey(f"public key file {path}: {exc.message}{hint}") from None
    named = data.get("agent")
    if agent is not None and named is not None and named != agent:
        raise InvalidKey(f"public key file {path} belongs to {named}, not {agent}")
    return key


def _caps(values: Sequence[str]) -> list[Capability]:
    if not values:
        raise InvalidCapability("give at least one --cap")
    return [Capability.parse(v) for v in values]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _emit(ns: argparse.Namespace, payload: dict[str, Any], text: str | None) -> None:
    """Print the command's result: the JSON object, or the text (if any)."""
    if _wants_json(ns):
        print(_dump(payload))
    elif text is not None:
        print(text)


def _wants_json(ns: argparse.Namespace) -> bool:
    return bool(getattr(ns, "json", False))


def _chain_summary(chain: Chain) -> dict[str, Any]:
    leaf: UnverifiedToken = parse_unverified(chain)[-1]
    return {
        "ok": True,
        "chain": str(chain),
        "hops": len(chain),
        "token_id": leaf.token_id,
        "holder": leaf.claims.sub,
        "task": leaf.claims.task,
        "obo": leaf.claims.obo,
        "depth": leaf.claims.dpth,
        "expires_at": leaf.claims.exp,
    }


# --- commands --- #


def _cmd_keygen(ns: argparse.Namespace) -> int:
    out = Path(ns.out)
    pub = Path(ns.public_out) if ns.public_out else None
    if not ns.force:
        for p in (out, pub):
            if p is not None and p.exists():
                raise FileError(f"{p} exists; refusing to overwrite a key (use --force)")
    key = AgentKey.generate(ns.agent, alg=ns.alg)
    key.save(out, public_path=pub)
    payload = {
        "ok": True,
        "agent": key.agent,
        "alg": key.alg,
        "kid": key.kid,
        "key": str(out),
        "public_key": str(pub) if pub else None,
    }
    text = f"wrote {out} (private, mode 0600): {key.alg} key {key.kid} for {key.agent}"
    if pub:
        text += f"\nwrote {pub} (public)"
    _emit(ns, payload, text)
    return _EXIT_OK


def _open_registry(path: str) -> Registry:
    return Registry.load(path) if Path(path).exists() else Registry()


def _cmd_registry_add(ns: argparse.Namespace) -> int:
    root = ns.registry_command == "add-root"
    reg = _open_registry(ns.registry)
    key = _load_public(ns.key, agent=ns.agent)
    if root:
        reg.add_root(ns.agent, key)
    else:
        baseline = [Capability.parse(c) for c in ns.baseline] if ns.baseline else None
        reg.add_agent(ns.agent, key, role=ns.role, baseline=baseline)
    reg.save(ns.registry)
    kind = "root" if root else "agent"
    payload = {"ok": True, "registry": ns.registry, "kind": kind, "agent": ns.agent, "kid": key.kid}
    _emit(ns, payload, f"added {kind} {ns.agent} (key {key.kid}) to {ns.registry}")
    return _EXIT_OK


def _governed(ns: argparse.Namespace, key: AgentKey) -> tuple[Delegator, Callable[[], None]]:
    """The Delegator for mint/delegate: with --store, tasks must be open and lifetimes are
    clipped to their deadlines; with --audit, the new token is recorded; with --registry,
    receivers' baselines bound the grant (elevations of the task excepted)."""
    store = open_store(ns.store) if ns.store is not None else None
    audit = JsonlAudit(ns.audit) if ns.audit is not None else None
    tasks = Tasks(store, audit=audit) if store is not None else None
    registry = Registry.load(ns.registry) if ns.registry is not None else None
    delegator = Delegator(key, tasks=tasks, audit=audit, registry=registry)
    return delegator, (lambda: _close(store))


def _cmd_mint(ns: argparse.Namespace) -> int:
    caps, ttl = _caps(ns.cap), parse_duration(ns.ttl)  # flags first, then files
    key = AgentKey.load(ns.key)
    to_key = _load_public(ns.to_key, agent=ns.to)
    delegator, done = _governed(ns, key)
    try:
        chain = delegator.mint(
            to=ns.to,
            to_key=to_key,
            caps=caps,
            ttl=ttl,
            depth=ns.depth,
            task=ns.task,
            obo=ns.obo,
            purpose=ns.purpose,
        )
    finally:
        done()
    _emit(ns, _chain_summary(chain), str(chain))
    return _EXIT_OK


def _cmd_delegate(ns: argparse.Namespace) -> int:
    caps, ttl = _caps(ns.cap), parse_duration(ns.ttl)
    chain = _read_chain(ns.chain)
    key = AgentKey.load(ns.key)
    to_key = _load_public(ns.to_key, agent=ns.to)
    delegator, done = _governed(ns, key)
    try:
        longer = delegator.delegate(
            chain,
            to=ns.to,
            to_key=to_key,
            caps=caps,
            ttl=ttl,
            depth=ns.depth,
            purpose=ns.purpose,
        )
    finally:
        done()
    _emit(ns, _chain_summary(longer), str(longer))
    return _EXIT_OK


def _cmd_prove(ns: argparse.Namespace) -> int:
    args = parse_args_kv(ns.arg or [])
    chain = _read_chain(ns.chain)
    key = AgentKey.load(ns.key)
    proof = Delegator(key).prove(chain, aud=ns.aud, tool=ns.tool, resource=ns.resource, args=args)
    payload = {
        "ok": True,
        "proof": proof,
        "holder": key.agent,
        "aud": ns.aud,
        "tool": ns.tool,
        "resource": ns.resource,
    }
    _emit(ns, payload, proof)
    return _EXIT_OK


def _load_policy(path: str | None) -> Policy:
    """``--policy``: a ``.cedar`` file is Cedar, anything else the rules engine (JSON/YAML)."""
    if path is None:
        return ChainGrantsOnly()
    if path.endswith(".cedar"):
        return CedarPolicy.load(path)
    return RulesPolicy.load(path)


def _cmd_verify(ns: argparse.Namespace) -> int:
    if ns.chain == "-" and ns.proof == "-":
        raise InvalidInput("only one of --chain and --proof can be read from stdin")
    # Flags, then files, then the stores: an input error leaves no store or log behind.
    request = Request(tool=ns.tool, resource=ns.resource, args=parse_args_kv(ns.arg or []))
    labels = parse_args_kv(ns.label or [])
    clock = FixedClock(parse_time(ns.at)) if ns.at is not None else None
    chain_text = _read_input(ns.chain, what="chain")
    proof = _read_input(ns.proof, what="proof")
    registry = Registry.load(ns.registry)
    policy = _load_policy(ns.policy)
    try:
        store = open_store(ns.store)
    except StoreUnavailable as exc:  # verification cannot check revocation or replay: deny
        JsonlAudit(ns.audit).append(
            VerifyEvent(audience=ns.aud, decision="deny", code=exc.code, message=exc.message)
        )
        return _denied(ns, exc, policy)
    try:
        verifier = Verifier(
            registry=registry,
            audience=ns.aud,
            policy=policy,
            revocations=store,
            replay=store,
            audit=JsonlAudit(ns.audit),
            clock=clock,
        )
        try:
            verified = verifier.verify(chain_text, proof, request, labels=labels)
        except (TokenRejected, InternalError, StoreUnavailable) as exc:
            return _denied(ns, exc, policy)
    finally:
        _close(store)
    payload = verified.to_dict()
    payload["policy"] = policy.digest
    if _wants_json(ns):
        print(_dump(payload))
    else:
        _policy_note(policy)
        more = verified.remaining_depth
        print(
            f"allowed: {verified.holder} may {request.tool} {request.resource}\n"
            f"  path:    {' -> '.join(verified.path)}\n"
            f"  task:    {verified.task}   obo: {verified.obo or '-'}\n"
            f"  depth:   {verified.depth} hop(s), {more} more allowed\n"
            f"  expires: {_iso(verified.expires_at)}"
        )
    return _EXIT_OK


def _policy_note(policy: Policy) -> None:
    if policy.digest == POLICY_IN_FORCE:
        print(
            f"policy: {POLICY_IN_FORCE} (the chain's grants are the whole policy)", file=sys.stderr
        )
    else:
        print(f"policy: {policy.digest}", file=sys.stderr)


def _denied(ns: argparse.Namespace, exc: DelegationError, policy: Policy | None = None) -> int:
    policy = policy or ChainGrantsOnly()
    if _wants_json(ns):
        print(_dump({**exc.to_dict(), "policy": policy.digest}))
    else:
        _policy_note(policy)
        print(f"denied: {exc.code}: {exc.message}", file=sys.stderr)
    return _EXIT_DENIED


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


def _tasks(ns: argparse.Namespace) -> tuple[Tasks, KVStore]:
    store = open_store(ns.store)
    return Tasks(store, audit=JsonlAudit(ns.audit)), store


def _cmd_revoke(ns: argparse.Namespace) -> int:
    kind, value = next((k, v) for k in _REVOCATION_KINDS if (v := getattr(ns, k)) is not None)
    if not value.strip():
        raise InvalidInput(f"--{kind} needs a non-empty value")
    until = time.time() + parse_duration(ns.ttl) if ns.ttl is not None else None
    tasks, store = _tasks(ns)
    try:
        tasks.revoke(kind, value, until=until, reason=ns.reason)
    finally:
        _close(store)
    payload = {
        "ok": True,
        "revoked": {"kind": kind, "value": value, "until": until},
        "store": ns.store,
    }
    _emit(ns, payload, f"revoked {kind} {value} in {ns.store} (recorded in {ns.audit})")
    return _EXIT_OK


def _cmd_task_open(ns: argparse.Namespace) -> int:
    ttl = parse_duration(ns.deadline)
    tasks, store = _tasks(ns)
    try:
        info = tasks.open(ns.task, ttl=ttl, owner=ns.owner, purpose=ns.purpose)
    finally:
        _close(store)
    payload = {"ok": True, "task": info.to_dict(), "store": ns.store}
    _emit(ns, payload, f"task {info.task} open until {_iso(int(info.deadline))}")
    return _EXIT_OK


def _cmd_task_close(ns: argparse.Namespace) -> int:
    tasks, store = _tasks(ns)
    try:
        tasks.close(ns.task, reason=ns.reason)
    finally:
        _close(store)
    payload = {"ok": True, "closed": ns.task, "store": ns.store}
    _emit(ns, payload, f"task {ns.task} closed: every chain of it is now revoked")
    return _EXIT_OK


def _cmd_audit_verify(ns: argparse.Namespace) -> int:
    report = verify_log(ns.file, expect_head=ns.expect_head)
    payload: dict[str, Any] = {**report.to_dict(), "file": ns.file}
    if report.ok:
        _emit(
            ns,
            payload,
            f"{ns.file}: {report.records} records, hash chain intact (head {report.head})",
        )
        return _EXIT_OK
    record = _line_of(ns.file, report.bad_line)
    payload["record"] = record
    text = f"{ns.file}: TAMPERED at line {report.bad_line}: {report.reason}"
    if record is not None:
        text += f"\n  record: {record}"
    _emit(ns, payload, text)
    return _EXIT_DENIED


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


def _console() -> Console:
    """A rich console on stdout whose broken pipe reaches ``main`` (rich would exit 1)."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _Console(highlight=False)


def _cmd_inspect(ns: argparse.Namespace) -> int:
    chain = _read_chain(ns.chain)
    tokens = parse_unverified(chain)
    if _wants_json(ns):
        hops = [
            {"hop": i, "token_id": t.token_id, "header": t.header, "claims": t.claims.to_payload()}
            for i, t in enumerate(tokens)
        ]
        print(_dump({"ok": True, "verified": False, "hops": hops}))
        return _EXIT_OK
    _draw_chain(tokens)
    return _EXIT_OK


def _draw_chain(tokens: list[UnverifiedToken]) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    now = datetime.now(UTC).timestamp()
    console = _console()
    console.print(
        "[bold yellow]UNVERIFIED[/]: parsed only; signatures, links, times and revocation "
        "were not checked (use 'delegation verify')"
    )
    root = Tree(f"[bold]delegation chain[/], {len(tokens)} hop(s), root first")
    node = root
    for i, t in enumerate(tokens):
        c = t.claims
        hop = node.add(f"[bold]hop {i}[/]  {escape(c.iss)} [bold]→[/] {escape(c.sub)}")
        hop.add(
            f"token  {t.token_id[:12]}...  (jti {escape(c.jti[:12])}..., "
            f"{escape(str(t.header.get('alg')))})"
        )
        caps = hop.add("caps")
        for cap in c.caps:
            caps.add(escape(str(cap)))
        hop.add(f"task   {escape(c.task)}   obo {escape(c.obo or '-')}")
        hop.add(f"depth  {c.dpth} further hop(s) allowed")
        state = "  [bold red]expired[/]" if c.exp <= now else ""
        start = c.nbf if c.nbf is not None else c.iat
        hop.add(f"valid  {_iso(start)} → {_iso(c.exp)} ({c.exp - c.iat}s){state}")
        if c.pur:
            hop.add(f"purpose  {escape(c.pur)}")
        hop.add(f"receipt  {'present' if c.rcpt is not None else 'none'}")
        node = hop
    console.print(root)


def _cmd_demo(ns: argparse.Namespace) -> int:
    from delegation._demo import play_demo, run_demo

    out = Path(ns.out) if ns.out else None
    if _wants_json(ns):
        report = play_demo(out)
        print(_dump(report.to_dict()))
        return _EXIT_OK if report.ok else _EXIT_DENIED
    return run_demo(out, _console())


# --- the parser --- #


def _build_parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print exactly one JSON object on stdout",
    )

    parser = _Parser(
        prog="delegation",
        description="Signed, attenuated delegation tokens for multi-agent systems.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"delegation {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        group: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str
    ) -> _Parser:
        p: _Parser = group.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def chain_opt(p: _Parser) -> None:
        p.add_argument("--chain", required=True, metavar="FILE|-", help="chain file, - = stdin")

    def grant_opts(p: _Parser) -> None:
        p.add_argument("--key", required=True, metavar="KEY.json", help="your private key file")
        p.add_argument("--to", required=True, metavar="ID", help="the receiving agent's id")
        p.add_argument(
            "--to-key",
            required=True,
            metavar="PUB.json",
            help="the receiving agent's public key file",
        )
        p.add_argument(
            "--cap",
            action="append",
            required=True,
            metavar="CAP",
            help="TOOL[:RESOURCE] or a JSON capability (repeatable)",
        )
        p.add_argument("--ttl", required=True, metavar="DUR", help="lifetime: 90s, 10m, 1h")
        p.add_argument("--purpose", metavar="TEXT", help="free-text purpose (pur)")

    def request_opts(p: _Parser) -> None:
        p.add_argument("--aud", required=True, metavar="ID", help="the verifying agent or tool")
        p.add_argument("--tool", required=True, metavar="T")
        p.add_argument("--resource", required=True, metavar="R")
        p.add_argument(
            "--arg",
            action="append",
            metavar="K=V",
            help="request argument; V is JSON when it parses (repeatable)",
        )

    p = command(sub, "keygen", _cmd_keygen, "generate an agent key pair")
    p.add_argument("--agent", required=True, metavar="ID")
    p.add_argument("--alg", choices=["EdDSA", "ES256"], default="EdDSA")
    p.add_argument("--out", required=True, metavar="KEY.json")
    p.add_argument("--public-out", metavar="PUB.json")
    p.add_argument("--force", action="store_true", help="overwrite existing key files")

    reg = sub.add_parser("registry", parents=[common], help="edit a registry file")
    reg_sub = reg.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    for name, what in (
        ("add-root", "trust a root (orchestrator) key"),
        ("add-agent", "register an agent key"),
    ):
        p = command(reg_sub, name, _cmd_registry_add, f"{what} (creates REG.json if absent)")
        p.add_argument("--registry", required=True, metavar="REG.json")
        p.add_argument("--agent", required=True, metavar="ID")
        p.add_argument("--key", required=True, metavar="PUB.json")
        if name == "add-agent":
            p.add_argument("--role", metavar="R")
            p.add_argument(
                "--baseline",
                action="extend",
                nargs="+",
                metavar="CAP",
                help="what the agent is meant to be able to do",
            )

    def governance_opts(p: _Parser) -> None:
        p.add_argument(
            "--store",
            metavar="URL",
            help="task store: the task must be open, lifetimes end at its deadline",
        )
        p.add_argument("--audit", metavar="FILE", help="record the new token in this audit log")
        p.add_argument(
            "--registry",
            metavar="REG.json",
            help="bound the grant by the receiver's baseline (an elevation of the task excepted)",
        )

    p = command(sub, "mint", _cmd_mint, "mint a root grant (prints the chain)")
    grant_opts(p)
    governance_opts(p)
    p.add_argument(
        "--depth",
        type=int,
        default=0,
        metavar="N",
        help="further hops the receiver may delegate (default 0)",
    )
    p.add_argument("--task", metavar="T", help="task id (default: a fresh one)")
    p.add_argument("--obo", metavar="P", help="principal the chain acts for")

    p = command(sub, "delegate", _cmd_delegate, "hand a narrower slice of a chain on")
    chain_opt(p)
    grant_opts(p)
    governance_opts(p)
    p.add_argument(
        "--depth",
        type=int,
        default=None,
        metavar="N",
        help="further hops allowed (default: the parent's minus one)",
    )

    p = command(sub, "prove", _cmd_prove, "sign a single-use proof for one request")
    chain_opt(p)
    p.add_argument("--key", required=True, metavar="KEY.json", help="the holder's private key")
    request_opts(p)

    p = command(sub, "verify", _cmd_verify, "verify a chain and proof for one request")
    chain_opt(p)
    p.add_argument("--proof", required=True, metavar="FILE|-")
    p.add_argument("--registry", required=True, metavar="REG.json")
    request_opts(p)
    p.add_argument(
        "--policy",
        metavar="FILE",
        help="this verifier's policy: rules (.json/.yaml) or Cedar (.cedar); "
        "default: the chain's grants only",
    )
    p.add_argument(
        "--label",
        action="append",
        metavar="K=V",
        help="a request label the policy may match (e.g. sensitivity=high)",
    )
    p.add_argument(
        "--store",
        default=DEFAULT_STORE,
        metavar="URL",
        help=f"revocations and replay cache (default {DEFAULT_STORE})",
    )
    p.add_argument(
        "--audit",
        default=DEFAULT_AUDIT,
        metavar="FILE",
        help=f"audit log (default ./{DEFAULT_AUDIT})",
    )
    p.add_argument("--at", metavar="TIME", help="verify as of POSIX seconds or ISO-8601")

    p = command(sub, "inspect", _cmd_inspect, "show a chain's hops (without verifying)")
    chain_opt(p)

    def state_opts(p: _Parser) -> None:
        p.add_argument("--store", default=DEFAULT_STORE, metavar="URL")
        p.add_argument("--audit", default=DEFAULT_AUDIT, metavar="FILE")

    p = command(sub, "revoke", _cmd_revoke, "revoke a token, jti, task or key")
    state_opts(p)
    p.add_argument("--reason", metavar="TEXT", help="recorded in the audit log")
    p.add_argument(
        "--ttl",
        metavar="DUR",
        help="how long the revocation must last (e.g. the token's remaining lifetime); "
        "default: for good",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", metavar="ID", help="token id (revokes every chain below)")
    which.add_argument("--jti", metavar="J")
    which.add_argument("--task", metavar="T")
    which.add_argument("--key", metavar="KID", help="key thumbprint")

    task = sub.add_parser("task", parents=[common], help="open or close a task (JIT)")
    task_sub = task.add_subparsers(dest="task_command", required=True, metavar="COMMAND")
    p = command(task_sub, "open", _cmd_task_open, "open a task until a deadline")
    p.add_argument("--task", required=True, metavar="T")
    p.add_argument("--deadline", required=True, metavar="DUR", help="e.g. 30m, 2h")
    p.add_argument("--owner", metavar="ID", help="who opened it (recorded)")
    p.add_argument("--purpose", metavar="TEXT", help="why (recorded)")
    state_opts(p)
    p = command(task_sub, "close", _cmd_task_close, "close a task: revoke all its chains")
    p.add_argument("--task", required=True, metavar="T")
    p.add_argument("--reason", metavar="TEXT", help="recorded in the audit log")
    state_opts(p)

    aud = sub.add_parser("audit", parents=[common], help="check an audit log")
    aud_sub = aud.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    p = command(aud_sub, "verify", _cmd_audit_verify, "check an audit log's hash chain")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the head hash recorded elsewhere: also catches edits of the last record "
        "and records dropped from the end",
    )

    p = command(sub, "demo", _cmd_demo, "play the whole story end to end, offline")
    p.add_argument("--out", metavar="DIR", help="where to write files (default: a temp dir)")
    return parser


# --- entry point --- #


def main(argv: list[str] | None = None) -> int:
    """Run the ``delegation`` command; return its exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in args
    try:
        try:
            ns = _build_parser().parse_args(args)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else _EXIT_OK
        as_json = _wants_json(ns)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code: int = ns.handler(ns)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        return code
    except _UsageError as exc:
        return _fail(as_json, "usage_error", str(exc))
    except DelegationError as exc:
        return _fail(as_json, exc.code, exc.message)
    except KeyboardInterrupt:
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
        return _fail(as_json, err.code, err.message)


def _fail(as_json: bool, code: str, message: str) -> int:
    message = " ".join(message.split())  # one line, always
    if as_json:
        print(_dump({"ok": False, "code": code, "message": message}))
    else:
        print(f"error: {code}: {message}", file=sys.stderr)
    return _EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
