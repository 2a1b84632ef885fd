"""Properties of the delegation graph as a whole (hypothesis), over every rule registered.

Analysis is a deterministic function of the facts: the same tokens and decisions added in
another order, or the same chains read from a file whose lines are shuffled, give the same
findings. And a deployment that does everything right (attenuated, accepted, receipted,
short chains inside the agents' baselines, in one trust domain, used while valid) yields
nothing above ``low``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from graph_scene import Scene
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CAP, NARROW

from delegation import Capability, Registry
from delegation.graph import DelegationGraph, load
from delegation.graph.facts import Invocation, TokenHop
from delegation.graph.findings import Location

SYNTHETIC = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCENES = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORG = "spiffe://acme.example"
AGENTS = [f"{ORG}/agent/s{i}" for i in range(5)]
ROOTS = [f"{ORG}/orchestrator", "spiffe://other.example/orchestrator"]
TOOLS = ["crm.read", "web.fetch", "mail.send", "crm.write"]
CAPS = [
    CAP,
    NARROW,
    Capability(tool="crm.*", resource="**"),
    Capability(tool="web.fetch", resource="**"),
    Capability(tool="mail.send", resource="outbox/**"),
]
RESOURCES = ["customers/eu/1", "outbox/x", "orders/9"]


def _registry() -> Registry:
    reg = Registry()
    reg.set_tool_labels("crm.read", ["sensitive_read"])
    reg.set_tool_labels("web.fetch", ["untrusted_input"])
    reg.set_tool_labels("mail.send", ["egress"])
    return reg


@st.composite
def facts(draw: st.DrawFn) -> tuple[list[TokenHop], list[Invocation]]:
    """A random forest of tokens (some with unknown parents or broken links) and decisions."""
    n = draw(st.integers(1, 10))
    hops: list[TokenHop] = []
    for i in range(n):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        sub = draw(st.sampled_from(AGENTS))
        if parent is None:
            iss, prf = draw(st.sampled_from(ROOTS)), draw(st.sampled_from([None, None, "gone"]))
        else:
            up = hops[parent]
            iss = up.sub if draw(st.booleans()) else draw(st.sampled_from(AGENTS))
            prf = up.token_id
        iat = 1_800_000_000 + draw(st.integers(0, 100))
        hops.append(
            TokenHop(
                token_id=f"tok{i:02d}",
                prf=prf,
                iss=iss,
                sub=sub,
                jti=f"jti{i}",
                task=draw(st.sampled_from(["T-1", "T-2"])),
                obo=draw(st.sampled_from([None, "user:alice", "user:bob"])),
                iat=iat,
                exp=iat + draw(st.integers(1, 7200)),
                dpth=draw(st.integers(0, 5)),
                caps=tuple(draw(st.lists(st.sampled_from(CAPS), min_size=1, max_size=3))),
                receipt=draw(st.booleans()),
                signature=draw(st.sampled_from(["valid", "invalid", "unknown"])),
                verified=draw(st.booleans()),
                seq=i + 1,
                seen_in=[Location("synthetic", i + 1)],
            )
        )
    invocations = []
    for j in range(draw(st.integers(0, 8))):
        leaf = hops[draw(st.integers(0, n - 1))]
        allowed = draw(st.booleans())
        invocations.append(
            Invocation(
                holder=leaf.sub,
                tool=draw(st.sampled_from(TOOLS)),
                resource=draw(st.sampled_from(RESOURCES)),
                leaf=leaf.token_id,
                task=leaf.task,
                obo=leaf.obo,
                ts=1_800_000_000.0 + j,
                allowed=allowed,
                code="allowed" if allowed else "action_not_granted",
                audience=f"{ORG}/tool/crm",
                proof_jti=f"p{j}",
                proof_iss=leaf.sub,
                where=Location("synthetic.log", j + 1),
                seq=100 + j,
            )
        )
    return hops, invocations


def _copy(hop: TokenHop) -> TokenHop:
    """A fresh record (the graph keeps and may update the one it is given)."""
    return dataclasses.replace(hop, seen_in=list(hop.seen_in))


def _graph(hops: list[TokenHop], invocations: list[Invocation]) -> DelegationGraph:
    graph = DelegationGraph(_registry())
    for hop in hops:
        graph.add_token(_copy(hop))
    for inv in invocations:
        graph.add_invocation(inv)
    return graph


def _dicts(graph: DelegationGraph, *, drop_locations: bool = False) -> list[dict[str, Any]]:
    out = [f.to_dict() for f in graph.findings()]
    if drop_locations:
        for d in out:
            d.pop("locations")
    return out


@SYNTHETIC
@given(facts(), st.randoms(use_true_random=False))
def test_findings_do_not_depend_on_the_order_of_facts(
    drawn: tuple[list[TokenHop], list[Invocation]], rnd: Any
) -> None:
    """The same tokens and decisions added in two different orders give the same findings."""
    hops, invocations = drawn
    first = _dicts(_graph(hops, invocations))
    hops2, invocations2 = list(hops), list(invocations)
    rnd.shuffle(hops2)
    rnd.shuffle(invocations2)
    assert _dicts(_graph(hops2, invocations2)) == first
    assert _dicts(_graph(hops, invocations)) == first  # and the same run twice


@st.composite
def trees(draw: st.DrawFn) -> list[int | None]:
    """Parents of up to six nodes (None: a root grant), each chain at most three hops long."""
    parents: list[int | None] = [None]
    depth = [1]
    for i in range(1, draw(st.integers(1, 6))):
        choices = [j for j in range(i) if depth[j] < 3]
        parent = draw(st.none() | st.sampled_from(choices)) if choices else None
        parents.append(parent)
        depth.append(1 if parent is None else depth[parent] + 1)
    return parents


def _deployment(tmp: Path, parents: list[int | None], calls: list[bool], label: bool) -> Scene:
    """Node i is agent a_i: accepted, receipted, narrowing chains, used while valid."""
    scene = Scene(tmp)
    if label:
        scene.world.registry.set_tool_labels("crm.read", ["sensitive_read"])
    accepted = []
    for i, parent in enumerate(parents):
        me = scene.agent(i)
        if parent is None:
            chain = scene.mint(me, [CAP])
        else:
            chain = scene.delegate(accepted[parent], scene.agent(parent), me, [NARROW])
        accepted.append(scene.accept(chain, me))
        if calls[i]:
            assert scene.call(chain, me) == "allowed"
    return scene


@SCENES
@given(trees(), st.lists(st.booleans(), min_size=6, max_size=6), st.booleans())
def test_well_behaved_deployment_yields_nothing_above_low(
    parents: list[int | None], calls: list[bool], label: bool
) -> None:
    """Attenuated, accepted, receipted, short chains inside baselines, used in time: <= low."""
    with tempfile.TemporaryDirectory() as tmp:
        scene = _deployment(Path(tmp), parents, calls, label)
        for graph in (scene.graph(), scene.chain_graph(), scene.combined_graph()):
            worst = {f.severity for f in graph.findings()}
            assert worst <= {"low", "info"}, [f.to_dict() for f in graph.findings()]


@SCENES
@given(trees(), st.lists(st.booleans(), min_size=6, max_size=6), st.randoms(use_true_random=False))
def test_shuffled_chain_lines_give_the_same_findings(
    parents: list[int | None], calls: list[bool], rnd: Any
) -> None:
    """A chain file read with its lines shuffled gives the same findings (locations aside)."""
    with tempfile.TemporaryDirectory() as tmp:
        scene = _deployment(Path(tmp), parents, calls, label=True)
        lines = [f"{c}\n" for c in scene.chains]
        graphs = []
        for name in ("a.txt", "b.txt"):
            path = Path(tmp) / name
            path.write_text("".join(lines))
            graphs.append(load([str(path)], registry=scene.world.registry))
            rnd.shuffle(lines)
        # A location names the first line a fact was read from, which the order decides;
        # everything else must not move.
        first, second = (_dicts(g, drop_locations=True) for g in graphs)
        assert first == second
