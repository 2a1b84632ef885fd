"""``delegation demo``: play the whole story end to end and tell it on the terminal.

The story itself (keys, registry, task, grants, the calls that must fail) is played by
:func:`delegation.demo.network.play_network_demo` (each agent a separate process; the
``http`` extra) or :func:`delegation.demo.play_demo` (``--in-process``, or when the extra
is missing), which print nothing; this module tells each step as it happens.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import EXIT_DENIED, EXIT_OK, Subcommands, console, dump, wants_json

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from delegation.demo import DemoReport, Step

__all__ = ["add_parser", "render_end", "render_step"]


HTTP_EXTRA = ("uvicorn", "starlette", "httpx", "anyio")


def http_missing(modules: Iterable[str] = HTTP_EXTRA) -> list[str]:
    """The ``modules`` (by default those of the ``http`` extra) that cannot be imported.

    >>> http_missing(["json", "no_such_module_here"])
    ['no_such_module_here']
    """
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def cmd_demo(ns: argparse.Namespace) -> int:
    out = Path(ns.out) if ns.out else None
    live = None if wants_json(ns) else console()
    listener = None if live is None else (lambda step: render_step(step, live))
    missing = [] if ns.in_process else http_missing()
    if missing:
        print(
            f"note: the http extra is not installed ({', '.join(missing)} missing), so the "
            "story plays in one process; for the multi-process demo: "
            "pip install 'delegation[http]'",
            file=sys.stderr,
        )
    if live is not None:
        live.print(f"[bold]delegation demo[/]: {_cast()}")
    if ns.in_process or missing:
        from delegation.demo import play_demo  # the story's modules (YAML rules) load when played

        report = play_demo(out, force=ns.force, listener=listener)
    else:
        from delegation.demo.network import play_network_demo

        with _Starting(live) as starting:
            report = play_network_demo(
                out, force=ns.force, listener=listener, progress=starting.update
            )
    if live is None:
        print(dump(report.to_dict()))
    else:
        render_end(report, live)
    return EXIT_OK if report.ok else EXIT_DENIED


def _cast() -> str:
    from delegation.demo.story import ATTACKER, ORG

    return (
        f"orchestrator, planner, researcher and the CRM tool ({ORG}/...), "
        f"and mallory ({ATTACKER}), who is not registered\n"
    )


class _Starting:
    """A spinner per agent process while they start (nothing when the output is JSON)."""

    def __init__(self, live: Console | None) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn

        self.progress = None
        if live is not None:
            self.progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/]"),
                TextColumn("{task.description}"),
                console=live,
                transient=True,
            )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Starting:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, role: str, state: str) -> None:
        progress = self.progress
        if progress is None:
            return
        if state == "starting":
            progress.start()
            self.tasks[role] = progress.add_task(f"starting the {role} process", total=1)
        else:
            progress.update(self.tasks[role], completed=1, description=f"{role} is up")
            if all(t.finished for t in progress.tasks):
                progress.stop()


def render_step(step: Step, console: Console) -> None:
    """One step of the story, as it happens: a tick when it behaved as it must."""
    from rich.markup import escape
    from rich.table import Table

    from delegation.demo.story import ALLOW

    mark = "[green]✓[/]" if step.ok else "[bold red]✗[/]"
    if step.outcome == ALLOW:
        verdict = "[green]allowed[/]"
    elif step.outcome == "ok":
        verdict = "[green]done[/]"
    else:
        verdict = f"[red]✗ refused[/] [bold]{escape(step.outcome)}[/]"
    if not step.ok:
        verdict += f" [bold red](UNEXPECTED: should be {escape(step.expected)})[/]"
    detail = f": {escape(step.detail)}" if step.detail else ""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True, min_width=3)
    grid.add_column(overflow="fold")
    grid.add_row(mark, f"[bold]{step.n}.[/]", f"{escape(step.title)}\n→ {verdict}{detail}")
    console.print(grid)


def render_end(report: DemoReport, console: Console) -> None:
    """The graph analysis, the verdict, and what to look at next."""
    from rich.markup import escape

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
        f"      open {out}/graph.html   (the delegation graph, with its findings)",
        soft_wrap=True,
    )


def add_parser(subparsers: Subcommands) -> None:
    p = subparsers.command(
        "demo", cmd_demo, "play the whole story end to end, offline, between real processes"
    )
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
    p.add_argument(
        "--in-process",
        action="store_true",
        help="play the story in this one process, with function calls (no http extra needed)",
    )
