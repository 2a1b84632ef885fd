"""``delegation verify``: judge a chain and proof for one request, and audit the decision.

A store that cannot be opened or read is a denial (``store_unavailable``, exit 1), as in
the library; a chain that does not parse is a denial too (``malformed``), audited like
every decision. Input errors (flags, files, registry, policy) exit 2 before any store or
log is opened. The policy in force is always named: ``policy: <digest>`` on stderr, or
``"policy"`` in the JSON object. A policy denial is explained: one indented line per rule
considered under ``denied: policy_denied: ...``, or ``"explanation"`` in the JSON object.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from delegation.errors import (
    DelegationError,
    InternalError,
    InvalidInput,
    PolicyDenied,
    StoreUnavailable,
    TokenRejected,
)
from delegation.limits import Limits

if TYPE_CHECKING:
    from delegation import Policy

from ._common import EXIT_DENIED, EXIT_OK, State, Subcommands, dump, state_options, wants_json
from ._values import (
    MAX_CLOCK_SKEW,
    agent_id,
    iso,
    parse_args_kv,
    parse_clock_skew,
    parse_time,
    read_input,
)
from .tokens import chain_option, request_options

__all__ = ["POLICY_IN_FORCE", "add_parser"]

POLICY_IN_FORCE = "chain-grants-only"


def _load_policy(path: str | None) -> Policy:
    """``--policy``: a ``.cedar`` file is Cedar, anything else the rules engine (JSON/YAML)."""
    if path is None:
        from delegation.policy import ChainGrantsOnly

        return ChainGrantsOnly()
    if path.endswith(".cedar"):
        from delegation.policy.cedar import CedarPolicy

        return CedarPolicy.load(path)
    from delegation.policy.rules import RulesPolicy  # PyYAML loads only when a policy does

    return RulesPolicy.load(path)


def cmd_verify(ns: argparse.Namespace) -> int:
    from delegation.audit import VerifyEvent
    from delegation.capabilities import Request
    from delegation.clock import FixedClock
    from delegation.registry import Registry
    from delegation.verify import Verifier

    if ns.chain == "-" and ns.proof == "-":
        raise InvalidInput("only one of --chain and --proof can be read from stdin")
    # Flags, then files, then the stores: an input error leaves no store or log behind.
    request = Request(tool=ns.tool, resource=ns.resource, args=parse_args_kv(ns.arg or []))
    labels = parse_args_kv(ns.label or [], flag="--label")
    agent_id(ns.aud, "--aud")
    clock = FixedClock(parse_time(ns.at)) if ns.at is not None else None
    limits = Limits(clock_skew=parse_clock_skew(ns.clock_skew))
    chain_text = read_input(ns.chain, what="chain")
    proof = read_input(ns.proof, what="proof")
    registry = Registry.load(ns.registry)
    policy = _load_policy(ns.policy)
    with State(ns.store, ns.audit, ns.audit_key) as state:
        try:
            store = state.store
        except StoreUnavailable as exc:  # verification cannot check revocation or replay: deny
            try:
                state.audit.append(
                    VerifyEvent(
                        audience=ns.aud, decision="deny", code=exc.code, message=exc.message
                    )
                )
            except StoreUnavailable as unrecorded:  # still a denial (exit 1), not an input error
                exc = StoreUnavailable(f"{exc.message}; and {unrecorded.message}")
            return _denied(ns, exc, policy)
        verifier = Verifier(
            registry=registry,
            audience=ns.aud,
            policy=policy,
            revocations=store,
            replay=store,
            audit=state.audit,
            clock=clock,
            limits=limits,
        )
        try:
            verified = verifier.verify(chain_text, proof, request, labels=labels)
        except (TokenRejected, InternalError, StoreUnavailable) as exc:
            return _denied(ns, exc, policy)
    payload = verified.to_dict()
    payload["policy"] = policy.digest
    if wants_json(ns):
        print(dump(payload))
    else:
        _policy_note(policy)
        more = verified.remaining_depth
        print(
            f"allowed: {verified.holder} may {request.tool} {request.resource}\n"
            f"  path:    {' -> '.join(verified.path)}\n"
            f"  task:    {verified.task}   obo: {verified.obo or '-'}\n"
            f"  depth:   {verified.depth} hop(s), {more} more allowed\n"
            f"  expires: {iso(verified.expires_at)}"
        )
    return EXIT_OK


def _policy_note(policy: Policy) -> None:
    if policy.digest == POLICY_IN_FORCE:
        print(
            f"policy: {POLICY_IN_FORCE} (the chain's grants are the whole policy)", file=sys.stderr
        )
    else:
        print(f"policy: {policy.digest}", file=sys.stderr)


def _denied(ns: argparse.Namespace, exc: DelegationError, policy: Policy) -> int:
    if wants_json(ns):
        print(dump({**exc.to_dict(), "policy": policy.digest}))
    else:
        _policy_note(policy)
        print(f"denied: {exc.code}: {exc.message}", file=sys.stderr)
        if isinstance(exc, PolicyDenied):
            for line in exc.explanation:  # already bounded and escaped by the policy layer
                print(f"  {line}", file=sys.stderr)
    return EXIT_DENIED


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command("verify", cmd_verify, "verify a chain and proof for one request")
    chain_option(p)
    p.add_argument("--proof", required=True, metavar="FILE|-", help="proof file, - = stdin")
    p.add_argument(
        "--registry", required=True, metavar="REG.json", help="trusted roots and agent keys"
    )
    request_options(p)
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
        help="a request label the policy may match, e.g. sensitivity=high "
        "(repeatable; default: none)",
    )
    state_options(p, store="revocations and replay cache", audit="audit log of the decision")
    p.add_argument(
        "--at", metavar="TIME", help="verify as of POSIX seconds or ISO-8601 (default: now)"
    )
    p.add_argument(
        "--clock-skew",
        metavar="SECONDS",
        default=str(Limits().clock_skew),
        help="tolerance for clocks that disagree, applied to iat, nbf and exp of tokens and "
        f"proofs and to receipt dates (0 to {MAX_CLOCK_SKEW}; default: %(default)s)",
    )
