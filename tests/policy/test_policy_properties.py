"""Properties of the rules engine and of the pattern-overlap test (hypothesis)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import event, given, settings, target
from hypothesis import strategies as st

from delegation import Capability, Request
from delegation.patterns import compile_pattern, overlaps, pattern_matches
from delegation.policy import PolicyContext
from delegation.policy.rules import RulesPolicy

FEW = settings(max_examples=60, deadline=None)

# --- patterns over a small alphabet --- #

LITERALS = ("a", "b")


@st.composite
def patterns(draw: st.DrawFn, sep: str = ".") -> str:
    head = draw(st.lists(st.sampled_from((*LITERALS, "*")), max_size=3))
    if not head or draw(st.booleans()):
        head.append("**")
    return sep.join(head)


def values_up_to(n: int, sep: str = ".") -> list[str]:
    # "c" stands for every literal neither pattern names.
    return [
        sep.join(v) for k in range(1, n + 1) for v in itertools.product((*LITERALS, "c"), repeat=k)
    ]


def head_length(p: str) -> int:
    return len([s for s in p.split(".") if s != "**"])


@FEW
@given(patterns(), patterns())
def test_overlap_is_symmetric(p: str, q: str) -> None:
    assert overlaps(p, q, ".") == overlaps(q, p, ".")


@FEW
@given(patterns(), patterns())
def test_overlap_agrees_with_brute_force(p: str, q: str) -> None:
    # A common value, if any, exists among values one segment longer than either head.
    bound = max(head_length(p), head_length(q)) + 1
    witness = any(
        pattern_matches(p, v, ".") and pattern_matches(q, v, ".") for v in values_up_to(bound)
    )
    assert overlaps(p, q, ".") == witness


@FEW
@given(patterns(sep="/"), st.sampled_from(values_up_to(4, "/")))
def test_compiled_patterns_match_like_capabilities(p: str, value: str) -> None:
    compiled = compile_pattern(p, "/")
    assert compiled.matches(tuple(value.split("/"))) == pattern_matches(p, value, "/")


# --- random policies and contexts over small domains --- #

AGENTS = ("agent:a", "agent:b", "agent:c")
TOOLS = ("crm.read", "crm.write", "hr.read")
RESOURCES = ("customers/eu/1", "customers/us/2", "tickets/1")
TOOL_PATTERNS = ("**", "crm.*", "crm.read", "*.read", "hr.**")
RESOURCE_PATTERNS = ("**", "customers/**", "customers/*/1", "tickets/*")
T0 = 1_741_082_400  # 2025-03-04T10:00:00Z


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    options: dict[str, Any] = {
        "max_depth": st.integers(0, 4),
        "max_remaining_depth": st.integers(0, 3),
        "holder_in": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "root_in": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "obo_in": st.lists(st.sampled_from(("user:x", "user:y")), min_size=1, max_size=2),
        "delegator_in": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "path_contains": st.lists(st.sampled_from(AGENTS), min_size=1, max_size=2),
        "task_prefix": st.sampled_from(("INC-", "T-")),
        "purpose_in": st.lists(st.sampled_from(("p", "q")), min_size=1, max_size=2),
        "purpose_contains": st.sampled_from(("p", "x")),
        "labels": st.fixed_dictionaries(
            {"s": st.lists(st.sampled_from(("low", "high")), min_size=1, max_size=2)}
        ),
        "tool_labels_any": st.lists(st.sampled_from(("egress", "pii")), min_size=1, max_size=2),
        "tool_labels_none": st.lists(st.sampled_from(("egress", "pii")), min_size=1, max_size=2),
        "args": st.fixed_dictionaries({"n": st.sampled_from(({"max": 5}, {"min": 3}))}),
        "time": st.fixed_dictionaries(
            {"from": st.sampled_from(("08:00", "22:00")), "to": st.sampled_from(("06:00", "18:00"))}
        ),
        "environment": st.fixed_dictionaries(
            {"env": st.lists(st.sampled_from(("prod", "dev")), min_size=1, max_size=2)}
        ),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True))
    return {name: draw(options[name]) for name in chosen}


@st.composite
def rules(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    return {
        "effect": effect or draw(st.sampled_from(("allow", "deny"))),
        "actions": draw(st.sampled_from((["invoke"], ["accept"], ["invoke", "accept"]))),
        "tool": draw(st.sampled_from(TOOL_PATTERNS)),
        "resource": draw(st.sampled_from(RESOURCE_PATTERNS)),
        "when": draw(conditions()),
    }


def build(rule_list: list[dict[str, Any]]) -> RulesPolicy:
    numbered = [{"id": f"r{i}", **r} for i, r in enumerate(rule_list)]
    return RulesPolicy.from_dict({"version": 1, "rules": numbered})


@st.composite
def contexts(draw: st.DrawFn) -> PolicyContext:
    path = tuple(draw(st.lists(st.sampled_from(AGENTS), min_size=2, max_size=4)))
    accept = draw(st.booleans())
    caps = tuple(
        Capability(
            tool=draw(st.sampled_from(TOOL_PATTERNS)),
            resource=draw(st.sampled_from(RESOURCE_PATTERNS)),
        )
        for _ in range(draw(st.integers(1, 2)))
    )
    args = draw(st.sampled_from(({}, {"n": 1}, {"n": 4}, {"n": 9})))
    request = Request(
        tool=draw(st.sampled_from(TOOLS)), resource=draw(st.sampled_from(RESOURCES)), args=args
    )
    return PolicyContext(
        holder=path[-1],
        request=None if accept else request,
        path=path,
        root=path[0],
        depth=len(path) - 1,
        remaining_depth=draw(st.integers(0, 3)),
        task=draw(st.sampled_from(("INC-1", "T-1"))),
        obo=draw(st.sampled_from((None, "user:x", "user:y"))),
        purpose=draw(st.sampled_from((None, "p", "q"))),
        capabilities=caps if accept else (),
        time=T0 + draw(st.integers(0, 7 * 24)) * 3600,
        action="accept" if accept else "invoke",
        delegator=path[-2],
        labels=draw(st.sampled_from(({}, {"s": "low"}, {"s": "high"}))),
        tool_labels=frozenset(draw(st.lists(st.sampled_from(("egress", "pii")), max_size=2))),
        environment=draw(st.sampled_from(({}, {"env": "prod"}, {"env": "dev"}))),
    )


def matching_deny(context: PolicyContext) -> dict[str, Any]:
    """A deny rule that applies to ``context`` whatever else it says."""
    if context.request is not None:
        r = context.request
        return {"effect": "deny", "actions": ["invoke"], "tool": r.tool, "resource": r.resource}
    cap = context.capabilities[0]
    return {"effect": "deny", "actions": ["accept"], "tool": cap.tool, "resource": cap.resource}


@FEW
@given(st.lists(rules(), max_size=6), contexts(), st.data())
def test_a_matching_deny_rule_always_wins(
    rule_list: list[dict[str, Any]], context: PolicyContext, data: st.DataObject
) -> None:
    deny = matching_deny(context)
    at = data.draw(st.integers(0, len(rule_list)))
    decision = build([*rule_list[:at], deny, *rule_list[at:]]).decide(context)
    assert decision.effect == "deny"
    assert f"r{at}" in decision.rules


@FEW
@given(st.lists(rules(), max_size=6), contexts())
def test_no_applicable_rule_denies(rule_list: list[dict[str, Any]], context: PolicyContext) -> None:
    assert build([]).decide(context).effect == "deny"
    decision = build(rule_list).decide(context)
    if decision.effect == "allow":
        allow_ids = {f"r{i}" for i, r in enumerate(rule_list) if r["effect"] == "allow"}
        assert decision.rules and set(decision.rules) <= allow_ids
    elif not decision.rules:
        assert decision.reason == "no rule allows it"


# Allows everything for both actions: guarantees that something allows the context.
ALLOW_ALL: dict[str, Any] = {
    "effect": "allow", "actions": ["invoke", "accept"], "tool": "**", "resource": "**", "when": {}
}  # fmt: skip


@FEW
@given(
    st.lists(rules(effect="allow"), max_size=4),
    st.lists(rules(effect="deny"), max_size=3),
    st.booleans(),
    rules(effect="allow"),
    contexts(),
)
def test_adding_an_allow_rule_never_turns_allow_into_deny(
    allows: list[dict[str, Any]],
    denies: list[dict[str, Any]],
    allow_all: bool,
    extra: dict[str, Any],
    context: PolicyContext,
) -> None:
    """Built so the premise mostly holds: random allows (plus, half the time, an allow-all)
    and deny rules kept only when they do not apply, so ``before`` is allowed by
    construction whenever some allow rule applies; events record how often."""
    applying_denies = [d for d in denies if not build([ALLOW_ALL, d]).decide(context).allowed]
    kept = [d for d in denies if d not in applying_denies]
    rule_list = [*allows, *([ALLOW_ALL] if allow_all else []), *kept]
    before = build(rule_list).decide(context)
    after = build([*rule_list, extra]).decide(context)
    event(f"before: {'allow' if before.allowed else 'deny'}")
    target(float(before.allowed), label="premise (before allowed) holds")
    if allow_all:
        assert before.allowed, "an allow-all and no applying deny must allow"
    if before.allowed:
        event(f"extra rule also applies: {set(after.rules) != set(before.rules)}")
        assert after.allowed
        assert set(before.rules) <= set(after.rules)
    if not after.allowed:
        assert not before.allowed


@FEW
@given(st.lists(rules(), max_size=6), rules(effect="allow"), contexts())
def test_adding_an_allow_rule_to_any_rules_never_turns_allow_into_deny(
    rule_list: list[dict[str, Any]], extra: dict[str, Any], context: PolicyContext
) -> None:
    """The same law over unconstrained rule lists (denies that apply included)."""
    before = build(rule_list).decide(context)
    after = build([*rule_list, extra]).decide(context)
    event(f"before: {'allow' if before.allowed else 'deny'}")
    if before.allowed:
        assert after.allowed
        assert set(before.rules) <= set(after.rules)
    if not after.allowed:
        assert not before.allowed
