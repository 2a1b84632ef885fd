"""Helpers for the ``delegation`` command's tests: run it for real, and a shared flow.

Import it as ``from cli_support import ...`` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ORG = "spiffe://acme.example"
ORCH = f"{ORG}/orchestrator"
PLANNER = f"{ORG}/agent/planner"
RESEARCHER = f"{ORG}/agent/researcher"
TOOL = f"{ORG}/tool/crm"
GRANT = (
    '{"tool": "crm.read", "resource": "customers/**", "constraints": {"max_rows": {"max": 100}}}'
)
SLICE = (
    '{"tool": "crm.read", "resource": "customers/eu/**", "constraints": {"max_rows": {"max": 50}}}'
)
REQUEST = ["--tool", "crm.read", "--resource", "customers/eu/42", "--arg", "max_rows=10"]


def run(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "delegation.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )


def ok(cwd: Path, *args: str, stdin: str | None = None) -> str:
    """Run the command, require exit 0 and a quiet stderr; return stdout."""
    proc = run(cwd, *args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def assert_one_error_line(proc: subprocess.CompletedProcess[str], code: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {code}: ")


@dataclass
class Flow:
    """Keys, a registry and a two-hop chain made with the real command."""

    dir: Path

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def prove(self, name: str) -> str:
        proof = ok(self.dir, *prove_argv({}, *REQUEST, chain="c2.txt", key="r.key"))
        (self.dir / name).write_text(proof)
        return name

    def verify(self, proof: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return run(self.dir, *verify_argv({}, *extra, chain="c2.txt", proof=proof))


# Command lines of the flow's commands. ``f`` maps a short name to its file (the
# ``files`` fixture); a name it does not hold is used as it is (a path in the cwd).


def mint_argv(
    f: dict[str, str],
    *extra: str,
    key: str = "o.key",
    to: str = PLANNER,
    to_key: str = "p.pub",
    cap: str = "crm.read",
    ttl: str = "10m",
) -> list[str]:
    return [
        *("mint", "--key", f.get(key, key), "--to", to, "--to-key", f.get(to_key, to_key)),
        *("--cap", cap, "--ttl", ttl, *extra),
    ]


def delegate_argv(f: dict[str, str], *extra: str, chain: str = "g.txt", **grant: str) -> list[str]:
    """mint's options after ``--chain``; by default the planner gives SLICE to the researcher."""
    grant = dict(key="p.key", to=RESEARCHER, to_key="r.pub", cap=SLICE, ttl="5m") | grant
    return ["delegate", "--chain", f.get(chain, chain), *mint_argv(f, *extra, **grant)[1:]]


def prove_argv(
    f: dict[str, str], *extra: str, chain: str = "g.txt", key: str = "p.key", aud: str = TOOL
) -> list[str]:
    return ["prove", "--chain", f.get(chain, chain), "--key", f.get(key, key), "--aud", aud, *extra]


def verify_argv(
    f: dict[str, str],
    *extra: str,
    chain: str = "g.txt",
    proof: str = "g.txt",
    registry: str = "reg.json",
    aud: str = TOOL,
) -> list[str]:
    return [
        *("verify", "--chain", f.get(chain, chain), "--proof", f.get(proof, proof)),
        *("--registry", f.get(registry, registry), "--aud", aud, *REQUEST, *extra),
    ]


def add_agent_argv(registry: str, agent: str, key: str, *extra: str) -> list[str]:
    return ["registry", "add-agent", "--registry", registry, "--agent", agent, "--key", key, *extra]


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command of the parser, as (("task", "open"), its parser), depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from commands(sub, (*path, name))
