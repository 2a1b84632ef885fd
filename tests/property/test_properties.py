"""Properties of the attenuation algebra, of minting, and of chain verification (hypothesis).

The algebra laws (DESIGN "Capability"): ``covers`` is reflexive and transitive, and sound
(``covers(p, c) and allows(c, r)`` implies ``allows(p, r)``). Minting only narrows, and
every chain the Delegator builds verifies. Verification is brittle in the right way: any
single-byte change of a chain or proof, and any reordering, truncation, splice or
dropped hop of a chain, is rejected with a ``DelegationError`` (never accepted, never
another exception). Keys, worlds and the pools of chains are built once per module.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from forging import forge
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from support import REQ, World

from delegation import (
    AgentKey,
    Capability,
    Chain,
    DelegationError,
    Request,
    SecurityWarning,
    Verifier,
    allows,
    covers,
    parse_unverified,
)
from delegation.capabilities import pattern_covers

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LITERALS = ("a", "b", "c")
NUMBERS = st.one_of(st.integers(-5, 5), st.sampled_from([-2.5, 0.5, 3.5]))
WORDS = st.text("ab", max_size=3)
Draw = Callable[[st.SearchStrategy[Any]], Any]  # a composite's draw, or data.draw
T = TypeVar("T")

# --------------------------------------------------------------------------------------
# strategies: patterns, constraints, capabilities, requests
# --------------------------------------------------------------------------------------


@st.composite
def pattern_segments(draw: st.DrawFn) -> list[str]:
    """Segments of a pattern: literals and ``*``, optionally a trailing ``**``."""
    head = draw(st.lists(st.sampled_from([*LITERALS, "*"]), max_size=3))
    glob = draw(st.booleans()) or not head
    return head + (["**"] if glob else [])


def tool_patterns() -> st.SearchStrategy[str]:
    """Tool patterns (dot-separated)."""
    return pattern_segments().map(".".join)


def resource_patterns() -> st.SearchStrategy[str]:
    """Resource patterns (slash-separated)."""
    return pattern_segments().map("/".join)


def numeric_constraints() -> st.SearchStrategy[dict[str, Any]]:
    """Satisfiable numeric constraints: max, min, a range, one_of, equals."""
    return st.one_of(
        NUMBERS.map(lambda a: {"max": a}),
        NUMBERS.map(lambda a: {"min": a}),
        st.tuples(NUMBERS, NUMBERS).map(lambda t: {"min": min(t), "max": max(t)}),
        st.lists(st.integers(-5, 5), min_size=1, max_size=3, unique=True).map(
            lambda v: {"one_of": v}
        ),
        NUMBERS.map(lambda a: {"equals": a}),
    )


def string_constraints() -> st.SearchStrategy[dict[str, Any]]:
    """Satisfiable string constraints: prefix, one_of, equals."""
    return st.one_of(
        WORDS.map(lambda p: {"prefix": p}),
        st.lists(WORDS, min_size=1, max_size=3, unique=True).map(lambda v: {"one_of": v}),
        WORDS.map(lambda v: {"equals": v}),
    )


def constraint_sets() -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """Constraints on the arguments ``n`` (numeric) and ``s`` (string), each optional."""
    return st.fixed_dictionaries(
        {}, optional={"n": numeric_constraints(), "s": string_constraints()}
    )


def capabilities(*, bare_globstar_tool: bool = True) -> st.SearchStrategy[Capability]:
    """Random capabilities (optionally never the ``**`` tool, which warns when delegable)."""
    tools = tool_patterns()
    if not bare_globstar_tool:
        tools = tools.filter(lambda t: t != "**")
    return st.builds(
        lambda t, r, c: Capability(tool=t, resource=r, constraints=c),
        tools,
        resource_patterns(),
        constraint_sets(),
    )


ARG_VALUES = st.one_of(NUMBERS, st.integers(-7, 7), WORDS, st.booleans(), st.none())


@st.composite
def random_requests(draw: st.DrawFn) -> Request:
    """Concrete requests over the same small alphabet."""
    tool = ".".join(draw(st.lists(st.sampled_from(LITERALS), min_size=1, max_size=4)))
    resource = "/".join(draw(st.lists(st.sampled_from(LITERALS), min_size=1, max_size=4)))
    args = draw(st.fixed_dictionaries({}, optional={"n": ARG_VALUES, "s": ARG_VALUES}))
    return Request(tool=tool, resource=resource, args=args)


def _instance(draw: Draw, pattern: str, sep: str) -> str:
    out: list[str] = []
    for seg in pattern.split(sep):
        if seg == "*":
            out.append(draw(st.sampled_from(LITERALS)))
        elif seg == "**":
            out += draw(st.lists(st.sampled_from(LITERALS), max_size=2))
        else:
            out.append(seg)
    return sep.join(out or ["a"])


def _satisfying(draw: Draw, kinds: dict[str, Any]) -> Any:
    if "equals" in kinds:
        return kinds["equals"]
    if "one_of" in kinds:
        return draw(st.sampled_from(kinds["one_of"]))
    if "prefix" in kinds:
        return kinds["prefix"] + draw(st.text("ab", max_size=2))
    lo = kinds.get("min", kinds.get("max", 0) - 7)
    hi = kinds.get("max", lo + 7)
    candidates = [lo, hi, *range(math.ceil(lo), math.floor(hi) + 1)]
    return draw(st.sampled_from([v for v in candidates if lo <= v <= hi]))


@st.composite
def instances(draw: st.DrawFn, cap: Capability) -> Request:
    """A request that ``cap`` allows (by construction)."""
    args = {name: _satisfying(draw, c.kinds()) for name, c in cap.constraints.items()}
    return Request(
        tool=_instance(draw, cap.tool, "."),
        resource=_instance(draw, cap.resource, "/"),
        args=args,
    )


def mostly(draw: Draw, usual: st.SearchStrategy[T], sometimes: st.SearchStrategy[T]) -> T:
    """A draw from ``usual``; one time in four from ``sometimes`` instead."""
    drawn: T = draw(sometimes if draw(st.integers(0, 3)) == 0 else usual)
    return drawn


def requests_for(draw: Draw, cap: Capability) -> Request:
    """Mostly a request inside ``cap``, sometimes any request."""
    return mostly(draw, instances(cap), random_requests())


# --- narrowing: children a correct Delegator may hand on --- #


def _narrow_pattern(draw: Draw, pattern: str, sep: str) -> str:
    out: list[str] = []
    for seg in pattern.split(sep):
        if seg == "*":
            out.append(draw(st.sampled_from(["*", *LITERALS])))
        elif seg == "**":
            out += draw(st.lists(st.sampled_from([*LITERALS, "*"]), max_size=2))
            if draw(st.booleans()):
                out.append("**")
        else:
            out.append(seg)
    return sep.join(out or ["a"])


def _narrow_constraint(draw: Draw, kinds: dict[str, Any]) -> dict[str, Any]:
    if "equals" in kinds:
        return dict(kinds)
    if "one_of" in kinds:
        subset = draw(st.lists(st.sampled_from(kinds["one_of"]), min_size=1, unique=True))
        return {"equals": subset[0]} if draw(st.booleans()) else {"one_of": subset}
    if "prefix" in kinds:
        longer = kinds["prefix"] + draw(st.text("ab", max_size=2))
        options = [{"prefix": longer}, {"equals": longer}, {"one_of": [longer, longer + "a"]}]
        choice: dict[str, Any] = draw(st.sampled_from(options))
        return choice
    if draw(st.booleans()):  # pin one admitted value
        return {"equals": _satisfying(draw, kinds)}
    lo, hi = kinds.get("min"), kinds.get("max")
    new_lo = None if lo is None else lo + draw(st.integers(0, 2))
    new_hi = None if hi is None else hi - draw(st.integers(0, 2))
    if new_lo is not None and new_hi is not None and new_lo > new_hi:
        new_lo, new_hi = lo, hi
    return {k: v for k, v in (("min", new_lo), ("max", new_hi)) if v is not None}


@st.composite
def narrowed(draw: st.DrawFn, parent: Capability) -> Capability:
    """A structural attenuation of ``parent``: narrower patterns, stricter constraints."""
    constraints = {n: _narrow_constraint(draw, c.kinds()) for n, c in parent.constraints.items()}
    for name, strategy in (("n", numeric_constraints()), ("s", string_constraints())):
        if name not in constraints and draw(st.booleans()):
            constraints[name] = draw(strategy)
    return Capability(
        tool=_narrow_pattern(draw, parent.tool, "."),
        resource=_narrow_pattern(draw, parent.resource, "/"),
        constraints=constraints,
    )


def child_of(draw: Draw, parent: Capability) -> Capability:
    """Mostly a narrowing of ``parent``, sometimes any capability (maybe a widening)."""
    return mostly(draw, narrowed(parent), capabilities())


@st.composite
def lineages(draw: st.DrawFn, length: int, *, bare_globstar_tool: bool = True) -> list[Capability]:
    """A capability and ``length - 1`` successive :func:`child_of` draws below it."""
    caps = [draw(capabilities(bare_globstar_tool=bare_globstar_tool))]
    while len(caps) < length:
        caps.append(child_of(draw, caps[-1]))
    return caps


# --------------------------------------------------------------------------------------
# the algebra
# --------------------------------------------------------------------------------------


@SETTINGS
@given(pattern_segments())
def test_pattern_covers_is_reflexive(segments: list[str]) -> None:
    """Every pattern covers itself, as a tool or as a resource."""
    for sep in (".", "/"):
        assert pattern_covers(sep.join(segments), sep.join(segments), sep)


@SETTINGS
@given(capabilities())
def test_covers_is_reflexive(cap: Capability) -> None:
    """Every capability covers itself."""
    assert covers(cap, cap)


@SETTINGS
@given(st.data())
def test_narrowing_is_covered(data: st.DataObject) -> None:
    """Every structural narrowing of a capability is recognised as covered."""
    parent = data.draw(capabilities())
    child = data.draw(narrowed(parent))
    assert covers(parent, child)


@SETTINGS
@given(lineages(3))
def test_covers_is_transitive(caps: list[Capability]) -> None:
    """``covers(p, q)`` and ``covers(q, r)`` imply ``covers(p, r)``."""
    p, q, r = caps
    if covers(p, q) and covers(q, r):
        assert covers(p, r)


@SETTINGS
@given(st.data())
def test_pattern_covers_is_transitive(data: st.DataObject) -> None:
    """Pattern containment is transitive. The premise holds by construction: ``q`` is a
    narrowing of ``p`` and ``r`` a narrowing of ``q`` (events count distinct triples)."""
    sep = data.draw(st.sampled_from([".", "/"]))
    a = sep.join(data.draw(pattern_segments()))
    b = _narrow_pattern(data.draw, a, sep)
    c = _narrow_pattern(data.draw, b, sep)
    assert pattern_covers(a, b, sep), (a, b)  # narrowing is covered: the premise
    assert pattern_covers(b, c, sep), (b, c)
    distinct = len({a, b, c})
    event(f"distinct patterns in the triple: {distinct}")
    target(float(distinct), label="distinct patterns")
    assert pattern_covers(a, c, sep)


@SETTINGS
@given(lineages(2), st.data())
def test_covers_is_sound(caps: list[Capability], data: st.DataObject) -> None:
    """Soundness: ``covers(p, c) and allows(c, r)`` implies ``allows(p, r)``."""
    parent, child = caps
    request = requests_for(data.draw, child)
    if covers(parent, child) and allows(child, request):
        assert allows(parent, request)


@SETTINGS
@given(st.data())
def test_instances_are_allowed(data: st.DataObject) -> None:
    """The request generator's instances are allowed (keeps the soundness test honest)."""
    cap = data.draw(capabilities())
    assert allows(cap, data.draw(instances(cap)))


# --------------------------------------------------------------------------------------
# minting and verification
# --------------------------------------------------------------------------------------


@functools.cache
def world() -> World:
    """One Ed25519 world for the whole module."""
    return World()


def verifier(w: World) -> Verifier:
    """A verifier for ``w`` that keeps no audit records."""
    return w.verifier(audit=None)


def mint_quietly(w: World, caps: list[Capability], depth: int) -> Chain:
    """A root grant to agent 0; a SecurityWarning is expected exactly for ``**`` tools."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chain = w.delegator(w.orch).mint(
            to=w.agents[0].agent, to_key=w.agents[0], caps=caps, ttl=600, depth=depth, task="T-p"
        )
    expect = depth > 0 and any(c.tool == "**" for c in caps)
    assert [type(x.message) for x in caught] == ([SecurityWarning] if expect else [])
    return chain


def delegate_quietly(
    w: World, chain: Chain, frm: AgentKey, to: AgentKey, caps: list[Capability], ttl: int
) -> Chain:
    """Delegate, ignoring the ``**``-tool SecurityWarning (checked in mint_quietly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return w.delegator(frm).delegate(chain, to=to.agent, to_key=to, caps=caps, ttl=ttl)


@SETTINGS
@given(lineages(2), st.data())
def test_delegator_only_narrows(caps: list[Capability], data: st.DataObject) -> None:
    """The Delegator signs exactly the covered children; none allows what its parent denies."""
    w = world()
    parent, child = caps
    root = mint_quietly(w, [parent], depth=1)
    if not covers(parent, child):
        with pytest.raises(DelegationError) as ei:
            delegate_quietly(w, root, w.agents[0], w.agents[1], [child], ttl=300)
        assert ei.value.code == "scope_escalation"
        return
    chain = delegate_quietly(w, root, w.agents[0], w.agents[1], [child], ttl=300)
    for _ in range(3):
        request = requests_for(data.draw, child)
        if not allows(parent, request):
            assert not allows(child, request)
    assert len(chain) == 2


@SETTINGS
@given(lineages(2, bare_globstar_tool=False))
def test_verifier_step_six_agrees_with_covers(caps: list[Capability]) -> None:
    """A validly signed hop is accepted exactly when its capability is covered by its parent's."""
    w = world()
    parent, child = caps
    root = mint_quietly(w, [parent], depth=1)
    template = delegate_quietly(w, root, w.agents[0], w.agents[1], [parent], ttl=300)
    forged = _resign(template.tokens[1], w.agents[0], caps=[child.to_wire()])
    chain = Chain([root.tokens[0], forged])
    if covers(parent, child):
        assert verifier(w).verify_chain(chain).capabilities == (child,)
    else:
        with pytest.raises(DelegationError) as ei:
            verifier(w).verify_chain(chain)
        assert (ei.value.code, ei.value.hop) == ("scope_escalation", 1)


def _resign(token: str, key: AgentKey, **claims: Any) -> str:
    return forge(token, signer=key, claims=claims)


@SETTINGS
@given(st.data())
def test_every_chain_the_delegator_builds_verifies(data: st.DataObject) -> None:
    """Random hop counts (1..6) and random narrowing: the chain verifies for a leaf request."""
    w = world()
    hops = data.draw(st.integers(1, 6))
    caps = [data.draw(capabilities(bare_globstar_tool=False))]
    for _ in range(1, hops):
        caps.append(data.draw(narrowed(caps[-1])))
    extra_depth = data.draw(st.integers(0, 2))
    chain = mint_quietly(w, [caps[0]], depth=hops - 1 + extra_depth)
    for i in range(1, hops):
        chain = delegate_quietly(w, chain, w.agents[i - 1], w.agents[i], [caps[i]], ttl=600 - i)
    request = data.draw(instances(caps[-1]))
    holder = w.agents[hops - 1]
    proof = w.prove(chain, request=request, key=holder)
    verified = verifier(w).verify(chain, proof, request)
    assert verified.depth == hops
    assert verified.holder == holder.agent
    assert verified.remaining_depth == extra_depth
    assert all(allows(c, request) for c in caps)


# --------------------------------------------------------------------------------------
# mutations of valid chains and proofs
# --------------------------------------------------------------------------------------


@functools.cache
def pool() -> list[tuple[World, Chain, str]]:
    """Valid (world, chain, proof for REQ) triples, built once: EdDSA 1/3/5 hops, ES256 3."""
    es = World(alg="ES256")
    out = []
    for w, hops in ((world(), 1), (world(), 3), (world(), 5), (es, 3)):
        chain = w.chain(hops)
        out.append((w, chain, w.prove(chain)))
    return out


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
REPLACEMENTS = [*B64URL, ".", "~", " ", "\n", "=", "+", "/", "[", "\x00", "\x7f", "\u00e9"]


def _mutate(data: st.DataObject, text: str) -> str:
    i = data.draw(st.integers(0, len(text) - 1), label="position")
    if data.draw(st.booleans(), label="bit flip"):
        new = chr(ord(text[i]) ^ (1 << data.draw(st.integers(0, 6), label="bit")))
    else:
        new = data.draw(st.sampled_from([c for c in REPLACEMENTS if c != text[i]]))
    return text[:i] + new + text[i + 1 :]


def _assert_rejected(w: World, chain: Chain | str, proof: str) -> None:
    """Verification raises a DelegationError (and never succeeds or raises anything else)."""
    with pytest.raises(DelegationError):
        verifier(w).verify(chain, proof, REQ)


@SETTINGS
@given(st.data())
def test_any_single_byte_change_of_a_chain_is_rejected(data: st.DataObject) -> None:
    """Changing any one character anywhere in the ``~``-joined chain text is rejected."""
    w, chain, proof = data.draw(st.sampled_from(pool()))
    _assert_rejected(w, _mutate(data, str(chain)), proof)


@SETTINGS
@given(st.data())
def test_any_single_byte_change_of_a_proof_is_rejected(data: st.DataObject) -> None:
    """Changing any one character anywhere in the proof text is rejected."""
    w, chain, proof = data.draw(st.sampled_from(pool()))
    _assert_rejected(w, chain, _mutate(data, proof))


def test_every_position_of_a_chain_and_proof_is_protected() -> None:
    """Exhaustively: flipping the low bit of each character of a chain or proof is rejected."""
    w, chain, proof = pool()[1]
    text = str(chain)
    for i in range(len(text)):
        _assert_rejected(w, text[:i] + chr(ord(text[i]) ^ 1) + text[i + 1 :], proof)
    for i in range(len(proof)):
        _assert_rejected(w, chain, proof[:i] + chr(ord(proof[i]) ^ 1) + proof[i + 1 :])
    assert verifier(w).verify(chain, proof, REQ).depth == 3


@functools.cache
def twin_chains() -> tuple[World, Chain, Chain, str, str]:
    """Two independent valid 4-hop chains over the same agents, with a proof for each."""
    w = world()
    a, b = w.chain(4), w.chain(4)
    return w, a, b, w.prove(a), w.prove(b)


@st.composite
def rearrangements(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Token sequences made from chains A and B: reorder, truncate, splice, drop, repeat."""
    n = 4
    a = [("A", i) for i in range(n)]
    b = [("B", i) for i in range(n)]
    kind = draw(st.sampled_from(["reorder", "head", "tail", "splice", "drop", "repeat", "any"]))
    if kind == "reorder":
        return draw(st.permutations(a))
    if kind == "head":
        return a[draw(st.integers(1, n - 1)) :]
    if kind == "tail":
        return a[: draw(st.integers(1, n - 1))]
    if kind == "splice":
        return a[: draw(st.integers(1, n - 1))] + b[draw(st.integers(0, n - 1)) :]
    if kind == "drop":
        i = draw(st.integers(0, n - 1))
        return a[:i] + a[i + 1 :]
    if kind == "repeat":
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n))
        return [*a[:j], a[i], *a[j:]]
    return draw(st.lists(st.sampled_from(a + b), min_size=1, max_size=6))


@SETTINGS
@given(rearrangements())
def test_rearranged_chains_are_rejected(seq: list[tuple[str, int]]) -> None:
    """Any reordering, truncation, splice, dropped or repeated hop is rejected."""
    w, a, b, proof_a, proof_b = twin_chains()
    tokens = [(a if src == "A" else b).tokens[i] for src, i in seq]
    for original, proof in ((a, proof_a), (b, proof_b)):
        if tuple(tokens) != original.tokens:
            _assert_rejected(w, Chain(tokens), proof)
            _assert_rejected(w, "~".join(tokens), proof)


def test_rearrangement_pool_is_valid() -> None:
    """The chains the rearrangement property starts from verify untouched."""
    w, a, b, proof_a, proof_b = twin_chains()
    v = verifier(w)
    assert v.verify_chain(a).depth == v.verify_chain(b).depth == 4
    assert [t.token_id for t in parse_unverified(a)] != [t.token_id for t in parse_unverified(b)]
    assert proof_a != proof_b


# --------------------------------------------------------------------------------------
# round trip
# --------------------------------------------------------------------------------------


TOKEN_LIKE = st.from_regex(
    r"[A-Za-z0-9_-]{1,12}\.[A-Za-z0-9_-]{1,12}\.[A-Za-z0-9_-]{1,12}", fullmatch=True
)


@SETTINGS
@given(st.lists(TOKEN_LIKE, min_size=1, max_size=6))
def test_chain_text_round_trips(tokens: list[str]) -> None:
    """``Chain.parse(str(chain)) == chain``, and the same through the JSON list form."""
    chain = Chain(tokens)
    assert Chain.parse(str(chain)) == chain
    assert Chain.parse(json.dumps(chain.to_json())) == chain
    assert Chain.parse(str(chain)).tokens == tuple(tokens)


@FEW
@given(st.sampled_from([0, 1, 2, 3]))
def test_real_chain_round_trips(index: int) -> None:
    """A real chain survives its wire form, and verifies as text and as a Chain alike."""
    w, chain, _ = pool()[index]
    parsed = Chain.parse(str(chain))
    assert parsed == chain
    assert hash(parsed) == hash(chain)
    v = verifier(w)
    assert v.verify_chain(str(chain)).token_ids == v.verify_chain(parsed).token_ids
