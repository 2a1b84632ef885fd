"""Start-up cost: ``import delegation`` and ``delegation --help``, each in a fresh process.

Wall time of the whole subprocess (interpreter start included: the targets of issue 12
subtract nothing), runs of the three commands interleaved after one warm-up run of
each, medians reported. ``python -c pass`` is timed alongside to show the interpreter's
own share. The children import the same ``delegation`` as this process.

Usage: ``python benchmarks/bench_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import delegation

COMMANDS: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "import delegation": ["-c", "import delegation"],
    "delegation --help": ["-m", "delegation.cli", "--help"],
}


def _env() -> dict[str, str]:
    """This process's environment, with the ``delegation`` it imported first on the path."""
    tree = str(Path(delegation.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (tree, env.get("PYTHONPATH")) if p)
    return env


def _once(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, capture_output=True, check=True)
    return (time.perf_counter() - started) * 1000


def startup_ms(runs: int = 9) -> dict[str, list[float]]:
    """Milliseconds per run of each command (after one warm-up run of each)."""
    env = _env()
    out: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for args in COMMANDS.values():
        _once(args, env)
    for _ in range(runs):
        for name, args in COMMANDS.items():
            out[name].append(_once(args, env))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each (default: 9)")
    args = parser.parse_args(argv)
    for name, ms in startup_ms(args.runs).items():
        print(f"{name}: median {statistics.median(ms):.1f} ms, min {min(ms):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
