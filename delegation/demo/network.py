"""``delegation demo``: the story between separate processes, on real sockets.

The orchestrator, the planner, the researcher and the CRM tool each run as their own
process (:mod:`.agent`, started by :mod:`.processes`) on a loopback port, with their own
key and rules file, sharing the SQLite store and the audit log of the demo's directory.
This module is the stage manager and mallory: it asks the orchestrator to start the task,
which flows orchestrator → planner → researcher → CRM tool with an acceptance and a
receipt on every hop; then it plays the attacks (some through a compromised agent, some
as mallory on the wire), stops every process, checks the audit log and builds the graph.
Needs the ``http`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from delegation import AgentKey, Chain, DelegationError, InternalError
from delegation.http import CHAIN_HEADER, PROOF_HEADER, raise_for_problem

from .processes import Agents
from .story import (
    ALLOW,
    EU_READ,
    GRANT,
    OBO,
    SERVERS,
    SLICE,
    TASK,
    DemoReport,
    Step,
    analyze,
    check_audit,
    fresh_dir,
    set_the_stage,
    stolen_proof,
)

__all__ = ["NETWORK_RULES", "play_network_demo"]

#: What the attacks must leave in the graph: the forged wider hop (DLG001), the replayed
#: proof (DLG016) and the planner's fresh root grant to the researcher (DLG018).
NETWORK_RULES = ("DLG001", "DLG016", "DLG018")

EU_JOB = {"region": "eu", "id": 42, "max_rows": 10}
US_JOB = {"region": "us", "id": 7, "max_rows": 100}
Events = dict[str, dict[str, Any]]

# The story's text for each event an agent reports: (title, expected outcome).
TITLES: dict[str, tuple[str, str]] = {
    "task_opened": (f"the orchestrator opens task {TASK} for {OBO}, 15 minutes", "ok"),
    "root_minted": (f"orchestrator → planner: {GRANT}, depth 2, within the task", "ok"),
    "planner_accepts": (
        "the planner (its own process) verifies the delegation and accepts it under "
        "planner-policy.yaml; its signed receipt comes back over HTTP",
        ALLOW,
    ),
    "slice_delegated": (
        f"planner → researcher: narrower slice {SLICE}, 5 min, carrying the planner's receipt",
        "ok",
    ),
    "researcher_accepts": (
        "the researcher (its own process) accepts under researcher-policy.yaml, receipt back",
        ALLOW,
    ),
    "tool_call": (
        "researcher → CRM tool: POST /customers/eu/42 {max_rows: 10}, chain and a fresh "
        "proof in the headers; the tool's middleware verifies chain, receipts, proof and "
        "tool-policy.yaml",
        ALLOW,
    ),
}


def play_network_demo(
    out_dir: Path | None,
    *,
    force: bool = False,
    listener: Callable[[Step], None] | None = None,
    progress: Callable[[str, str], None] | None = None,
    started: Callable[[Agents], None] | None = None,
) -> DemoReport:
    """Play the story with each agent a separate process; return the report.

    ``listener`` gets each step as it happens, ``progress(role, state)`` each process
    starting and ready, ``started`` the running :class:`~.processes.Agents`. Every process
    is stopped before this returns or raises. Raises ``file_error`` for an unusable
    ``out_dir`` and ``internal_error`` when an agent process fails (which one, and how).
    """
    report = DemoReport(out=fresh_dir(out_dir, force=force), mode="processes", listener=listener)
    keys, registry = set_the_stage(report)
    with Agents(report.out, SERVERS) as agents:
        agents.start(progress)
        report.step(
            "four separate processes start, each on its own loopback port with its own key "
            "and rules; they share the SQLite store and the audit log",
            "ok",
            "ok",
            ", ".join(f"{p.role} pid {p.pid} {p.url[7:]}" for p in agents.processes.values()),
        )
        if started is not None:
            started(agents)
        try:
            with httpx.Client(timeout=30.0) as http:
                _play(report, http, agents, keys["mallory"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            agents.check()  # names the agent that died, if one did
            raise InternalError(f"the demo's agents failed: {type(exc).__name__}: {exc}") from None
        agents.stop()
        left = agents.alive()
        report.step(
            "every process the demo started is stopped",
            "ok",
            "ok" if not left else f"still running: {left}",
            f"pids {', '.join(str(p.pid) for p in agents.processes.values())}",
        )
    report.files += ["agents.json", *(f"{role}.log" for role in SERVERS)]
    report.files += ["store.sqlite", "audit.jsonl"]
    check_audit(report)
    analyze(
        report, registry, ("chain.txt", "forged-chain.txt", "rerooted-chain.txt"), NETWORK_RULES
    )
    return report


def _post(http: httpx.Client, agents: Agents, role: str, path: str, job: dict[str, Any]) -> Events:
    """Ask ``role`` to act; its events by name."""
    response = http.post(f"{agents.url(role)}{path}", json=job)
    response.raise_for_status()
    return {e["what"]: e for e in response.json()["events"]}


def _play(report: DemoReport, http: httpx.Client, agents: Agents, mallory: AgentKey) -> None:
    step = report.step
    trace = _post(http, agents, "orchestrator", "/task/open", EU_JOB)
    for what, (title, expected) in TITLES.items():
        got = trace.get(what)
        if got is None:  # the flow stopped before this hop: the story says so, and fails
            step(title, expected, "not reached")
            return
        step(title, expected, got["outcome"], got["detail"])
    report.write("chain.txt", trace["slice_delegated"]["chain"])
    wire = trace["tool_call"]["wire"]
    report.write("proof.txt", wire["proof"])

    widen = _post(http, agents, "researcher", "/attack/widen", US_JOB)
    step(
        "compromised researcher asks its library to re-delegate itself all of customers/**",
        "scope_escalation",
        widen["widen_library"]["outcome"],
        widen["widen_library"]["detail"],
    )
    report.write("forged-chain.txt", widen["widen_forged"]["chain"])
    step(
        "compromised researcher signs the wider hop by hand and reads customers/us/7 with "
        "it: the tool refuses",
        "scope_escalation",
        widen["widen_forged"]["outcome"],
        widen["widen_forged"]["detail"],
    )

    # mallory captured the researcher's request on the wire
    replay = http.post(
        f"{agents.url('tool')}{wire['path']}",
        content=wire["body"].encode(),
        headers={
            CHAIN_HEADER: wire["chain"],
            PROOF_HEADER: wire["proof"],
            "content-type": "application/json",
        },
    )
    step(
        "mallory replays the researcher's captured request, byte for byte",
        "proof_replayed",
        *_refusal(replay),
    )

    chain = Chain.parse(wire["chain"])
    stolen = stolen_proof(chain, mallory, EU_READ, int(time.time()))
    theft = http.post(
        f"{agents.url('tool')}{wire['path']}",
        content=wire["body"].encode(),
        headers={
            CHAIN_HEADER: wire["chain"],
            PROOF_HEADER: stolen,
            "content-type": "application/json",
        },
    )
    step(
        "mallory presents the stolen chain with a proof signed by her own key (she has not "
        "the researcher's)",
        "bad_signature",
        *_refusal(theft),
    )

    reroot = _post(http, agents, "planner", "/attack/reroot", {})["reroot"]
    report.write("rerooted-chain.txt", reroot["chain"])
    step(
        "compromised planner re-roots itself: it signs a root grant (crm.* on **, depth 5, "
        "a day) and offers it to the researcher",
        "untrusted_root",
        reroot["outcome"],
        reroot["detail"],
    )

    deputy = _post(http, agents, "researcher", "/run", US_JOB)["tool_call"]
    step(
        "confused deputy: mallory asks the researcher to read customers/us/7 for her; it "
        "may only spend the task's delegation, which does not cover it",
        "action_not_granted",
        deputy["outcome"],
        deputy["detail"],
    )

    _post(http, agents, "orchestrator", "/task/close", {})
    late = _post(http, agents, "researcher", "/run", EU_JOB)["tool_call"]
    step(
        f"the orchestrator closes task {TASK}; the researcher calls the tool again",
        "revoked",
        late["outcome"],
        late["detail"],
    )


def _refusal(response: httpx.Response) -> tuple[str, str]:
    """(code, "HTTP status: message") of a refused response; ("allow", ...) if it passed."""
    try:
        raise_for_problem(response)
    except DelegationError as exc:
        return exc.code, f"HTTP {response.status_code}: {exc.message}"
    return ALLOW, f"HTTP {response.status_code}"
