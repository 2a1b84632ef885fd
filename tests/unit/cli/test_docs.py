"""The docs hold to the parser, and their shell walkthroughs run as written.

* ``docs/cli.md`` names every command and every flag, and no flag the parser lacks.
* Every ```sh block of README.md and docs/cli.md runs in an empty directory with
  ``bash -e``, at any hour (the install-and-test blocks, which would install the package or
  run this suite itself, are the only ones left out).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import commands

from delegation.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
CLI_MD = ROOT / "docs" / "cli.md"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")
NOT_RUN = ("pip install",)  # installs the package, or runs this very suite (scripts/check)


def parser_flags() -> set[str]:
    found = {"--help", "--version", "--json"}
    for _, parser in commands(build_parser()):
        for action in parser._actions:
            found.update(o for o in action.option_strings if o.startswith("--"))
    return found


def test_cli_md_names_every_command_and_flag() -> None:
    text = CLI_MD.read_text()
    for path, _ in commands(build_parser()):
        assert f"delegation {' '.join(path)}" in text, path
    documented = set(FLAG.findall(text))
    assert parser_flags() - documented == set(), "flags missing from docs/cli.md"
    assert documented - parser_flags() == set(), "docs/cli.md names flags the parser lacks"


def sh_blocks(path: Path) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", path.read_text(), re.S | re.M)
    return [b for b in blocks if not any(skip in b for skip in NOT_RUN)]


def run_block(block: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``block`` in ``tmp_path`` with this checkout's ``delegation`` first on PATH."""
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "delegation"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m delegation.cli "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": pythonpath}  # fmt: skip
    env.pop("DELEGATION_STORE", None)
    env.pop("DELEGATION_AUDIT", None)
    return subprocess.run(
        ["bash", "-e", "-c", block],  # noqa: S607 - bash from PATH, as a reader would
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("doc", ["README.md", "docs/cli.md"])
def test_shell_walkthroughs_run_as_written(doc: str, tmp_path: Path) -> None:
    blocks = sh_blocks(ROOT / doc)
    assert blocks, f"{doc} has no runnable sh block"
    for i, block in enumerate(blocks):
        work = tmp_path / f"block{i}"
        work.mkdir()
        proc = run_block(block, work)
        assert proc.returncode == 0, f"{doc} block {i}:\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr
    if doc == "README.md":  # allowed, then revoked after task close, then an intact log
        assert "allowed: spiffe://acme.example/agent/planner may crm.read" in proc.stdout
        assert "denied: revoked: task T-42 is revoked" in proc.stderr
        assert "hash chain intact" in proc.stdout.splitlines()[-1]
