"""Edges of the capability algebra that a mutation run of ``capabilities.py`` found untested.

Each test names the fault it catches (docs/mutation.md lists the survivors they kill).
"""

from __future__ import annotations

from typing import Any

import pytest
from support import one_hop_context

from delegation import Capability, Constraint, DelegationError, Request, allows, covers
from delegation.capabilities import json_equal, pattern_matches
from delegation.policy.rules import RulesPolicy


def con(**kinds: object) -> Constraint:
    return Constraint.model_validate(kinds)


# --- allows: tool, resource and every constraint --- #

ALLOWS_CAP = Capability(
    tool="crm.read", resource="customers/eu/**", constraints={"rows": {"max": 10}}
)


@pytest.mark.parametrize(
    ("tool", "resource", "args", "expected"),
    [
        ("crm.read", "customers/eu/42", {"rows": 10}, True),
        ("crm.write", "customers/eu/42", {"rows": 10}, False),  # another tool
        ("crm.read", "customers/us/42", {"rows": 10}, False),  # another resource
        ("crm.read", "customers/eu/42", {"rows": 11}, False),  # a constraint fails
        ("crm.read", "customers/eu/42", {}, False),  # a constrained argument is absent
    ],
)
def test_allows_needs_the_tool_the_resource_and_every_constraint(
    tool: str, resource: str, args: dict[str, object], expected: bool
) -> None:
    """Fault: ``allows`` lets a request through when its resource does not match.

    Only a hypothesis property (in some seeds) noticed; now each part is a fixed case.
    """
    assert allows(ALLOWS_CAP, Request(tool=tool, resource=resource, args=args)) is expected


# --- a value list implies the parent's bounds and prefix through its summary --- #


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        ([2, 5, 10], True),  # within [1, 10]: the maximum itself is in
        ([1, 5], True),  # ...and so is the minimum
        ([1.5, 3], True),
        ([0, 5], False),  # below min
        ([5, 11], False),  # above max
    ],
)
def test_a_numeric_one_of_is_judged_by_its_lowest_and_highest_value(
    child: list[float], expected: bool
) -> None:
    """Fault: the summary forgets the values are numbers, or their minimum/maximum.

    A child ``one_of`` of numbers is covered by a parent's ``min``/``max`` exactly when its
    extremes are in range (a forgotten minimum made ``implies`` raise instead).
    """
    parent = con(min=1, max=10)
    assert con(one_of=child).implies(parent) is expected
    p_cap = Capability(tool="a", constraints={"n": {"min": 1, "max": 10}})
    c_cap = Capability(tool="a", constraints={"n": {"one_of": child}})
    assert covers(p_cap, c_cap) is expected


def test_a_one_of_mixing_numbers_and_text_is_summarised_without_comparing_them() -> None:
    """Fault: the summary takes min/max of values that are not all numbers (TypeError).

    ``[1, "a"]`` has no order; it is still a subset of a wider ``one_of``.
    """
    child = con(one_of=[1, "a"])
    assert child.implies(con(one_of=[1, "a", "b"]))
    assert not child.implies(con(max=5))  # "a" is not a number below 5
    assert not child.implies(con(prefix="a"))  # 1 is not text


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (["/srv/app/a", "/srv/app/b"], True),
        (["/srv/app/a"], True),
        (["/srv/app/a", "/srv/other"], False),
        (["/srv/app/a", 7], False),  # 7 has no prefix
    ],
)
def test_a_text_one_of_is_judged_by_its_common_prefix(child: list[object], expected: bool) -> None:
    """Fault: the summary forgets the values are text, or their longest common prefix."""
    assert con(one_of=child).implies(con(prefix="/srv/app/")) is expected


@pytest.mark.parametrize(
    ("child", "parent", "expected"),
    [
        (con(one_of=["/srv/app/a", "/srv/app/b/c"]), con(subpath="/srv/app"), True),
        (con(one_of=["/srv/app/a", "/etc/passwd"]), con(subpath="/srv/app"), False),
        (con(equals="/srv/app/a"), con(subpath="/srv/app/"), True),
        (con(equals="/srv/app/../etc"), con(subpath="/srv/app/"), False),
        (con(equals="x"), con(one_of=[None]), False),  # only null is allowed
        (con(equals="x"), con(one_of=["x", None]), True),
    ],
)
def test_a_pinned_value_implies_a_subpath_or_a_list_only_when_it_is_in_it(
    child: Constraint, parent: Constraint, expected: bool
) -> None:
    """Fault: a child ``one_of`` is never (or always) below a parent ``subpath``, or a child
    ``equals`` is judged as if its value were null.
    """
    assert child.implies(parent) is expected


# --- JSON equality and keys: containers compare element by element --- #


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], True),
        ([1.0, 2], True),
        ([1, 2, 3], False),  # a longer list: zip would stop at the shorter one
        ([1], False),
        ([2, 1], False),
        ([1, 3], False),
        ((1, 2), True),
        ("12", False),
        ({"0": 1, "1": 2}, False),
    ],
)
def test_equals_on_a_list_needs_the_same_length_and_elements(value: object, expected: bool) -> None:
    """Fault: ``json_equal`` joins its list conditions with ``or`` instead of ``and``."""
    assert con(equals=[1, 2]).satisfied_by(value) is expected
    assert json_equal([1, 2], value) is expected


def test_an_empty_list_equals_only_an_empty_list() -> None:
    """Fault: an empty list is "equal" to anything (``all`` of nothing is true)."""
    assert json_equal([], [])
    assert not json_equal([], 5)
    assert not json_equal([], {})
    assert not con(equals=[0]).satisfied_by([])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], True),
        ([1.0, 2.0], True),
        ([2, 1], False),
        ([3, 4], False),
        ({"a": 1}, True),
        ({"a": 2}, False),
        ({"b": 1}, False),
        ({"a": 1, "b": 1}, False),
    ],
)
def test_one_of_lists_and_objects_match_by_their_contents(value: object, expected: bool) -> None:
    """Fault: ``json_key`` of a list or object drops or blanks its elements' keys.

    A ``one_of`` holding a list and an object admits those exact values only.
    """
    assert con(one_of=[[1, 2], {"a": 1}]).satisfied_by(value) is expected


# --- patterns: a request value is concrete --- #


@pytest.mark.parametrize(
    ("pattern", "value", "sep"),
    [
        ("crm.*", "crm.*", "."),
        ("**", "crm.**", "."),
        ("customers/*", "customers/*", "/"),
        ("customers/**", "customers/**", "/"),
    ],
)
def test_pattern_matches_refuses_a_wildcard_value(pattern: str, value: str, sep: str) -> None:
    """Fault: the value is split as a pattern, so ``crm.*`` "matches" ``crm.*``.

    The graph detectors rely on the ``ValueError`` to treat a logged wildcard as matching
    nothing.
    """
    with pytest.raises(ValueError, match="wildcards are not allowed in a request"):
        pattern_matches(pattern, value, sep)


# --- the CLI form and the text form of a capability --- #


def test_parse_keeps_the_resource_after_the_colon() -> None:
    """Fault: ``parse`` drops the resource, widening ``crm.read:customers/eu/**`` to ``**``."""
    cap = Capability.parse("crm.read:customers/eu/**")
    assert (cap.tool, cap.resource) == ("crm.read", "customers/eu/**")
    assert Capability.parse("  crm.read  ").resource == "**"


def test_str_is_tool_colon_resource_then_the_constraints() -> None:
    """Fault: a capability without constraints gets a stray suffix in its text form."""
    assert str(Capability(tool="crm.read")) == "crm.read:**"
    cap = Capability(tool="crm.read", resource="c/*", constraints={"rows": {"max": 5}})
    assert str(cap) == 'crm.read:c/* {"rows": {"max": 5}}'


def _refusal(text: str) -> DelegationError:
    with pytest.raises(DelegationError) as ei:
        Capability.parse(text)
    assert ei.value.code == "invalid_capability"
    return ei.value


def test_parse_messages_say_what_is_wrong_with_the_json() -> None:
    """Fault: the message of a bad JSON capability is lost or changed."""
    assert _refusal("{not json").message.startswith("capability is not valid JSON: ")
    deep = '{"a":' + "[" * 100_000
    assert _refusal(deep).message == "capability JSON is nested too deeply"
    assert _refusal('{"tool": "a b"}').message.startswith("invalid capability: tool: ")


def test_from_wire_message_names_the_field() -> None:
    """Fault: ``from_wire`` loses the message of an invalid capability."""
    with pytest.raises(DelegationError) as ei:
        Capability.from_wire({"tool": "a", "constraints": {"rows": {}}})
    assert ei.value.code == "invalid_capability"
    assert ei.value.message == (
        "invalid capability: constraints.rows: "
        "a constraint needs one of max, min, one_of, equals, prefix, subpath"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # a tool that does not match the grammar is explained by the pattern splitter
        (
            lambda: Capability(tool="crm..read"),
            "invalid capability: tool: tool 'crm..read': segment '' must match [A-Za-z0-9_-:]+",
        ),
        (
            lambda: Capability(tool="crm.**.read"),
            "invalid capability: tool: tool 'crm.**.read': '**' may only be the last segment",
        ),
        (
            lambda: Request(tool="crm.*", resource="c/1"),
            "invalid request: tool: tool 'crm.*': wildcards are not allowed in a request",
        ),
        # any other error on the tool keeps pydantic's own text
        (
            lambda: Capability(tool="a" * 1025),
            "invalid capability: tool: String should have at most 1024 characters",
        ),
        # an error of the whole object has no field to name
        (
            lambda: Capability.from_wire(["crm.read"]),
            "invalid capability: Input should be a valid dictionary or instance of Capability",
        ),
    ],
    ids=["tool-segment", "tool-double-star", "request-wildcard", "tool-too-long", "not-an-object"],
)
def test_invalid_capability_and_request_messages(build: Any, message: str) -> None:
    """Fault: the message of an invalid capability or request loses its field or its reason."""
    with pytest.raises(DelegationError) as ei:
        build()
    assert ei.value.message == message


# --- evaluable: a deny rule fails closed on an argument it cannot judge --- #


@pytest.mark.parametrize(
    ("kinds", "value", "expected"),
    [
        ({"prefix": "/etc"}, 5, False),
        ({"subpath": "/etc"}, 5, False),
        ({"prefix": "/etc"}, "/etc/x", True),
        ({"prefix": "/etc", "subpath": "/etc"}, "/tmp", True),
        ({"max": 5}, "x", False),
        ({"one_of": [1]}, "x", True),
    ],
)
def test_evaluable_needs_text_for_a_prefix_or_a_subpath_alone(
    kinds: dict[str, object], value: object, expected: bool
) -> None:
    """Fault: ``evaluable`` asks for text only when both prefix and subpath are set."""
    assert con(**kinds).evaluable(value) is expected


def test_a_deny_rule_on_a_prefix_denies_an_argument_that_is_not_text() -> None:
    """Fault: the same, seen from a policy: a number slips past a deny rule on a prefix."""
    policy = RulesPolicy.from_text(
        "version: 1\nrules:\n"
        "  - {id: all, effect: allow}\n"
        "  - {id: no-etc, effect: deny, when: {args: {path: {prefix: /etc}}}}\n"
    )

    def decide(path: object) -> str:
        request = Request(tool="fs.read", resource="files/1", args={"path": path})
        context = one_hop_context(
            request, holder="agent:b", root="agent:root", delegator="agent:root"
        )
        return policy.decide(context).effect

    assert decide("/etc/passwd") == "deny"
    assert decide("/tmp/x") == "allow"
    assert decide(5) == "deny"  # cannot be judged against a prefix: fail closed


# --- wire forms and construction-time checks --- #


def test_kinds_thaws_an_object_value_deeply() -> None:
    """Fault: ``thaw`` drops the values of an object (``{"a": null}`` on the wire)."""
    value = {"a": [1, {"b": 2}], "c": "d"}
    assert Constraint(equals=value).kinds() == {"equals": value}
    cap = Capability(tool="t", constraints={"x": {"equals": value}})
    assert Capability.from_wire(cap.to_wire()) == cap


@pytest.mark.parametrize("args", [{"n": 2**53 + 1}, {"n": float("nan")}], ids=["big-int", "nan"])
def test_a_request_with_arguments_rfc_8785_refuses_is_refused_when_built(
    args: dict[str, object],
) -> None:
    """Fault: the canonical-JSON check of the arguments is skipped at construction, so the
    request fails later, at verification.
    """
    with pytest.raises(DelegationError) as ei:
        Request(tool="a", resource="b", args=args)
    assert ei.value.code == "invalid_request"
    assert ei.value.message.startswith("request arguments are not canonical JSON: ")
