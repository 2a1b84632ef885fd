"""Graphs for the renderer tests: a planted Scene (real keys and audit log) and big ones.

``planted(tmp)`` runs a small deployment with two tasks in which a1 hand-signs a widened
hop to a2 (DLG001 fires, critical); ``synthetic(edges)`` builds a graph of about that many
edges straight from :class:`TokenHop` records (no signing), for size and speed tests;
``hostile()`` is a graph whose agent ids, tools, tasks and principals try to break out of
every output syntax.
"""

from __future__ import annotations

from pathlib import Path

from forging import forge
from graph_scene import Scene
from support import NARROW, T0

from delegation import Capability, Chain
from delegation.graph import DelegationGraph, Finding, TokenHop
from delegation.graph.facts import Invocation

__all__ = ["HOSTILE", "hostile", "planted", "synthetic"]

WIDE = Capability(tool="crm.*", resource="**")
READ = Capability(tool="crm.read", resource="customers/**")


def planted(tmp: Path) -> tuple[Scene, DelegationGraph, list[Finding]]:
    """Two tasks, a call allowed, a call refused, and one forged widening hop (DLG001)."""
    s = Scene(tmp)
    a = [s.agent(i) for i in range(6)]
    root = s.mint(a[0])
    chain = s.delegate(s.accept(root, a[0]), a[0], a[1], [NARROW])
    assert s.call(chain, a[1]) == "allowed"
    honest = s.delegate(s.accept(chain, a[1]), a[1], a[2], [NARROW])
    forged = forge(honest.tokens[-1], signer=a[1], claims={"caps": [WIDE.to_wire()]})
    bad = Chain([*honest.tokens[:-1], forged])
    s.chains.append(bad)
    assert s.call(bad, a[2]) == "scope_escalation"
    s.later(120)
    root2 = s.mint(a[3], task="T-2", obo="user:bob")
    accepted = s.accept(root2, a[3])
    s.delegate(accepted, a[3], a[4], [NARROW])
    s.later(240)
    late = s.delegate(accepted, a[3], a[5], [NARROW])
    assert s.call(late, a[5]) == "allowed"
    graph = s.combined_graph()
    return s, graph, graph.findings(rules=["DLG001"])  # one finding: its witness is checked


def synthetic(edges: int = 5000, *, tasks: int = 40, agents: int = 600) -> DelegationGraph:
    """About ``edges`` edges: ``tasks`` delegation trees (fan-out 3) plus tool calls."""
    g = DelegationGraph()
    per_task = max(1, int(edges * 0.88) // tasks)
    for t in range(tasks):
        ids: list[str] = []
        for k in range(per_task):
            parent = None if k == 0 else ids[(k - 1) // 3]
            iss = "spiffe://corp.example/orchestrator" if k == 0 else _holder(g, parent)
            domain = "corp" if t % 4 else "partner"
            sub = f"spiffe://{domain}.example/agent/a{(t * 37 + k * 7 + 1) % agents}"
            if sub == iss:
                sub += "x"
            tid = f"tok-{t:03d}-{k:04d}"
            g.add_token(
                TokenHop(
                    token_id=tid,
                    prf=parent,
                    iss=iss,
                    sub=sub,
                    jti=f"jti-{t}-{k}",
                    task=f"T-{t:03d}",
                    obo=f"user:u{t % 9}",
                    iat=T0 + t * 60 + k,
                    exp=T0 + t * 60 + k + 600,
                    dpth=5,
                    caps=(READ,),
                    verified=True,
                )
            )
            ids.append(tid)
            if k % 6 == 5:
                g.add_invocation(
                    Invocation(
                        holder=sub,
                        tool=f"crm.tool{k % 9}",
                        resource="customers/1",
                        leaf=tid,
                        task=f"T-{t:03d}",
                        obo=f"user:u{t % 9}",
                        ts=float(T0 + t * 60 + k + 5),
                        allowed=k % 4 != 1,
                        code="allowed" if k % 4 != 1 else "policy_denied",
                        audience="spiffe://corp.example/tool/crm",
                    )
                )
    return g


def _holder(g: DelegationGraph, token: str | None) -> str:
    assert token is not None
    return g.tokens[token].sub


HOSTILE = [
    'spiffe://evil.example/<script>alert("x")</script>',
    "spiffe://evil.example/a\"b'c\\N\\G",
    "spiffe://evil.example/line\nbreak\rcr\ttab",
    "spiffe://evil.example/--> n0 ]]> <!-- x",
    "spiffe://evil.example/{{}}|[x](y)#35;&amp;",
]


def hostile() -> tuple[DelegationGraph, list[Finding]]:
    """A chain through every hostile id, a hostile tool and principal, one finding."""
    g = DelegationGraph()
    prev = None
    names = ["spiffe://evil.example/root", *HOSTILE]
    for k in range(len(names) - 1):
        tid = f"h{k}"
        g.add_token(
            TokenHop(
                token_id=tid,
                prf=prev,
                iss=names[k],
                sub=names[k + 1],
                jti=f"j{k}",
                task='T-"</script>',
                obo="user:<img src=x onerror=alert(1)>",
                iat=T0 + k,
                exp=T0 + 600,
                dpth=9,
                caps=(Capability(tool="crm.read", resource="a/<b>/**"),),
            )
        )
        prev = tid
    g.add_invocation(
        Invocation(
            holder=HOSTILE[-1],
            tool="crm.<script>x</script>",
            resource="r",
            leaf=prev,
            task='T-"</script>',
            obo=None,
            ts=float(T0 + 10),
            allowed=False,
            code="policy_denied",
            audience="aud",
        )
    )
    finding = Finding(
        rule="DLG001",
        severity="critical",
        title="<b>title</b>",
        message='"--> </script><script>alert(1)</script>',
        key=(prev or "",),
        path=g.witness(prev or ""),
    )
    return g, [finding]
