"""The Cedar adapter: the shared table, construction errors, the request mapping, fail-closed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import REQ, World, require_optional

from delegation import Capability, Request
from delegation.errors import FileError, InternalError, InvalidPolicy, PolicyDenied
from delegation.policy import Policy, PolicyContext
from delegation.policy.cedar import CedarPolicy

require_optional("cedarpy", "pip install -e '.[cedar]'")  # skip; fail under CI=true

HERE = Path(__file__).parent
AGENT = "spiffe://acme.example/agent/analyst"
ROOT = "spiffe://acme.example/orchestrator"


@pytest.fixture(scope="module")
def cedar_policy() -> CedarPolicy:
    return CedarPolicy.load(HERE / "policy.cedar", HERE / "entities.json")


def ctx(**over: Any) -> PolicyContext:
    base: dict[str, Any] = {
        "holder": AGENT,
        "request": Request(tool="crm.read", resource="customers/eu/1"),
        "path": (ROOT, AGENT),
        "root": ROOT,
        "depth": 1,
        "remaining_depth": 0,
        "task": "T-1",
        "obo": "user:alice",
        "purpose": None,
        "capabilities": (),
        "time": 1_741_082_400.0,  # 2025-03-04T10:00:00Z, a Tuesday
        "delegator": ROOT,
    }
    return PolicyContext(**{**base, **over})


# --- the shared table --- #


def test_table(cedar_policy: CedarPolicy, decides_as_the_table: Callable[[Policy], None]) -> None:
    decides_as_the_table(cedar_policy)


def test_is_a_policy(cedar_policy: CedarPolicy) -> None:
    assert isinstance(cedar_policy, Policy)
    assert cedar_policy.digest.startswith("cedar:")
    assert "crm-read-eu" in cedar_policy.names


# --- construction --- #


@pytest.mark.parametrize(
    ("text", "source", "match"),
    [
        pytest.param(
            "permit (principal, action, resource);\n\n// two\n"
            "permit (principal, action, resource) when { context.x == };\n",
            "policy.cedar",
            r"^policy.cedar:4: invalid Cedar policy: unexpected token",
            id="parse-error-names-the-line",
        ),
        pytest.param(
            '@id("a;b") permit (principal, action, resource) when { context.tool == ";" };'
            "\n// a comment; with a semicolon\nforbid (principal, action, resource) when { 1 + };",
            "<string>",
            r"^<string>:3: ",
            id="semicolons-in-strings-and-comments-ignored",
        ),
        pytest.param(
            '@id("x") permit (principal, action, resource);\n'
            '@id("x") forbid (principal, action, resource);',
            "<string>",
            r"@id\('x'\)",
            id="duplicate-id-annotation",
        ),
    ],
)
def test_bad_policy_text_is_refused(text: str, source: str, match: str) -> None:
    """A policy that does not parse (or repeats an @id) is invalid_policy naming where."""
    with pytest.raises(InvalidPolicy, match=match):
        CedarPolicy(text, source=source)


def test_bad_entities_are_refused() -> None:
    with pytest.raises(InvalidPolicy, match="invalid Cedar entities"):
        CedarPolicy("permit (principal, action, resource);", entities=[{"uid": 1}])


def test_entities_file_errors_name_file_and_line(tmp_path: Path) -> None:
    cedar = tmp_path / "p.cedar"
    cedar.write_text("permit (principal, action, resource);")
    ents = tmp_path / "e.json"
    ents.write_text('[\n  {"uid": }\n]')
    with pytest.raises(InvalidPolicy, match=r"e.json:2: "):
        CedarPolicy.load(cedar, ents)
    ents.write_text('{"uid": 1}')
    with pytest.raises(InvalidPolicy, match=r"e.json:1: .*list of objects"):
        CedarPolicy.load(cedar, ents)
    with pytest.raises(FileError):
        CedarPolicy.load(tmp_path / "missing.cedar")


def test_schema_validates_policies_at_construction() -> None:
    schema = (
        "entity Agent; entity Resource;"
        ' action "crm.read" appliesTo { principal: Agent, resource: Resource, context: {} };'
    )
    with pytest.raises(InvalidPolicy, match="do not match the schema"):
        CedarPolicy("permit (principal, action, resource) when { context.nope };", schema=schema)
    with pytest.raises(InvalidPolicy, match="invalid Cedar schema"):
        CedarPolicy("permit (principal, action, resource);", schema="entity {")


def test_digest_covers_text_and_entities() -> None:
    text = "permit (principal, action, resource);"
    ents = [{"uid": {"type": "Group", "id": "g"}, "attrs": {}, "parents": []}]
    a = CedarPolicy(text)
    assert a.digest == CedarPolicy(text).digest
    assert a.digest != CedarPolicy(text + "\n").digest
    assert a.digest != CedarPolicy(text, entities=ents).digest
    # Entities are hashed canonically: key order does not matter.
    reordered = [json.loads(json.dumps({"parents": [], "attrs": {}, "uid": ents[0]["uid"]}))]
    assert CedarPolicy(text, entities=ents).digest == CedarPolicy(text, entities=reordered).digest


# --- the mapping and failing closed --- #


def test_context_reaches_cedar() -> None:
    policy = CedarPolicy(
        '@id("all") permit (principal == Agent::"' + AGENT + '", action == Action::"crm.read",'
        ' resource == Resource::"customers/eu/1") when {'
        ' context.action == "invoke" && context.tool == "crm.read" &&'
        ' context.resource == "customers/eu/1" && context.depth == 1 &&'
        ' context.remaining_depth == 0 && context.root == "' + ROOT + '" &&'
        ' context.task == "T-1" && context.obo == "user:alice" && !(context has purpose) &&'
        ' context.path.contains("' + AGENT + '") && context.delegator == "' + ROOT + '" &&'
        ' context.labels.sensitivity == "low" && context.tool_labels.contains("pii") &&'
        ' context.args.rows == 5 && context.args.ratio == decimal("0.25") &&'
        ' context.args.nested.list.contains("x") && context.environment.env == "prod" &&'
        ' context.time == 1741082400 && context.hour == 10 && context.weekday == "tue" };'
    )
    request = Request(
        tool="crm.read",
        resource="customers/eu/1",
        args={"rows": 5.0, "ratio": 0.25, "nested": {"list": ["x"]}},
    )
    context = ctx(
        request=request,
        labels={"sensitivity": "low"},
        tool_labels=frozenset({"pii"}),
        environment={"env": "prod"},
    )
    decision = policy.decide(context)
    assert (decision.effect, decision.rules) == ("allow", ("all",)), decision.reason


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"x": None}, "null"),
        ({"x": 0.123456}, "decimal"),
        ({"x": {"__entity": {"type": "Agent", "id": "root"}}}, "reserved"),
        ({"x": {"__extn": {"fn": "decimal", "arg": "1.0"}}}, "reserved"),
    ],
)
def test_unrepresentable_values_deny(args: dict[str, Any], problem: str) -> None:
    policy = CedarPolicy("permit (principal, action, resource);")
    decision = policy.decide(ctx(request=Request(tool="crm.read", resource="r", args=args)))
    assert decision.effect == "deny"
    assert problem in decision.reason


def test_an_erroring_forbid_does_not_let_a_request_through() -> None:
    # Cedar alone would skip the failing forbid and allow.
    policy = CedarPolicy(
        '@id("all") permit (principal, action, resource);\n'
        '@id("no-big") forbid (principal, action, resource) when { context.args.rows > 100 };'
    )
    bad = Request(tool="crm.read", resource="r", args={"rows": "lots"})
    decision = policy.decide(ctx(request=bad))
    assert (decision.effect, decision.rules) == ("deny", ("no-big",))
    assert "could not decide" in decision.reason
    ok = Request(tool="crm.read", resource="r", args={"rows": 1})
    assert policy.decide(ctx(request=ok)).effect == "allow"


def test_default_deny_and_forbid() -> None:
    policy = CedarPolicy(
        '@id("reads") permit (principal, action == Action::"crm.read", resource);\n'
        'forbid (principal, action, resource) when { context.obo == "user:eve" };'
    )
    assert policy.decide(ctx()).rules == ("reads",)
    other = policy.decide(ctx(request=Request(tool="crm.write", resource="r")))
    assert (other.effect, other.rules, other.reason) == ("deny", (), "no rule allows it")
    eve = policy.decide(ctx(obo="user:eve"))
    assert (eve.effect, eve.rules) == ("deny", ("policy1",))


def test_accept_evaluates_every_capability() -> None:
    policy = CedarPolicy(
        '@id("crm") permit (principal, action == Delegation::Action::"accept", resource)'
        ' when { context.action == "accept" && context.tool like "crm.*" };'
    )
    caps = (Capability(tool="crm.read"), Capability(tool="crm.write"))
    accept = ctx(action="accept", request=None, capabilities=caps)
    assert policy.decide(accept).rules == ("crm",)
    mixed = ctx(action="accept", request=None, capabilities=(*caps, Capability(tool="hr.read")))
    decision = policy.decide(mixed)
    assert decision.effect == "deny"
    assert "hr.read" in decision.reason
    assert policy.decide(ctx(action="accept", request=None)).effect == "deny"


def test_cedarpy_failure_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = CedarPolicy("permit (principal, action, resource);")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(policy._cedar, "is_authorized_batch", boom)
    with pytest.raises(InternalError, match="engine exploded"):
        policy.decide(ctx())


def test_missing_cedarpy_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from delegation.errors import ConfigurationError

    monkeypatch.setitem(sys.modules, "cedarpy", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'delegation\[cedar\]'"):
        CedarPolicy("permit (principal, action, resource);")


def test_the_verifier_applies_a_cedar_policy(world: World) -> None:
    chain = world.chain(2)
    verifier = world.verifier(
        policy=CedarPolicy(
            '@id("eu") permit (principal, action == Action::"crm.read", resource)'
            ' when { context.resource like "customers/eu/*" && context.args.max_rows <= 10 };'
        )
    )
    assert verifier.verify(chain, world.prove(chain), REQ).holder == world.agents[1].agent
    big = Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 20})
    with pytest.raises(PolicyDenied, match="no rule allows it"):
        verifier.verify(chain, world.prove(chain, request=big), big)


# --- a deny explains itself --- #


def test_a_miss_names_the_permits_tried_and_a_forbid_names_itself() -> None:
    policy = CedarPolicy(
        '@id("crm-reads-in-short-chains") permit (principal, action == Action::"crm.read",'
        " resource) when { context.depth <= 0 };\n"
        '@id("mail") permit (principal, action == Action::"mail.send", resource);\n'
        '@id("no-eve") forbid (principal, action, resource) when { context.obo == "user:eve" };'
    )
    miss = policy.decide(ctx())
    assert (miss.effect, miss.reason) == ("deny", "no rule allows it")
    assert miss.explanation == (
        "crm-reads-in-short-chains: permit did not apply to crm.read on customers/eu/1",
        "mail: permit did not apply to crm.read on customers/eu/1",
    )
    eve = policy.decide(ctx(obo="user:eve"))
    assert (eve.rules, eve.explanation) == (("no-eve",), ("no-eve: forbid matched",))
    assert CedarPolicy("").decide(ctx()).explanation == ("no permit policy",)


def test_cedar_errors_are_in_the_explanation_with_policy_names() -> None:
    policy = CedarPolicy(
        '@id("all") permit (principal, action, resource);\n'
        '@id("no-big") forbid (principal, action, resource) when { context.args.rows > 100 };'
    )
    decision = policy.decide(
        ctx(request=Request(tool="crm.read", resource="r", args={"rows": "x"}))
    )
    assert len(decision.explanation) == 1
    assert decision.explanation[0].startswith("error: ")
    assert "policy `no-big`" in decision.explanation[0]


def test_the_verifier_carries_cedars_explanation(world: World) -> None:
    chain = world.chain(2)
    verifier = world.verifier(
        policy=CedarPolicy('@id("hr") permit (principal, action == Action::"hr.read", resource);')
    )
    with pytest.raises(PolicyDenied) as caught:
        verifier.verify(chain, world.prove(chain), REQ)
    expected = f"hr: permit did not apply to {REQ.tool} on {REQ.resource}"
    assert caught.value.explanation == (expected,)
    assert world.audit.records[-1]["policy"]["explanation"] == [expected]
