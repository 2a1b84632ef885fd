"""``delegation mint``, ``delegate``, ``prove`` and ``inspect``: making and reading chains."""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from delegation.errors import Expired

from ._common import (
    EXIT_OK,
    Parser,
    State,
    Subcommands,
    console,
    emit,
    state_options,
    wants_json,
)
from ._values import agent_id, caps, iso, load_public, parse_args_kv, parse_duration, read_chain

if TYPE_CHECKING:
    from delegation import Chain, UnverifiedToken

__all__ = ["add_parser", "chain_option", "request_options"]


def chain_summary(chain: Chain) -> dict[str, Any]:
    from delegation.tokens import parse_unverified

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


def cmd_grant(ns: argparse.Namespace) -> int:
    """``mint`` (a root grant) and ``delegate`` (one more hop on ``--chain``).

    The task is governed by the store: ``mint --task T`` needs T open, and a chain's
    task that the store knows must still be open; lifetimes are clipped to the task's
    deadline. The new token is recorded in the audit log. With --registry, receivers'
    baselines bound the grant (elevations of the task excepted). ``mint`` without
    ``--task`` makes a fresh task id that no store knows: nothing governs it.
    """
    from delegation.keys import AgentKey
    from delegation.mint import Delegator
    from delegation.registry import Registry
    from delegation.tokens import parse_unverified

    grants, ttl = caps(ns.cap), parse_duration(ns.ttl)  # flags first, then files
    agent_id(ns.to, "--to")
    parent = read_chain(ns.chain) if ns.command == "delegate" else None
    key = AgentKey.load(ns.key)
    to_key = load_public(ns.to_key, agent=ns.to)
    registry = Registry.load(ns.registry) if ns.registry is not None else None
    with State(ns.store, ns.audit, ns.audit_key) as state:
        if parent is None:
            governed = ns.task is not None
        else:
            governed = state.tasks.get(parse_unverified(parent)[-1].claims.task) is not None
        tasks = state.tasks if governed else None
        delegator = Delegator(key, tasks=tasks, audit=state.audit, registry=registry)
        grant: dict[str, Any] = {
            "to": ns.to,
            "to_key": to_key,
            "caps": grants,
            "ttl": ttl,
            "depth": ns.depth,
            "purpose": ns.purpose,
        }
        if parent is None:
            chain = delegator.mint(**grant, task=ns.task, obo=ns.obo)
        else:
            chain = delegator.delegate(parent, **grant)
    emit(ns, chain_summary(chain), str(chain))
    return EXIT_OK


def cmd_prove(ns: argparse.Namespace) -> int:
    from delegation.keys import AgentKey
    from delegation.mint import Delegator
    from delegation.tokens import parse_unverified

    args = parse_args_kv(ns.arg or [])
    agent_id(ns.aud, "--aud")
    chain = read_chain(ns.chain)
    key = AgentKey.load(ns.key)
    leaf = parse_unverified(chain)[-1]
    if leaf.claims.exp <= time.time():
        raise Expired(
            f"the chain expired at {iso(leaf.claims.exp)}: no verifier would accept a proof for it",
            hop=len(chain) - 1,
            claim="exp",
        )
    proof = Delegator(key).prove(chain, aud=ns.aud, tool=ns.tool, resource=ns.resource, args=args)
    payload = {
        "ok": True,
        "proof": proof,
        "holder": key.agent,
        "aud": ns.aud,
        "tool": ns.tool,
        "resource": ns.resource,
    }
    emit(ns, payload, proof)
    return EXIT_OK


def cmd_inspect(ns: argparse.Namespace) -> int:
    from delegation.tokens import parse_unverified

    tokens = parse_unverified(read_chain(ns.chain))
    if wants_json(ns):
        hops = [
            {"hop": i, "token_id": t.token_id, "header": t.header, "claims": t.claims.to_payload()}
            for i, t in enumerate(tokens)
        ]
        # ASCII-only: the values stay exact, and no control or bidi character reaches a terminal
        print(json.dumps({"ok": True, "verified": False, "hops": hops}, default=str))
        return EXIT_OK
    _draw_chain(tokens)
    return EXIT_OK


def _draw_chain(tokens: list[UnverifiedToken]) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from delegation._text import printable

    def shown(value: object) -> str:  # every string of an untrusted chain goes through here
        return escape(printable(value))

    now = datetime.now(UTC).timestamp()
    out = console()
    out.print(
        "[bold yellow]UNVERIFIED[/]: parsed only; signatures, links, times and revocation "
        "were not checked (use 'delegation verify')"
    )
    root = Tree(f"[bold]delegation chain[/], {len(tokens)} hop(s), root first")
    node = root
    for i, t in enumerate(tokens):
        c = t.claims
        hop = node.add(f"[bold]hop {i}[/]  {shown(c.iss)} [bold]→[/] {shown(c.sub)}")
        hop.add(
            f"token  {shown(t.token_id[:12])}...  (jti {shown(c.jti[:12])}..., "
            f"{shown(t.header.get('alg'))})"
        )
        listed = hop.add("caps")
        for cap in c.caps:
            listed.add(shown(cap))
        hop.add(f"task   {shown(c.task)}   obo {shown(c.obo or '-')}")
        hop.add(f"depth  {c.dpth} further hop(s) allowed")
        state = "  [bold red]expired[/]" if c.exp <= now else ""
        start = c.nbf if c.nbf is not None else c.iat
        hop.add(f"valid  {iso(start)} → {iso(c.exp)} ({c.exp - c.iat}s){state}")
        if c.pur:
            hop.add(f"purpose  {shown(c.pur)}")
        hop.add(f"receipt  {'present' if c.rcpt is not None else 'none'}")
        node = hop
    out.print(root)


# --- the parser --- #


def chain_option(p: Parser) -> None:
    p.add_argument("--chain", required=True, metavar="FILE|-", help="chain file, - = stdin")


def request_options(p: Parser) -> None:
    p.add_argument("--aud", required=True, metavar="ID", help="the verifying agent or tool")
    p.add_argument("--tool", required=True, metavar="T", help="the tool called, e.g. crm.read")
    p.add_argument(
        "--resource", required=True, metavar="R", help="the resource, e.g. customers/eu/42"
    )
    p.add_argument(
        "--arg",
        action="append",
        metavar="K=V",
        help="request argument; V is JSON when it parses (repeatable; default: none)",
    )


def _grant_options(p: Parser) -> None:
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
    p.add_argument(
        "--ttl", required=True, metavar="DUR", help="lifetime: 90s, 10m, 1h (at most 1h)"
    )
    p.add_argument("--purpose", metavar="TEXT", help="free-text purpose (pur; default: none)")
    state_options(
        p,
        store="task store: a task it knows must be open, lifetimes end at its deadline",
        audit="the new token is recorded in this audit log",
    )
    p.add_argument(
        "--registry",
        metavar="REG.json",
        help="bound the grant by the receiver's baseline (an elevation of the task "
        "excepted; default: no baseline check)",
    )


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command("mint", cmd_grant, "mint a root grant (prints the chain)")
    _grant_options(p)
    p.add_argument(
        "--depth",
        type=int,
        default=0,
        metavar="N",
        help="further hops the receiver may delegate (default: 0)",
    )
    p.add_argument("--task", metavar="T", help="task id (default: a fresh one)")
    p.add_argument("--obo", metavar="P", help="principal the chain acts for (default: none)")

    p = subparsers.command("delegate", cmd_grant, "hand a narrower slice of a chain on")
    chain_option(p)
    _grant_options(p)
    p.add_argument(
        "--depth",
        type=int,
        default=None,
        metavar="N",
        help="further hops allowed (default: the parent's minus one)",
    )

    p = subparsers.command("prove", cmd_prove, "sign a single-use proof for one request")
    chain_option(p)
    p.add_argument("--key", required=True, metavar="KEY.json", help="the holder's private key")
    request_options(p)

    p = subparsers.command("inspect", cmd_inspect, "show a chain's hops (without verifying)")
    chain_option(p)
