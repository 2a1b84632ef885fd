"""Start the demo's agents as separate processes, and make sure every one of them stops.

:class:`Agents` opens one listening socket per agent on a free loopback port (the kernel
picks it, so no port race), writes ``agents.json`` (everyone's address), and starts
``python -m delegation.demo.agent ROLE DIR FD PARENT`` for each (the same package as
this one), handing the socket over. Each child runs in its own session (a Ctrl-C at the
terminal reaches the demo only, which then stops them) with its output in
``DIR/ROLE.log``, and exits by itself if the demo dies.
:meth:`Agents.stop` sends ``SIGTERM`` to each child's process group, waits, then
``SIGKILL``; the context manager calls it on any exit, failure and Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from delegation import InternalError

__all__ = ["Agents", "Process"]

# The child imports this very package, even when it was found by a path the child's
# interpreter would not search (a source tree on sys.path, a relative PYTHONPATH).
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    f"import sys; root = {_ROOT!r}; "
    "sys.path.insert(0, root) if root not in sys.path else None; "
    "from delegation.demo.agent import main; sys.exit(main(sys.argv[1:]))"
)
START_WITHIN = 30.0  # seconds for every agent to answer its health check
STOP_WITHIN = 5.0  # seconds for the agents to exit after SIGTERM, before SIGKILL


@dataclass
class Process:
    """One agent process: its role, address and ``Popen``."""

    role: str
    url: str
    popen: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def why_stopped(self, log: Path) -> str:
        """How it ended (exit code or signal) and the last line of its log."""
        code = self.popen.poll()
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited {code}"
        try:
            lines = log.read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        last = f": {lines[-1].strip()}" if lines else ""
        return f"the {self.role} process (pid {self.pid}) {how}{last}"


class Agents:
    """The demo's agent processes for ``roles``, over the demo directory ``out``."""

    def __init__(self, out: Path, roles: Sequence[str]) -> None:
        self.out = out
        self.roles = tuple(roles)
        self.processes: dict[str, Process] = {}

    def __enter__(self) -> Agents:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None or not issubclass(kind, KeyboardInterrupt):
            self.stop()
            return
        # Ctrl-C: a second one must not cut the clean-up short and leave agents running
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            self.stop()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def url(self, role: str) -> str:
        return self.processes[role].url

    def start(self, progress: Callable[[str, str], None] | None = None) -> None:
        """Start every agent and wait until each answers ``/healthz``; ``progress(role,
        "starting" | "ready")`` reports it. Raises ``internal_error`` if one fails to."""
        tell = progress or (lambda role, state: None)
        sockets = {role: _listen() for role in self.roles}
        urls = {role: f"http://127.0.0.1:{s.getsockname()[1]}" for role, s in sockets.items()}
        (self.out / "agents.json").write_text(json.dumps({"urls": urls}, indent=2) + "\n")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            for role, sock in sockets.items():
                fd = sock.fileno()
                with open(self.out / f"{role}.log", "wb") as log:
                    popen = subprocess.Popen(
                        [
                            sys.executable,
                            "-c",
                            _BOOT,
                            role,
                            str(self.out),
                            str(fd),
                            str(os.getpid()),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        pass_fds=(fd,),
                        start_new_session=True,
                        env=env,
                    )
                self.processes[role] = Process(role, urls[role], popen)
                tell(role, "starting")
        finally:
            for sock in sockets.values():  # the children hold their own copies
                sock.close()
        self._write_pids()
        self._wait_ready(tell)

    def _write_pids(self) -> None:
        body = {
            "urls": {r: p.url for r, p in self.processes.items()},
            "pids": {r: p.pid for r, p in self.processes.items()},
        }
        (self.out / "agents.json").write_text(json.dumps(body, indent=2) + "\n")

    def _wait_ready(self, tell: Callable[[str, str], None]) -> None:
        waiting = dict(self.processes)
        deadline = time.monotonic() + START_WITHIN
        with httpx.Client(timeout=1.0) as client:
            while waiting:
                for role, process in list(waiting.items()):
                    self.check()
                    try:
                        health = client.get(f"{process.url}/healthz")
                    except httpx.TransportError:  # not listening yet
                        continue
                    if health.status_code != 200:
                        raise InternalError(
                            f"the {role} process answered {health.status_code} to its "
                            f"health check (see {self.out}/{role}.log)"
                        )
                    del waiting[role]
                    tell(role, "ready")
                if waiting and time.monotonic() > deadline:
                    raise InternalError(
                        f"{', '.join(waiting)} did not start within {START_WITHIN:.0f}s "
                        f"(see {self.out}/*.log)"
                    )
                if waiting:
                    time.sleep(0.05)

    def check(self) -> None:
        """Raise ``internal_error`` naming the first agent process that has stopped."""
        for process in self.processes.values():
            if not process.alive():
                raise InternalError(process.why_stopped(self.out / f"{process.role}.log"))

    def alive(self) -> list[int]:
        """The pids of the agent processes still running."""
        return [p.pid for p in self.processes.values() if p.alive()]

    def stop(self) -> None:
        """``SIGTERM`` each agent's process group, wait, then ``SIGKILL`` what is left."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN
        for process in self.processes.values():
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.popen.wait(timeout=STOP_WITHIN)


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def _signal_group(process: Process, sig: signal.Signals) -> None:
    """Signal the child's process group (its session: the child and anything it started)."""
    if process.popen.returncode is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - the group's leader was replaced
        process.popen.send_signal(sig)
