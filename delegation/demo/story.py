"""The demo's story, shared by both modes: the cast, their rules, the forgeries, the report.

An orchestrator opens a task and grants a planner read access to customer records for
it, on behalf of a user; the planner accepts under its own rules and hands a narrower
slice to a researcher with a signed receipt; the researcher accepts too and calls the CRM
tool, which re-authorizes the request under its own rules. Then the attacks a reviewer
would try, each of which must be refused with its code, and the delegation graph of the
audit log, which must find what they left behind.

:mod:`delegation.demo.in_process` plays it with function calls in one process;
:mod:`delegation.demo.network` with each agent a separate process on its own port. Only
the public API is used; the forgeries are signed by hand with ``AgentKey.sign`` because
:class:`~delegation.Delegator` refuses to make them.
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
    Registry,
    Request,
    Tasks,
    parse_unverified,
)
from delegation.keys import PublicKey

if TYPE_CHECKING:
    from delegation.graph import DelegationGraph, Finding

__all__ = [
    "ALLOW",
    "ATTACKER",
    "DEMO_FILES",
    "ORG",
    "DemoReport",
    "Step",
    "analyze",
    "attempt",
    "check_audit",
    "fresh_dir",
    "open_and_grant",
    "rerooted",
    "set_the_stage",
    "stolen_proof",
    "widened",
]

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
CAST = {
    "orchestrator": ORCHESTRATOR,
    "planner": PLANNER,
    "researcher": RESEARCHER,
    "tool": TOOL,
    "mallory": ATTACKER,
}
#: The processes of the multi-process demo (mallory has none: she is the one outside).
SERVERS = ("orchestrator", "planner", "researcher", "tool")

#: Every name the demo writes in its directory; a re-run may overwrite these, and only
#: in a directory that holds the demo's marker and nothing else.
DEMO_FILES = frozenset(
    {
        _MARKER,
        *_STATE_FILES,
        *(f"{who}.{kind}.json" for who in CAST for kind in ("key", "pub")),
        *(f"{who}.log" for who in SERVERS),
        "registry.json",
        "planner-policy.yaml",
        "researcher-policy.yaml",
        "tool-policy.yaml",
        "agents.json",
        "chain.txt",
        "proof.txt",
        "forged-chain.txt",
        "rerooted-chain.txt",
        "report.json",
        "report.sarif",
        "graph.html",
    }
)


def agent_policy(agent: str) -> str:
    """An agent's own rules for accepting work: CRM reads for alice, from the orchestrator."""
    name = agent.rsplit("/", 1)[-1]
    return f"""\
version: 1
rules:
  - id: {name}-accepts-crm-reads-for-alice
    effect: allow
    actions: [accept]
    tool: crm.read
    resource: "customers/**"
    when: {{root_in: ["{ORCHESTRATOR}"], obo_in: ["{OBO}"]}}
"""


# The tool's policy for serving.
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
    mode: str = "in-process"  # or "processes": each agent a separate process
    steps: list[Step] = field(default_factory=list)
    audit: AuditReport | None = None
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    graph: DelegationGraph | None = field(default=None, repr=False)
    #: called with each step as it is recorded: the terminal tells the story as it happens
    listener: Callable[[Step], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and self.audit is not None and self.audit.ok

    def step(self, title: str, expected: str, outcome: str, detail: str = "") -> Step:
        """Record the next step of the story; returns it."""
        added = Step(len(self.steps) + 1, title, expected, outcome, detail)
        self.steps.append(added)
        if self.listener is not None:
            self.listener(added)
        return added

    def write(self, name: str, text: str) -> None:
        """Write ``text`` (one trailing newline) as file ``name`` of the demo's directory."""
        (self.out / name).write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        self.files.append(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
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


def attempt(call: Callable[[], object]) -> tuple[str, str]:
    """Run ``call``; ("allow", "") when it returns, (code, message) when it raises."""
    try:
        call()
    except DelegationError as exc:
        return exc.code, exc.message
    return ALLOW, ""


def fresh_dir(out_dir: Path | None, *, force: bool = False) -> Path:
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


def set_the_stage(report: DemoReport) -> tuple[dict[str, AgentKey], Registry]:
    """Everyone's key pair, the registry (the orchestrator the root; baselines) and each
    one's rules file, written into the demo's directory: the story's first two steps."""
    out = report.out
    keys = {name: AgentKey.generate(agent) for name, agent in CAST.items()}
    for name, key in keys.items():
        key.save(out / f"{name}.key.json", public_path=out / f"{name}.pub.json")
        report.files += [f"{name}.key.json", f"{name}.pub.json"]
    report.step(
        "everyone generates an Ed25519 key pair",
        "ok",
        "ok",
        ", ".join(f"{n} {k.kid[:8]}" for n, k in keys.items()),
    )
    registry = Registry()
    registry.add_root(ORCHESTRATOR, keys["orchestrator"].public)
    registry.add_agent(PLANNER, keys["planner"].public, role="planner", baseline=[GRANT])
    registry.add_agent(RESEARCHER, keys["researcher"].public, role="researcher", baseline=[SLICE])
    registry.add_agent(TOOL, keys["tool"].public, role="tool")
    registry.save(out / "registry.json")
    report.files.append("registry.json")
    report.write("planner-policy.yaml", agent_policy(PLANNER))
    report.write("researcher-policy.yaml", agent_policy(RESEARCHER))
    report.write("tool-policy.yaml", TOOL_POLICY)
    report.step(
        "registry: the orchestrator is the trusted root; planner, researcher and tool are "
        "registered with their keys and baselines; each has its own rules file",
        "ok",
        "ok",
        "registry.json, planner-policy.yaml, researcher-policy.yaml, tool-policy.yaml",
    )
    return keys, registry


def open_and_grant(tasks: Tasks, orchestrator: Delegator, to_key: PublicKey) -> tuple[int, Chain]:
    """The orchestrator opens task :data:`TASK` for alice (15 minutes) and grants the
    planner :data:`GRANT` in it (10 minutes, depth 2): the deadline and the root grant."""
    purpose = "quarterly churn review"
    deadline = tasks.open(TASK, ttl=900, owner=OBO, purpose=purpose)
    root = orchestrator.mint(
        to=PLANNER,
        to_key=to_key,
        caps=[GRANT],
        ttl=600,
        depth=2,
        task=TASK,
        obo=OBO,
        purpose=purpose,
    )
    return int(deadline.deadline), root


def _jti() -> str:
    return _b64(secrets.token_bytes(16))


def widened(chain: Chain, key: AgentKey, now: int) -> Chain:
    """``chain`` plus a hop its holder ``key`` signs by hand, to itself, for all of
    :data:`GRANT` (wider than the slice it holds)."""
    parent = parse_unverified(chain)[-1]
    pc = parent.claims.to_payload()
    claims = {
        "iss": key.agent,
        "sub": key.agent,
        "aud": key.agent,
        "iat": now,
        "nbf": now,
        "exp": min(pc["exp"], now + 60),
        "jti": _jti(),
        "cnf": {"jwk": key.public.jwk},
        "prf": parent.token_id,
        "task": pc["task"],
        "obo": pc["obo"],
        "caps": [GRANT.to_wire()],
        "dpth": 0,
        "act": {"sub": key.agent, "act": pc["act"]},
    }
    return Chain([*chain.tokens, _forge(key, "deleg+jwt", claims)])


def stolen_proof(chain: Chain, thief: AgentKey, request: Request, now: int) -> str:
    """A proof for ``request`` to the tool over a stolen ``chain``, signed by the thief's
    own key (she does not have the holder's)."""
    claims = {
        "iss": thief.agent,
        "aud": TOOL,
        "iat": now,
        "exp": now + 60,
        "jti": _jti(),
        "chn": parse_unverified(chain)[-1].token_id,
        "req": {"tool": request.tool, "resource": request.resource, "args": request.args_digest},
    }
    return _forge(thief, "deleg-proof+jwt", claims)


def rerooted(planner: AgentKey, to: str, to_key: PublicKey, now: int) -> Chain:
    """A root grant the (compromised) planner signs as if it were the orchestrator: all
    of the CRM, depth 5, for a day, to agent ``to``, in the task it serves."""
    claims = {
        "iss": planner.agent,
        "sub": to,
        "aud": to,
        "iat": now,
        "nbf": now,
        "exp": now + 86400,
        "jti": _jti(),
        "cnf": {"jwk": to_key.jwk},
        "task": TASK,
        "obo": OBO,
        "dpth": 5,
        "act": {"sub": planner.agent},
        "caps": [Capability(tool="crm.*", resource="**").to_wire()],
    }
    return Chain([_forge(planner, "deleg+jwt", claims)])


# What the attacks must leave in the delegation graph: the forged wider hop (DLG001) and
# the replayed proof (DLG016); in the multi-process story also the re-rooting (DLG018).
EXPECTED_RULES = ("DLG001", "DLG016")


def analyze(
    report: DemoReport,
    registry: Registry,
    chains: tuple[str, ...],
    expected: tuple[str, ...] = EXPECTED_RULES,
) -> None:
    """Build the delegation graph of the audit log and the ``chains`` files; save
    report.json, report.sarif and graph.html; the step passes if every ``expected`` rule
    has a finding."""
    from delegation.graph import load
    from delegation.graph.report import to_json, to_sarif

    out = report.out
    graph = load([str(out / name) for name in ("audit.jsonl", *chains)], registry=registry)
    findings = graph.findings()
    report.graph = graph
    report.findings = findings
    for name, body in (
        ("report.json", to_json(graph, findings)),
        ("report.sarif", to_sarif(graph, findings)),
    ):
        report.write(name, json.dumps(body, indent=2))
    report.write("graph.html", graph.render_html(findings))
    found = sorted({f.rule for f in findings})
    missing = [r for r in expected if r not in found]
    report.step(
        "an analyst builds the delegation graph from the audit log and the chains: the "
        "attacks left findings behind",
        "ok",
        "ok" if not missing else f"missing {', '.join(missing)}",
        f"{len(findings)} findings ({', '.join(found) or 'none'}); report.json, "
        "report.sarif, graph.html",
    )


def check_audit(report: DemoReport) -> None:
    """Verify the shared audit log's hash chain: the story's step after the attacks."""
    from delegation import verify_log

    report.audit = verify_log(report.out / "audit.jsonl")
    report.step(
        "the audit log's hash chain is intact",
        "ok",
        "ok" if report.audit.ok else "audit_tampered",
        f"{report.audit.records} events recorded (task, mints, acceptances, decisions)",
    )
