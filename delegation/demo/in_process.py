"""``delegation demo --in-process``: the whole story in one process, with function calls.

The same cast, rules and attacks as the multi-process story (:mod:`.network`), played by
calling the library directly: no web framework, no socket. This is also what ``delegation
demo`` plays when the ``http`` extra is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from delegation import (
    AgentKey,
    Chain,
    DelegationError,
    Delegator,
    JsonlAudit,
    RulesPolicy,
    SQLiteStore,
    Tasks,
    VerifiedChain,
    Verifier,
)

from .story import (
    ALLOW,
    EU_READ,
    GRANT,
    OBO,
    SLICE,
    TASK,
    TOOL,
    US_READ,
    DemoReport,
    Step,
    analyze,
    attempt,
    check_audit,
    fresh_dir,
    open_and_grant,
    set_the_stage,
    stolen_proof,
    widened,
)

__all__ = ["play_demo"]


def play_demo(
    out_dir: Path | None,
    *,
    force: bool = False,
    listener: Callable[[Step], None] | None = None,
) -> DemoReport:
    """Play the story, writing keys, registry, chains, store and audit log into ``out_dir``.

    ``out_dir`` defaults to a fresh temporary directory. An existing ``out_dir`` must be
    empty or hold only a previous run's files (:data:`~.story.DEMO_FILES`), unless
    ``force``; ``listener`` gets each step as it happens. Returns the report; nothing is
    printed. Raises ``DelegationError`` only if
    the environment fails: ``file_error`` for an unusable or foreign ``out_dir``.
    """
    report = DemoReport(out=fresh_dir(out_dir, force=force), listener=listener)
    out = report.out
    keys, registry = set_the_stage(report)
    orch, planner, researcher = keys["orchestrator"], keys["planner"], keys["researcher"]
    store = SQLiteStore(out / "store.sqlite")
    audit = JsonlAudit(out / "audit.jsonl")
    try:
        tasks = Tasks(store, audit=audit)
        orchestrator = Delegator(orch, tasks=tasks, registry=registry, audit=audit)
        deadline, root = open_and_grant(tasks, orchestrator, planner.public)
        report.step(
            f"the orchestrator opens task {TASK} for {OBO}, 15 minutes",
            "ok",
            "ok",
            f"deadline {deadline}",
        )

        def accept_as(key: AgentKey, chain: Chain) -> tuple[str, str, VerifiedChain | None]:
            name = key.agent.rsplit("/", 1)[-1]
            verifier = Verifier(
                registry=registry,
                audience=key.agent,
                policy=RulesPolicy.load(out / f"{name}-policy.yaml"),
                revocations=store,
                audit=audit,
            )
            try:
                return ALLOW, "", verifier.accept(chain)
            except DelegationError as exc:
                return exc.code, exc.message, None

        report.step(f"orchestrator → planner: {GRANT}, depth 2, within the task", "ok", "ok")
        outcome, msg, accepted = accept_as(planner, root)
        report.step(
            "the planner verifies the delegation and accepts it under its own policy",
            ALLOW,
            outcome,
            msg or "planner-policy.yaml: planner-accepts-crm-reads-for-alice",
        )
        if accepted is None:
            return report
        chain = Delegator(planner, tasks=tasks, registry=registry, audit=audit).delegate(
            accepted, to=researcher.agent, to_key=researcher.public, caps=[SLICE], ttl=300
        )
        report.write("chain.txt", str(chain))
        report.step(
            f"planner → researcher: narrower slice {SLICE}, 5 min, with the planner's "
            "signed receipt of its acceptance",
            "ok",
            "ok",
            "chain.txt",
        )
        outcome, msg, _ = accept_as(researcher, chain)
        report.step("the researcher verifies and accepts its delegation", ALLOW, outcome, msg)
        verifier = Verifier(
            registry=registry,
            audience=TOOL,
            policy=RulesPolicy.load(out / "tool-policy.yaml"),
            revocations=store,
            replay=store,
            audit=audit,
            require_receipts=True,
        )
        _play_calls(report, verifier, tasks, chain, researcher, keys["mallory"])
    finally:
        store.close()
    report.files += ["store.sqlite", "audit.jsonl"]
    check_audit(report)
    analyze(report, registry, ("chain.txt", "forged-chain.txt"))
    return report


def _play_calls(
    report: DemoReport,
    verifier: Verifier,
    tasks: Tasks,
    chain: Chain,
    researcher: AgentKey,
    mallory: AgentKey,
) -> None:
    step = report.step
    # the legitimate call
    proof = Delegator(researcher).prove(
        chain, aud=TOOL, tool=EU_READ.tool, resource=EU_READ.resource, args=EU_READ.args
    )
    report.write("proof.txt", proof)
    outcome, msg = attempt(lambda: verifier.verify(chain, proof, EU_READ))
    step(
        "researcher calls the CRM tool: crm.read customers/eu/42 max_rows=10, with a fresh "
        "proof of possession; the tool verifies chain, receipts and proof, then its own "
        "rules",
        ALLOW,
        outcome,
        msg or "tool-policy.yaml: crm-reads-in-short-chains",
    )

    # widening through the library: refused at the hand-off
    outcome, msg = attempt(
        lambda: Delegator(researcher).delegate(
            chain, to=researcher.agent, to_key=researcher.public, caps=[GRANT], ttl=60
        )
    )
    step(
        "researcher asks the library to re-delegate itself all of customers/** (widening)",
        "scope_escalation",
        outcome,
        msg,
    )

    # widening by hand: a forged hop, signed with the researcher's real key
    now = int(verifier.clock.now())
    forged = widened(chain, researcher, now)
    report.write("forged-chain.txt", str(forged))
    forged_proof = Delegator(researcher).prove(
        forged, aud=TOOL, tool=US_READ.tool, resource=US_READ.resource, args=US_READ.args
    )
    outcome, msg = attempt(lambda: verifier.verify(forged, forged_proof, US_READ))
    step(
        "researcher signs the wider hop by hand and reads customers/us/7 with it",
        "scope_escalation",
        outcome,
        msg,
    )

    outcome, msg = attempt(lambda: verifier.verify(chain, proof, EU_READ))
    step(
        "someone replays the researcher's first proof, byte for byte",
        "proof_replayed",
        outcome,
        msg,
    )

    stolen = stolen_proof(chain, mallory, EU_READ, now)
    outcome, msg = attempt(lambda: verifier.verify(chain, stolen, EU_READ))
    step(
        "mallory steals the chain and presents it with a proof signed by her own key",
        "bad_signature",
        outcome,
        msg,
    )

    # restricted data: the chain allows it, the tool's own policy does not
    restricted = Delegator(researcher).prove(
        chain, aud=TOOL, tool=EU_READ.tool, resource=EU_READ.resource, args=EU_READ.args
    )
    outcome, msg = attempt(
        lambda: verifier.verify(chain, restricted, EU_READ, labels={"sensitivity": "restricted"})
    )
    step(
        "the same read, but the tool labels the record restricted: the chain would allow "
        "it, the tool's policy does not",
        "policy_denied",
        outcome,
        msg,
    )

    # the task closes: every token of the chain is revoked at once
    tasks.close(TASK, reason="review finished")
    late = Delegator(researcher).prove(
        chain, aud=TOOL, tool=EU_READ.tool, resource=EU_READ.resource, args=EU_READ.args
    )
    outcome, msg = attempt(lambda: verifier.verify(chain, late, EU_READ))
    step(
        f"the orchestrator closes task {TASK}; the researcher calls again",
        "revoked",
        outcome,
        msg,
    )
