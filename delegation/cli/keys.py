"""``delegation keygen`` and ``delegation registry add-root|add-agent``."""

from __future__ import annotations

import argparse
from pathlib import Path

from delegation.errors import FileError

from ._common import EXIT_OK, Subcommands, emit
from ._values import agent_id, load_public

__all__ = ["add_parser"]


def cmd_keygen(ns: argparse.Namespace) -> int:
    from delegation.keys import AgentKey

    out = Path(ns.out)
    pub = Path(ns.public_out) if ns.public_out else None
    if not ns.force:
        for p in (out, pub):
            if p is not None and p.exists():
                raise FileError(f"{p} exists; refusing to overwrite a key (use --force)")
    key = AgentKey.generate(agent_id(ns.agent, "--agent"), alg=ns.alg)
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
    emit(ns, payload, text)
    return EXIT_OK


def cmd_registry_add(ns: argparse.Namespace) -> int:
    from delegation.capabilities import Capability
    from delegation.registry import Registry

    root = ns.registry_command == "add-root"
    agent_id(ns.agent, "--agent")
    reg = Registry.load(ns.registry) if Path(ns.registry).exists() else Registry()
    key = load_public(ns.key, agent=ns.agent)
    if root:
        reg.add_root(ns.agent, key)
    else:
        baseline = [Capability.parse(c) for c in ns.baseline] if ns.baseline else None
        reg.add_agent(ns.agent, key, role=ns.role, baseline=baseline)
    reg.save(ns.registry)
    kind = "root" if root else "agent"
    payload = {"ok": True, "registry": ns.registry, "kind": kind, "agent": ns.agent, "kid": key.kid}
    emit(ns, payload, f"added {kind} {ns.agent} (key {key.kid}) to {ns.registry}")
    return EXIT_OK


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command("keygen", cmd_keygen, "generate an agent key pair")
    p.add_argument("--agent", required=True, metavar="ID", help="the agent the key belongs to")
    p.add_argument(
        "--alg",
        choices=["EdDSA", "ES256"],
        default="EdDSA",
        help="signature algorithm (default: EdDSA, i.e. Ed25519)",
    )
    p.add_argument("--out", required=True, metavar="KEY.json", help="private key file (mode 0600)")
    p.add_argument(
        "--public-out", metavar="PUB.json", help="also write the public key (default: not written)"
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite existing key files (default: refuse)"
    )

    registry = subparsers.group("registry", "edit a registry file")
    for name, what in (
        ("add-root", "trust a root (orchestrator) key"),
        ("add-agent", "register an agent key"),
    ):
        p = registry.command(name, cmd_registry_add, f"{what} (creates REG.json if absent)")
        p.add_argument("--registry", required=True, metavar="REG.json", help="registry file")
        p.add_argument("--agent", required=True, metavar="ID", help="the agent's id")
        p.add_argument("--key", required=True, metavar="PUB.json", help="its public key file")
        if name == "add-agent":
            p.add_argument("--role", metavar="R", help="the agent's role (default: none)")
            p.add_argument(
                "--baseline",
                action="append",
                metavar="CAP",
                help="what the agent is meant to be able to do: TOOL[:RESOURCE] or JSON "
                "(repeatable; default: no baseline)",
            )
