from __future__ import annotations

import pytest

from delegation import Capability, Constraint, DelegationError, Request, allows, covers
from delegation.capabilities import covers_all, json_equal, pattern_covers, pattern_matches
from delegation.constraints import _dir, _is_normal_path


def req(tool: str = "crm.read", resource: str = "customers/eu/42", **args: object) -> Request:
    return Request(tool=tool, resource=resource, args=args)


class TestPatternMatches:
    @pytest.mark.parametrize(
        ("pattern", "value", "expected"),
        [
            ("crm.read", "crm.read", True),
            ("crm.read", "crm.write", False),
            ("crm.*", "crm.read", True),
            ("crm.*", "crm.read.all", False),
            ("crm.**", "crm", True),
            ("crm.**", "crm.read.all", True),
            ("**", "anything.at.all", True),
            ("*.read", "crm.read", True),
            ("*.read", "read", False),
        ],
    )
    def test_tools(self, pattern: str, value: str, expected: bool) -> None:
        """Tool patterns: * is one segment, trailing ** is zero or more."""
        assert pattern_matches(pattern, value, ".") is expected

    @pytest.mark.parametrize(
        ("pattern", "value", "expected"),
        [
            ("customers/**", "customers", True),
            ("customers/**", "customers/eu/42", True),
            ("customers/*/42", "customers/eu/42", True),
            ("customers/*", "customers/eu/42", False),
            ("customers/eu", "customers/EU", False),
            ("customers/eu/**", "customers/us/1", False),
        ],
    )
    def test_resources(self, pattern: str, value: str, expected: bool) -> None:
        """Resource patterns match segment by segment, literally."""
        assert pattern_matches(pattern, value, "/") is expected


class TestPatternCovers:
    @pytest.mark.parametrize(
        ("parent", "child", "expected"),
        [
            ("customers/**", "customers/eu/**", True),
            ("customers/**", "customers/**", True),
            ("customers/**", "customers", True),
            ("customers/*", "customers/eu", True),
            ("customers/*", "customers/*", True),
            ("customers/*", "customers/**", False),
            ("customers/eu", "customers/*", False),
            ("customers/eu/**", "customers/**", False),
            ("customers/*/x", "customers/eu/x", True),
            ("customers/*/x", "customers/eu/**", False),
            ("**", "a/b/**", True),
            ("a/**", "**", False),
            ("a/*/**", "a/**", False),
            ("a/*/**", "a/b/**", True),
        ],
    )
    def test_resources(self, parent: str, child: str, expected: bool) -> None:
        """Containment is decided segment by segment; a wildcard never covers a wider one."""
        assert pattern_covers(parent, child, "/") is expected


class TestValidation:
    @pytest.mark.parametrize(
        "resource",
        [
            "customers/eu/../us",
            "customers/./x",
            "customers//x",
            "a/b/",
            "/a",
            "a/%2e%2e/b",
            "a/%2F/b",
            "a/b\x00",
            "a/b c",
            "a\\b",
            "a/**/b",
            "a/x*/b",
        ],
    )
    def test_bad_capability_resources(self, resource: str) -> None:
        """Path tricks, empty segments, control characters and inner ** are refused."""
        with pytest.raises(DelegationError) as ei:
            Capability(tool="crm.read", resource=resource)
        assert ei.value.code == "invalid_capability"

    @pytest.mark.parametrize("resource", ["customers/eu/../us", "customers/*", "a//b", "a/**"])
    def test_bad_request_resources(self, resource: str) -> None:
        """A request resource with path tricks or wildcards is refused, never matched."""
        with pytest.raises(DelegationError) as ei:
            req(resource=resource)
        assert ei.value.code == "invalid_request"

    @pytest.mark.parametrize("tool", ["", "crm..read", "crm.re ad", "crm/read", "crm.*x", "**.x"])
    def test_bad_tools(self, tool: str) -> None:
        """Tool patterns are dot-separated, non-empty, with whole-segment wildcards."""
        with pytest.raises(DelegationError) as ei:
            Capability(tool=tool)
        assert ei.value.code == "invalid_capability"

    @pytest.mark.parametrize(
        "constraint",
        [
            {},
            {"max": "10"},
            {"max": True},
            {"one_of": []},
            {"equals": None},
            {"prefix": 3},
            {"between": [1, 2]},
            {"max": float("inf")},
        ],
    )
    def test_bad_constraints(self, constraint: dict[str, object]) -> None:
        """Constraints must be one of the known kinds with well-typed values."""
        with pytest.raises(DelegationError) as ei:
            Capability.from_wire({"tool": "t", "constraints": {"x": constraint}})
        assert ei.value.code == "invalid_capability"

    def test_unknown_capability_member(self) -> None:
        """A capability is a closed object: unknown members are refused."""
        with pytest.raises(DelegationError) as ei:
            Capability.from_wire({"tool": "t", "scope": "all"})
        assert ei.value.code == "invalid_capability"

    def test_parse_cli_forms(self) -> None:
        """The CLI form TOOL[:RESOURCE] and the JSON form both parse."""
        assert Capability.parse("crm.read") == Capability(tool="crm.read", resource="**")
        assert Capability.parse('{"tool": "a.b", "resource": "x/*"}').resource == "x/*"
        with pytest.raises(DelegationError) as ei:
            Capability.parse("{not json")
        assert ei.value.code == "invalid_capability"


class TestConstraints:
    @pytest.mark.parametrize(
        ("constraint", "value", "expected"),
        [
            ({"max": 100}, 100, True),
            ({"max": 100}, 100.5, False),
            ({"max": 100}, True, False),
            ({"max": 100}, "5", False),
            ({"min": 1, "max": 5}, 3, True),
            ({"min": 1, "max": 5}, 0, False),
            ({"one_of": ["eu", "us"]}, "eu", True),
            ({"one_of": [1]}, True, False),
            ({"one_of": [1]}, 1.0, True),
            ({"equals": {"a": [1, 2]}}, {"a": [1, 2]}, True),
            ({"equals": False}, 0, False),
            ({"prefix": "/data/"}, "/data/x", True),
            ({"prefix": "/data/"}, ["/data/x"], False),
        ],
    )
    def test_satisfied_by(
        self, constraint: dict[str, object], value: object, expected: bool
    ) -> None:
        """Values are checked by JSON type: true is never 1, strings are not numbers."""
        assert Constraint.model_validate(constraint).satisfied_by(value) is expected

    def test_absent_argument_is_denied(self) -> None:
        """Closed world: a constrained argument that is absent is not allowed."""
        cap = Capability(tool="crm.read", constraints={"max_rows": {"max": 10}})
        assert not allows(cap, req())
        assert allows(cap, req(max_rows=10))

    @pytest.mark.parametrize(
        ("parent", "child", "expected"),
        [
            ({"max": 100}, {"max": 50}, True),
            ({"max": 100}, {"max": 150}, False),
            ({"max": 100}, {"min": 1}, False),
            ({"max": 100}, {"equals": 7}, True),
            ({"max": 100}, {"one_of": [1, 2, 300]}, False),
            ({"min": 1}, {"min": 2, "max": 3}, True),
            ({"one_of": ["eu", "us"]}, {"one_of": ["eu"]}, True),
            ({"one_of": ["eu"]}, {"one_of": ["eu", "us"]}, False),
            ({"one_of": ["eu"]}, {"equals": "eu"}, True),
            ({"equals": "eu"}, {"one_of": ["eu"]}, True),
            ({"equals": "eu"}, {"prefix": "eu"}, False),
            ({"prefix": "/data/"}, {"prefix": "/data/eu/"}, True),
            ({"prefix": "/data/"}, {"prefix": "/dat"}, False),
            ({"prefix": "/data/"}, {"equals": "/data/x"}, True),
        ],
    )
    def test_implies(
        self, parent: dict[str, object], child: dict[str, object], expected: bool
    ) -> None:
        """A child constraint is at least as strict only when all its values satisfy the parent."""
        p = Constraint.model_validate(parent)
        c = Constraint.model_validate(child)
        assert c.implies(p) is expected


class TestCovers:
    def test_dropping_a_constraint_widens(self) -> None:
        """Every parent constraint must be present in the child."""
        p = Capability(tool="crm.read", constraints={"max_rows": {"max": 100}})
        assert not covers(p, Capability(tool="crm.read"))
        assert covers(
            p,
            Capability(
                tool="crm.read", constraints={"max_rows": {"max": 10}, "region": {"equals": "eu"}}
            ),
        )

    def test_tool_and_resource_must_both_narrow(self) -> None:
        """Tool and resource containment are both required."""
        p = Capability(tool="crm.*", resource="customers/**")
        assert covers(p, Capability(tool="crm.read", resource="customers/eu"))
        assert not covers(p, Capability(tool="mail.send", resource="customers/eu"))
        assert not covers(p, Capability(tool="crm.read", resource="orders/1"))

    def test_covers_all_names_the_uncovered_child(self) -> None:
        """covers_all returns the first child no parent covers."""
        parents = [Capability(tool="a.*"), Capability(tool="b.read")]
        bad = Capability(tool="b.write")
        assert covers_all(parents, [Capability(tool="a.x"), bad]) == bad
        assert covers_all(parents, [Capability(tool="b.read")]) is None

    def test_wire_round_trip(self) -> None:
        """to_wire and from_wire are inverse."""
        cap = Capability(
            tool="crm.read",
            resource="customers/eu/**",
            constraints={"max_rows": {"min": 1, "max": 100}},
        )
        assert Capability.from_wire(cap.to_wire()) == cap
        assert "max_rows" in str(cap)


def test_json_equal() -> None:
    """JSON equality: numbers by value, booleans apart, containers recursively."""
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal([1, {"a": "b"}], [1.0, {"a": "b"}])
    assert not json_equal({"a": 1}, {"b": 1})


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/srv/app/x", True),
        ("srv/app", True),
        ("/", True),
        ("", False),
        ("//srv", False),  # one leading slash only
        ("/srv/./x", False),
        ("/srv/..", False),
        ("a//b", False),
        ("/srv/a\x07", False),  # a control character
        ("/srv/a\x00b", False),
    ],
)
def test_is_normal_path(path: str, normal: bool) -> None:
    """Subpath constraints accept only normal-form paths: no '.', '..' or empty segments,
    one leading slash at most, no control characters."""
    assert _is_normal_path(path) is normal


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/a/", "/a"), ("/AX/", "/AX"), ("a/", "a"), ("/", "/"), ("///", "/"), ("", "")],
)
def test_dir_strips_trailing_slashes_but_keeps_the_root(path: str, expected: str) -> None:
    """A subpath's directory form: trailing slashes go, the root stays '/'."""
    assert _dir(path) == expected
