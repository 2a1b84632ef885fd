"""``delegation demo``: the whole story in one process, offline, on embedded defaults.

An orchestrator opens a task and grants a planner read access to customer records for
it, on behalf of a user; the planner verifies and accepts the delegation under its own
policy, then hands a narrower slice to a researcher with a signed receipt; the
researcher accepts too and calls the CRM tool with a proof of possession. The tool
re-authenticates the caller and re-authorizes the request under its own rules (a policy
file), requiring a receipt for every hop. Then five things that must fail, fail, each
with its code: widening the grant, replaying a proof, presenting a stolen chain without
its key, asking for restricted data, and using the chain after the task is closed. Every
event lands in a hash-chained audit log, which is checked at the end.

Only the public API is used; the two forgeries are signed by hand with ``AgentKey.sign``
because :class:`~delegation.Delegator` refuses to make them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from delegation import (
    AgentKey,
    AuditReport,
    Capability,
    Chain,
    DelegationError,
    Delegator,
    FileError,
    JsonlAudit,
    Registry,
    Request,
    RulesPolicy,
    SQLiteStore,
    Tasks,
    VerifiedChain,
    Verifier,
    parse_unverified,
    verify_log,
)

if TYPE_CHECKING:
    from delegation.graph import DelegationGraph, Finding

__all__ = ["ALLOW", "ATTACKER", "DEMO_FILES", "ORG", "DemoReport", "Step", "play_demo"]

ORG = "spiffe://acme.example"
ORCHESTRATOR = f"{ORG}/orchestrator"
PLANNER = f"{ORG}/agent/planner"
RESEARCHER = f"{ORG}/agent/researcher"
TOOL = f"{ORG}/tool/crm"
ATTACKER = "spiffe://evil.example/agent/mallory"
TASK = "T-42"
OBO = "user:alice"
ALLOW = "allow"

GRANT = Capability(tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 100}})
SLICE = Capability(
    tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 50}}
)
EU_READ = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10})
US_READ = Request(tool="crm.read", resource="customers/us/7", args={"max_rows": 100})

_STATE_FILES = ("audit.jsonl", "store.sqlite", "store.sqlite-wal", "store.sqlite-shm")
_MARKER = ".delegation-demo"  # written first: this directory is the demo's own
_CAST = ("orchestrator", "planner", "researcher", "tool", "mallory")

#: Every name the demo writes in its directory; a re-run may overwrite these, and only
#: in a directory that holds the demo's marker and nothing else.
DEMO_FILES = frozenset(
    {
        _MARKER,
        *_STATE_FILES,
        *(f"{who}.{kind}.json" for who in _CAST for kind in ("key", "pub")),
        "registry.json",
        "agent-policy.yaml",
        "tool-policy.yaml",
        "chain.txt",
        "proof.txt",
        "forged-chain.txt",
        "report.json",
        "report.sarif",
        "graph.html",
    }
)

# The agents' own policy for accepting work, and the tool's policy for serving it.
AGENT_POLICY = f"""\
version: 1
rules:
  - id: accept-crm-reads-for-alice
    effect: allow
    actions: [accept]
    tool: crm.read
    resource: "customers/**"
    when: {{root_in: ["{ORCHESTRATOR}"], obo_in: ["{OBO}"]}}
"""
TOOL_POLICY = f"""\
version: 1
rules:
  - id: crm-reads-in-short-chains
    effect: allow
    tool: crm.read
    resource: "customers/**"
    when:
      root_in: ["{ORCHESTRATOR}"]
      max_depth: 3
      args: {{max_rows: {{max: 100}}}}
  - id: no-restricted-data
    effect: deny
    tool: "**"
    reason: restricted records need a human in the loop
    when: {{labels: {{sensitivity: [restricted]}}}}
"""


@dataclass
class Step:
    """One step of the story: what was tried, what should happen, what did."""

    n: int
    title: str
    expected: str  # "allow" (or "ok") or the error code that must come back
    outcome: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == self.expected

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "title": self.title,
            "expected": self.expected,
            "outcome": self.outcome,
            "ok": self.ok,
            "detail": self.detail,
        }


@dataclass
class DemoReport:
    """Everything the demo did, for the story (text) or the JSON summary."""

    out: Path
    steps: list[Step] = field(default_factory=list)
    audit: AuditReport | None = None
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    graph: DelegationGraph | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and self.audit is not None and self.audit.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "steps": [s.to_dict() for s in self.steps],
            "out": str(self.out),
            "audit": self.audit.to_dict() if self.audit else None,
            "files": self.files,
            "findings": [f.to_dict() for f in self.findings],
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _forge(key: AgentKey, typ: str, claims: dict[str, Any]) -> str:
    """Sign a compact JWS by hand (what an attacker with a key can always do)."""
    header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{_b64(key.sign(signing_input.encode('ascii')))}"


def _attempt(call: Callable[[], object]) -> tuple[str, str]:
    """Run ``call``; ("allow", "") when it returns, (code, message) when it raises."""
    try:
        call()
    except DelegationError as exc:
        return exc.code, exc.message
    return ALLOW, ""


def _fresh_dir(out_dir: Path | None, *, force: bool = False) -> Path:
    """The demo's directory: a new temp dir, a new or empty ``out_dir``, or one the demo
    filled before (its marker and its files only). Anything else is ``file_error`` unless
    ``force``: the demo writes private keys over whatever has their names."""
    if out_dir is None:
        out = Path(tempfile.mkdtemp(prefix="delegation-demo-"))
    else:
        out = out_dir
        if out.exists() and not out.is_dir():
            raise FileError(f"--out {out} is not a directory")
        try:
            out.mkdir(parents=True, exist_ok=True)
            present = set(os.listdir(out))
        except OSError as exc:
            raise FileError(f"cannot use --out {out}: {exc.strerror}") from None
        ours = not present or (_MARKER in present and present <= DEMO_FILES)
        if not ours and not force:
            raise FileError(
                f"--out {out} holds files the demo did not write; refusing to overwrite "
                "them (use an empty directory, or --force)"
            )
    try:
        (out / _MARKER).write_text("files written by 'delegation demo'\n", encoding="utf-8")
        for name in _STATE_FILES:  # a re-run starts from a clean log and store
            (out / name).unlink(missing_ok=True)
    except OSError as exc:
        raise FileError(f"cannot write in {out}: {exc.strerror}") from None
    return out


def play_demo(out_dir: Path | None, *, force: bool = False) -> DemoReport:
    """Play the story, writing keys, registry, chains, store and audit log into ``out_dir``.

    ``out_dir`` defaults to a fresh temporary directory. An existing ``out_dir`` must be
    empty or hold only a previous run's files (:data:`DEMO_FILES`), unless ``force``.
    Returns the report; nothing is printed. Raises ``DelegationError`` only if the
    environment fails: ``file_error`` for an unusable or foreign ``out_dir``.
    """
    out = _fresh_dir(out_dir, force=force)
    report = DemoReport(out=out)

    def step(title: str, expected: str, outcome: str, detail: str = "") -> None:
        report.steps.append(Step(len(report.steps) + 1, title, expected, outcome, detail))

    def write(name: str, text: str) -> None:
        (out / name).write_text(text + "\n", encoding="utf-8")
        report.files.append(name)

    # 1. keys
    keys = {
        name: AgentKey.generate(agent)
        for name, agent in (
            ("orchestrator", ORCHESTRATOR),
            ("planner", PLANNER),
            ("researcher", RESEARCHER),
            ("tool", TOOL),
            ("mallory", ATTACKER),
        )
    }
    for name, key in keys.items():
        key.save(out / f"{name}.key.json", public_path=out / f"{name}.pub.json")
        report.files += [f"{name}.key.json", f"{name}.pub.json"]
    orch, planner, researcher, mallory = (
        keys["orchestrator"],
        keys["planner"],
        keys["researcher"],
        keys["mallory"],
    )
    step(
        "everyone generates an Ed25519 key pair",
        "ok",
        "ok",
        ", ".join(f"{n} {k.kid[:8]}" for n, k in keys.items()),
    )

    # 2. registry
    registry = Registry()
    registry.add_root(orch.agent, orch.public)
    registry.add_agent(planner.agent, planner.public, role="planner", baseline=[GRANT])
    registry.add_agent(researcher.agent, researcher.public, role="researcher", baseline=[SLICE])
    registry.add_agent(TOOL, keys["tool"].public, role="tool")
    registry.save(out / "registry.json")
    report.files.append("registry.json")
    step(
        "registry: the orchestrator is the trusted root; planner, researcher and tool are "
        "registered with their keys and baselines",
        "ok",
        "ok",
        "registry.json",
    )

    write("agent-policy.yaml", AGENT_POLICY.rstrip())
    write("tool-policy.yaml", TOOL_POLICY.rstrip())
    store = SQLiteStore(out / "store.sqlite")
    audit = JsonlAudit(out / "audit.jsonl")
    try:
        tasks = Tasks(store, audit=audit)
        deadline = tasks.open(TASK, ttl=900, owner=OBO, purpose="quarterly churn review")
        step(
            f"the orchestrator opens task {TASK} for {OBO}, 15 minutes",
            "ok",
            "ok",
            f"deadline {int(deadline.deadline)}",
        )

        def accept_as(key: AgentKey, chain: Chain) -> tuple[str, str, VerifiedChain | None]:
            verifier = Verifier(
                registry=registry,
                audience=key.agent,
                policy=RulesPolicy.load(out / "agent-policy.yaml"),
                revocations=store,
                audit=audit,
            )
            try:
                return ALLOW, "", verifier.accept(chain)
            except DelegationError as exc:
                return exc.code, exc.message, None

        root = Delegator(orch, tasks=tasks, registry=registry, audit=audit).mint(
            to=planner.agent,
            to_key=planner.public,
            caps=[GRANT],
            ttl=600,
            depth=2,
            task=TASK,
            obo=OBO,
            purpose="quarterly churn review",
        )
        step(f"orchestrator → planner: {GRANT}, depth 2, within the task", "ok", "ok")
        outcome, msg, accepted = accept_as(planner, root)
        step(
            "the planner verifies the delegation and accepts it under its own policy",
            ALLOW,
            outcome,
            msg or "agent-policy.yaml: accept-crm-reads-for-alice",
        )
        if accepted is None:
            return report
        chain = Delegator(planner, tasks=tasks, registry=registry, audit=audit).delegate(
            accepted, to=researcher.agent, to_key=researcher.public, caps=[SLICE], ttl=300
        )
        write("chain.txt", str(chain))
        step(
            f"planner → researcher: narrower slice {SLICE}, 5 min, with the planner's "
            "signed receipt of its acceptance",
            "ok",
            "ok",
            "chain.txt",
        )
        outcome, msg, _ = accept_as(researcher, chain)
        step("the researcher verifies and accepts its delegation", ALLOW, outcome, msg)

        verifier = Verifier(
            registry=registry,
            audience=TOOL,
            policy=RulesPolicy.load(out / "tool-policy.yaml"),
            revocations=store,
            replay=store,
            audit=audit,
            require_receipts=True,
        )
        _play_calls(report, step, write, verifier, tasks, chain, researcher, mallory)
    finally:
        store.close()
    report.files += ["store.sqlite", "audit.jsonl"]

    # 10. audit
    report.audit = verify_log(out / "audit.jsonl")
    step(
        "the audit log's hash chain is intact",
        "ok",
        "ok" if report.audit.ok else "audit_tampered",
        f"{report.audit.records} events recorded (task, mints, acceptances, decisions)",
    )
    _analyze(report, step, registry)
    return report


# What the attacks must leave in the delegation graph: the forged wider hop (DLG001) and
# the replayed proof (DLG016).
EXPECTED_RULES = ("DLG001", "DLG016")


def _analyze(report: DemoReport, step: Callable[..., None], registry: Registry) -> None:
    """Build the delegation graph of the audit log and chain files; save the reports."""
    from delegation.graph import load
    from delegation.graph.report import to_json, to_sarif

    out = report.out
    inputs = [str(out / name) for name in ("audit.jsonl", "chain.txt", "forged-chain.txt")]
    graph = load(inputs, registry=registry)
    findings = graph.findings()
    report.graph = graph
    report.findings = findings
    for name, body in (
        ("report.json", to_json(graph, findings)),
        ("report.sarif", to_sarif(graph, findings)),
    ):
        (out / name).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        report.files.append(name)
    (out / "graph.html").write_text(graph.render_html(findings), encoding="utf-8")
    report.files.append("graph.html")
    found = sorted({f.rule for f in findings})
    missing = [r for r in EXPECTED_RULES if r not in found]
    step(
        "an analyst builds the delegation graph from the audit log and the chains: the "
        "attacks left findings behind",
        "ok",
        "ok" if not missing else f"missing {', '.join(missing)}",
        f"{len(findings)} findings ({', '.join(found) or 'none'}); report.json, "
        "report.sarif, graph.html",
    )


def _play_calls(
    report: DemoReport,
    step: Callable[..., None],
    write: Callable[[str, str], None],
    verifier: Verifier,
    tasks: Tasks,
    chain: Chain,
    researcher: AgentKey,
    mallory: AgentKey,
) -> None:
    # 5. the legitimate call
    proof = Delegator(researcher).prove(
        chain, aud=TOOL, tool=EU_READ.tool, resource=EU_READ.resource, args=EU_READ.args
    )
    write("proof.txt", proof)
    outcome, msg = _attempt(lambda: verifier.verify(chain, proof, EU_READ))
    step(
        "researcher calls the CRM tool: crm.read customers/eu/42 max_rows=10, with a fresh "
        "proof of possession; the tool verifies chain, receipts and proof, then its own "
        "rules",
        ALLOW,
        outcome,
        msg or "tool-policy.yaml: crm-reads-in-short-chains",
    )

    # 6a. widening through the library: refused at the hand-off
    outcome, msg = _attempt(
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

    # 6b. widening by hand: a forged hop, signed with the researcher's real key
    parent = parse_unverified(chain)[-1]
    pc = parent.claims.to_payload()
    now = int(verifier.clock.now())
    forged_claims = {
        "iss": researcher.agent,
        "sub": researcher.agent,
        "aud": researcher.agent,
        "iat": now,
        "nbf": now,
        "exp": min(pc["exp"], now + 60),
        "jti": _b64(secrets.token_bytes(16)),
        "cnf": {"jwk": researcher.public.jwk},
        "prf": parent.token_id,
        "task": pc["task"],
        "obo": pc["obo"],
        "caps": [GRANT.to_wire()],
        "dpth": 0,
        "act": {"sub": researcher.agent, "act": pc["act"]},
    }
    forged = Chain([*chain.tokens, _forge(researcher, "deleg+jwt", forged_claims)])
    write("forged-chain.txt", str(forged))
    forged_proof = Delegator(researcher).prove(
        forged, aud=TOOL, tool=US_READ.tool, resource=US_READ.resource, args=US_READ.args
    )
    outcome, msg = _attempt(lambda: verifier.verify(forged, forged_proof, US_READ))
    step(
        "researcher signs the wider hop by hand and reads customers/us/7 with it",
        "scope_escalation",
        outcome,
        msg,
    )

    # 7. replay
    outcome, msg = _attempt(lambda: verifier.verify(chain, proof, EU_READ))
    step(
        "someone replays the researcher's first proof, byte for byte",
        "proof_replayed",
        outcome,
        msg,
    )

    # 8. stolen chain, no key
    stolen_claims = {
        "iss": mallory.agent,
        "aud": TOOL,
        "iat": now,
        "exp": now + 60,
        "jti": _b64(secrets.token_bytes(16)),
        "chn": parent.token_id,
        "req": {
            "tool": EU_READ.tool,
            "resource": EU_READ.resource,
            "args": EU_READ.args_digest,
        },
    }
    stolen_proof = _forge(mallory, "deleg-proof+jwt", stolen_claims)
    outcome, msg = _attempt(lambda: verifier.verify(chain, stolen_proof, EU_READ))
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
    outcome, msg = _attempt(
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
    outcome, msg = _attempt(lambda: verifier.verify(chain, late, EU_READ))
    step(
        f"the orchestrator closes task {TASK}; the researcher calls again",
        "revoked",
        outcome,
        msg,
    )
