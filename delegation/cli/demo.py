"""``delegation demo``: play the whole story end to end and tell it on the terminal.

The story itself (keys, registry, task, grants, the calls that must fail) is played by
:func:`delegation._demo.play_demo`, which prints nothing; this module draws its report.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import EXIT_DENIED, EXIT_OK, Subcommands, console, dump, wants_json

if TYPE_CHECKING:
    from rich.console import Console

    from delegation._demo import DemoReport

__all__ = ["add_parser", "render"]


def cmd_demo(ns: argparse.Namespace) -> int:
    from delegation._demo import play_demo  # the story's modules (YAML rules) load when played

    report = play_demo(Path(ns.out) if ns.out else None, force=ns.force)
    if wants_json(ns):
        print(dump(report.to_dict()))
    else:
        render(report, console())
    return EXIT_OK if report.ok else EXIT_DENIED


def render(report: DemoReport, console: Console) -> None:
    """Tell the story: numbered steps, a tick when a step behaved as it must."""
    from rich.markup import escape
    from rich.table import Table

    from delegation._demo import ALLOW, ATTACKER, ORG

    console.print(f"[bold]delegation demo[/]: files in {escape(str(report.out))}")
    console.print(
        f"cast: orchestrator, planner, researcher and the CRM tool ({ORG}/...), "
        f"and mallory ({ATTACKER}), who is not registered\n"
    )
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for s in report.steps:
        mark = "[green]✓[/]" if s.ok else "[bold red]✗[/]"
        if s.outcome == ALLOW:
            verdict = "[green]allowed[/]"
        elif s.outcome == "ok":
            verdict = "[green]done[/]"
        else:
            verdict = f"[red]✗ refused[/] [bold]{escape(s.outcome)}[/]"
        if not s.ok:
            verdict += f" [bold red](UNEXPECTED: should be {escape(s.expected)})[/]"
        detail = f": {escape(s.detail)}" if s.detail else ""
        grid.add_row(mark, f"[bold]{s.n}.[/]", f"{escape(s.title)}\n→ {verdict}{detail}")
    console.print(grid)
    if report.graph is not None:
        from delegation.graph.report import render_text

        console.print("\n[bold]the delegation graph of the audit log and the chains:[/]")
        render_text(report.graph, report.findings, console)
    console.print()
    if report.ok:
        console.print("[bold green]every step behaved as it must.[/]")
    else:
        console.print("[bold red]some steps did not behave as they must.[/]")
    out = escape(str(report.out))
    console.print(
        f"\nnext: delegation inspect --chain {out}/chain.txt\n"
        f"      delegation audit verify {out}/audit.jsonl\n"
        f"      delegation graph analyze {out}/audit.jsonl --registry {out}/registry.json\n"
        f"      open {out}/graph.html   (the delegation graph, with its findings)"
    )


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command("demo", cmd_demo, "play the whole story end to end, offline")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="where to write files: new, empty, or a previous demo's (default: a temp dir)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a --out DIR that holds other files, overwriting same-named ones "
        "(default: refuse)",
    )
