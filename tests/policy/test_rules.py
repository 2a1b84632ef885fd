"""The built-in rules engine on the shared table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REQ, World

from delegation import Capability, Request
from delegation.errors import FileError, InternalError, InvalidPolicy, PolicyDenied
from delegation.policy import Decision, Policy, PolicyContext
from delegation.policy.rules import RulesPolicy

HERE = Path(__file__).parent


def test_table(rules_policy: RulesPolicy, decides_as_the_table: Callable[[Policy], None]) -> None:
    decides_as_the_table(rules_policy)


def test_is_a_policy(rules_policy: RulesPolicy) -> None:
    assert isinstance(rules_policy, Policy)
    assert rules_policy.digest.startswith("rules:")


# --- loading errors: each names the file, the line and the field --- #

HEAD = "version: 1\nrules:\n  - id: a\n    effect: allow\n"

BAD_YAML = [
    (
        "wrong-type",
        HEAD + "    when:\n      max_depth: three\n",
        r"policy.yaml:6: rules\[0\]\.when\.max_depth: Input should be a valid integer$",
    ),
    (
        "negative-depth",
        HEAD + "    when:\n      max_depth: -1\n",
        r"policy.yaml:6: rules\[0\]\.when\.max_depth: Input should be greater than or equal to 0",
    ),
    (
        "unknown-top-level",
        HEAD + "extra: 1\n",
        r"policy.yaml:5: extra: Extra inputs are not permitted",
    ),
    (
        "unknown-rule-field",
        HEAD + "    tools: crm.read\n",
        r"policy.yaml:5: rules\[0\]\.tools: Extra inputs are not permitted",
    ),
    (
        "unknown-condition",
        HEAD + "    when:\n      max_dept: 1\n",
        r"policy.yaml:6: rules\[0\]\.when\.max_dept: Extra inputs are not permitted",
    ),
    (
        "missing-effect",
        "version: 1\nrules:\n  - id: a\n  - id: b\n    effect: allow\n",
        r"policy.yaml:3: rules\[0\]\.effect: Field required",
    ),
    (
        "bad-effect",
        "version: 1\nrules:\n  - id: a\n    effect: permit\n",
        r"policy.yaml:4: rules\[0\]\.effect: Input should be 'allow' or 'deny'",
    ),
    (
        "bad-action",
        HEAD + "    actions: [invoke, delegate]\n",
        r"policy.yaml:5: rules\[0\]\.actions\[1\]: Input should be 'invoke' or 'accept'",
    ),
    (
        "duplicate-rule-id",
        HEAD + "  - id: b\n    effect: deny\n  - id: a\n    effect: deny\n",
        r"policy.yaml:7: rules\[2\]\.id: duplicate rule id 'a' \(first used by rules\[0\]\)",
    ),
    (
        "bad-rule-id",
        "version: 1\nrules:\n  - id: has space\n    effect: allow\n",
        r"policy.yaml:3: rules\[0\]\.id: rule id 'has space' must be",
    ),
    (
        "duplicate-key",
        HEAD + "    effect: deny\n",
        r"policy.yaml:5: rules\[0\]\.effect: duplicate key$",
    ),
    (
        "duplicate-nested-key",
        HEAD + "    when:\n      max_depth: 1\n      max_depth: 2\n",
        r"policy.yaml:7: rules\[0\]\.when\.max_depth: duplicate key$",
    ),
    (
        "bad-tool-pattern",
        HEAD + "    tool: crm.**.read\n",
        r"policy.yaml:5: rules\[0\]\.tool: .*'\*\*' may only be the last segment",
    ),
    (
        "bad-resource-pattern",
        HEAD + "    resource: customers/../x\n",
        r"policy.yaml:5: rules\[0\]\.resource: .*path trick",
    ),
    (
        "bad-zone",
        HEAD + "    when:\n      time: {tz: Mars/Olympus_Mons}\n",
        r"policy.yaml:6: rules\[0\]\.when\.time\.tz: unknown time zone 'Mars/Olympus_Mons'",
    ),
    (
        "unquoted-time",
        HEAD + "    when:\n      time:\n        to: 18:00\n",
        r"policy.yaml:7: rules\[0\]\.when\.time\.to: write times as quoted",
    ),
    (
        "bad-time",
        HEAD + '    when:\n      time:\n        from: "24:00"\n',
        r"policy.yaml:7: rules\[0\]\.when\.time\.from: '24:00' is not a time",
    ),
    (
        "empty-window",
        HEAD + '    when:\n      time: {from: "08:00", to: "08:00"}\n',
        r"policy.yaml:6: rules\[0\]\.when\.time: from and to are both '08:00'",
    ),
    (
        "bad-day",
        HEAD + "    when:\n      time: {days: [monday]}\n",
        r"policy.yaml:6: rules\[0\]\.when\.time\.days\[0\]: Input should be 'mon'",
    ),
    (
        "empty-list",
        HEAD + "    when:\n      root_in: []\n",
        r"policy.yaml:6: rules\[0\]\.when\.root_in: List should have at least 1 item",
    ),
    (
        "label-not-a-list",
        HEAD + "    when:\n      labels: {sensitivity: low}\n",
        r"policy.yaml:6: rules\[0\]\.when\.labels\.sensitivity: Input should be a valid list",
    ),
    (
        "bad-constraint",
        HEAD + "    when:\n      args:\n        rows: {maximum: 3}\n",
        r"policy.yaml:7: rules\[0\]\.when\.args\.rows\.maximum: Extra inputs are not permitted",
    ),
    (
        "version-2",
        "version: 2\nrules: []\n",
        r"policy.yaml:1: version: unsupported policy version 2",
    ),
    (
        "version-bool",
        "version: true\nrules: []\n",
        r"policy.yaml:1: version: Input should be a valid integer",
    ),
    (
        "yaml-syntax",
        HEAD + "    actions: [invoke\n",
        r"policy.yaml:6: while parsing a flow sequence, expected ',' or '\]'",
    ),
    ("alias", "version: 1\nx: &r []\nrules: *r\n", r"policy.yaml:3: aliases are not allowed"),
    (
        "two-documents",
        "version: 1\nrules: []\n---\nversion: 1\n",
        r"policy.yaml:3: .*single document",
    ),
    ("not-a-mapping", "- version: 1\n", r"policy.yaml:1: a policy must be a mapping"),
    ("empty", "# nothing\n", r"policy.yaml:1: the policy is empty"),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_YAML], ids=[b[0] for b in BAD_YAML]
)
def test_yaml_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message) as info:
        RulesPolicy.from_text(text, source="policy.yaml")
    assert info.value.code == "invalid_policy"


BAD_JSON = [
    (
        "syntax",
        '{"version": 1,\n "rules": [\n  {"id": "a" "effect": "allow"}]}',
        r"^p.json:3: Expecting ',' delimiter",
    ),
    (
        "wrong-type",
        '{"version": 1,\n "rules": [\n  {"id": "a", "effect": "allow",\n'
        '   "when": {"max_depth": "x"}}]}',
        r"^p.json:4: rules\[0\]\.when\.max_depth: Input should be a valid integer",
    ),
    (
        "tabs",
        '{"version": 1,\n\t"rules": [\n\t{"id": "a",\t"effect": "allow",\n'
        '\t"when": {"max_depth": 1.5}}]}',
        r"^p.json:4: rules\[0\]\.when\.max_depth: Input should be a valid integer",
    ),
    (
        "duplicate-key",
        '{"version": 1,\n "rules": [\n  {"id": "a",\n   "id": "b", "effect": "allow"}]}',
        r"^p.json:4: rules\[0\]\.id: duplicate key",
    ),
    (
        "nan",
        '{"version": 1, "rules": [{"id": "a", "effect": "allow", "when": {"max_depth": NaN}}]}',
        r"^p.json: NaN is not JSON",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_JSON], ids=[b[0] for b in BAD_JSON]
)
def test_json_errors_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        RulesPolicy.from_text(text, source="p.json")


def test_several_errors_are_counted() -> None:
    text = HEAD + "    when:\n      max_depth: x\n      max_remaining_depth: y\n"
    with pytest.raises(InvalidPolicy, match=r":6: .*max_depth: .* \(and 1 more\)$"):
        RulesPolicy.from_text(text)


def test_from_dict_errors_name_the_field() -> None:
    with pytest.raises(InvalidPolicy, match=r"^<dict>: rules\[0\]\.when\.obo_in: "):
        RulesPolicy.from_dict(
            {"version": 1, "rules": [{"id": "a", "effect": "allow", "when": {"obo_in": "x"}}]}
        )


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(HEAD + "    when:\n      max_depth: x\n")
    with pytest.raises(InvalidPolicy, match=rf"^{re.escape(str(path))}:6: "):
        RulesPolicy.load(path)
    with pytest.raises(FileError):
        RulesPolicy.load(tmp_path / "missing.yaml")


def test_format_is_sniffed_without_an_extension(tmp_path: Path) -> None:
    path = tmp_path / "policy"
    path.write_text('{"version": 1, "rules": [{"id": "a", "effect": "allow", "tool": "x.y"}]}')
    json_policy = RulesPolicy.load(path)
    path.write_text(HEAD + "    tool: x.y\n")
    assert RulesPolicy.load(path).digest == json_policy.digest


# --- digests --- #

REFORMATTED = """
# the same rules, written differently
rules:
  - effect: allow
    id: a
    actions: [invoke]        # the default, spelled out
    resource: '**'
    tool: "**"
version: 1
"""


def test_digest_is_stable_under_formatting() -> None:
    a = RulesPolicy.from_text(HEAD)
    assert a.digest == RulesPolicy.from_text(HEAD).digest
    assert a.digest == RulesPolicy.from_text(REFORMATTED).digest
    flow = "{version: 1, rules: [{id: a, effect: allow}]}"
    assert a.digest == RulesPolicy.from_text(flow, source="p.yaml").digest
    as_json = '{"rules": [{"effect": "allow", "id": "a"}], "version": 1}'
    assert a.digest == RulesPolicy.from_text(as_json).digest
    assert (
        a.digest
        == RulesPolicy.from_dict({"version": 1, "rules": [{"id": "a", "effect": "allow"}]}).digest
    )


@pytest.mark.parametrize(
    "change",
    [
        "    tool: crm.read\n",
        "    resource: customers/**\n",
        "    actions: [accept]\n",
        "    reason: because\n",
        "    when: {max_depth: 2}\n",
        "    when: {args: {rows: {max: 10}}}\n",
        "    when: {time: {tz: Europe/Paris}}\n",
        "  - id: b\n    effect: deny\n",
    ],
)
def test_any_rule_change_changes_the_digest(change: str) -> None:
    base = RulesPolicy.from_text(HEAD + "    when: {max_depth: 3}\n" if "when" in change else HEAD)
    assert base.digest != RulesPolicy.from_text(HEAD + change).digest
    assert (
        RulesPolicy.from_text(HEAD).digest
        != RulesPolicy.from_text(HEAD.replace("effect: allow", "effect: deny")).digest
    )


def test_constraint_changes_change_the_digest() -> None:
    def digest(kinds: str) -> str:
        return RulesPolicy.from_text(HEAD + f"    when: {{args: {{rows: {kinds}}}}}\n").digest

    assert digest("{max: 10}") != digest("{max: 11}")
    assert digest("{one_of: [a, b]}") != digest("{one_of: [b, a]}")
    assert digest("{one_of: [a, b]}") == digest('{one_of: ["a", "b"]}')


def test_yaml_and_json_are_equivalent(rules_policy: RulesPolicy, all_cases: list[Any]) -> None:
    data = yaml.safe_load((HERE / "policy.yaml").read_text())
    as_json = RulesPolicy.from_text(json.dumps(data, indent=2), source="policy.json")
    assert as_json.digest == rules_policy.digest
    for case in all_cases:
        assert as_json.decide(case.context) == rules_policy.decide(case.context), case.id


# --- semantics beyond the table --- #


def ctx(**over: Any) -> PolicyContext:
    base: dict[str, Any] = {
        "holder": "agent:b",
        "request": Request(tool="crm.read", resource="customers/eu/1"),
        "path": ("agent:root", "agent:a", "agent:b"),
        "root": "agent:root",
        "depth": 2,
        "remaining_depth": 0,
        "task": "T-1",
        "obo": None,
        "purpose": None,
        "capabilities": (),
        "time": datetime(2025, 1, 15, 12, 0, tzinfo=UTC).timestamp(),
        "delegator": "agent:a",
    }
    return PolicyContext(**{**base, **over})


def policy(*rules: str) -> RulesPolicy:
    return RulesPolicy.from_text("version: 1\nrules:\n" + ("".join(rules) or "  []\n"))


def at(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def test_time_windows_follow_the_zone_and_its_daylight_saving() -> None:
    p = policy(
        "  - id: paris-office\n    effect: allow\n"
        '    when: {time: {from: "09:00", to: "17:00", tz: Europe/Paris}}\n'
    )
    assert not p.decide(ctx(time=at(2025, 1, 15, 7, 30))).allowed  # 08:30 in Paris (UTC+1)
    assert p.decide(ctx(time=at(2025, 1, 15, 8, 30))).allowed  # 09:30
    assert p.decide(ctx(time=at(2025, 7, 15, 7, 30))).allowed  # 09:30 in summer (UTC+2)
    assert not p.decide(ctx(time=at(2025, 7, 15, 15, 0))).allowed  # 17:00, the end is open


def test_time_window_defaults() -> None:
    weekend = policy("  - id: w\n    effect: allow\n    when: {time: {days: [sat, sun]}}\n")
    assert weekend.decide(ctx(time=at(2025, 3, 8, 0, 0))).allowed
    assert weekend.decide(ctx(time=at(2025, 3, 9, 23, 59))).allowed
    assert not weekend.decide(ctx(time=at(2025, 3, 10, 0, 0))).allowed
    evening = policy('  - id: e\n    effect: allow\n    when: {time: {from: "18:00"}}\n')
    assert evening.decide(ctx(time=at(2025, 3, 10, 23, 59))).allowed
    assert not evening.decide(ctx(time=at(2025, 3, 11, 0, 0))).allowed


def test_rules_list_every_applicable_rule_of_the_winning_effect() -> None:
    p = policy(
        "  - id: a1\n    effect: allow\n    reason: first\n",
        "  - id: a2\n    effect: allow\n    tool: crm.*\n",
        "  - id: a3\n    effect: allow\n    tool: hr.*\n",
    )
    assert p.decide(ctx()) == Decision("allow", ("a1", "a2"), "first")
    q = policy(
        "  - id: a1\n    effect: allow\n",
        "  - id: d1\n    effect: deny\n    tool: crm.read\n",
        "  - id: d2\n    effect: deny\n    resource: customers/*/1\n",
    )
    assert q.decide(ctx()) == Decision("deny", ("d1", "d2"), "denied by rule d1")
    assert q.decide(ctx(request=Request(tool="hr.read", resource="x"))).rules == ("a1",)


def test_no_rule_denies() -> None:
    empty = policy()
    decision = empty.decide(ctx())
    assert decision == Decision("deny", (), "no rule allows it")
    assert not empty.decide(
        ctx(action="accept", request=None, capabilities=(Capability(tool="a"),))
    ).allowed


def test_invoke_without_a_request_and_accept_without_capabilities_deny() -> None:
    p = policy("  - id: all\n    effect: allow\n    actions: [invoke, accept]\n")
    assert not p.decide(ctx(request=None)).allowed
    assert not p.decide(ctx(action="accept", request=None)).allowed
    assert p.decide(
        ctx(action="accept", request=None, capabilities=(Capability(tool="a.**"),))
    ).allowed


def test_delegator_and_obo_none_never_match() -> None:
    p = policy(
        "  - id: d\n    effect: allow\n    tool: crm.*\n    when: {delegator_in: [agent:a]}\n",
        "  - id: o\n    effect: allow\n    tool: hr.read\n    when: {obo_in: [user:x]}\n",
    )
    assert p.decide(ctx()).allowed
    assert not p.decide(ctx(delegator=None)).allowed
    assert not p.decide(ctx(request=Request(tool="hr.read", resource="r"))).allowed


def test_label_values_compare_as_json() -> None:
    p = policy("  - id: n\n    effect: allow\n    when: {labels: {level: [1, 2]}}\n")
    assert p.decide(ctx(labels={"level": 2.0})).allowed
    assert not p.decide(ctx(labels={"level": True})).allowed
    assert not p.decide(ctx(labels={"level": "1"})).allowed


def test_patterns_are_segment_exact() -> None:
    p = policy("  - id: one\n    effect: allow\n    tool: crm.*\n    resource: customers/**\n")
    assert p.decide(ctx(request=Request(tool="crm.read", resource="customers"))).allowed
    assert not p.decide(ctx(request=Request(tool="crm.read.all", resource="customers/1"))).allowed
    assert not p.decide(ctx(request=Request(tool="crm", resource="customers/1"))).allowed
    assert not p.decide(ctx(request=Request(tool="crm.read", resource="customersX/1"))).allowed


def test_repr_and_document() -> None:
    p = policy("  - id: one\n    effect: allow\n")
    assert "1 rules" in repr(p)
    assert [r.id for r in p.document.rules] == ["one"]


def test_out_of_range_time_is_an_internal_error_not_a_skipped_rule() -> None:
    p = policy('  - id: night\n    effect: deny\n    when: {time: {from: "22:00", to: "06:00"}}\n')
    with pytest.raises(InternalError):
        p.decide(ctx(time=1e20))


# --- through the verifier --- #


def test_the_verifier_applies_a_rules_policy(world: World) -> None:
    chain = world.chain(2)
    p = RulesPolicy.from_text(
        "version: 1\nrules:\n"
        "  - {id: eu-reads, effect: allow, tool: crm.read, resource: 'customers/eu/**',"
        " when: {obo_in: ['user:alice'], max_depth: 2}}\n"
        "  - {id: no-42, effect: deny, resource: customers/eu/42, when: {task_prefix: T-}}\n"
    )
    verifier = world.verifier(policy=p)
    ok = Request(tool="crm.read", resource="customers/eu/7", args={"max_rows": 10})
    assert (
        verifier.verify(chain, world.prove(chain, request=ok), ok).holder == world.agents[1].agent
    )
    with pytest.raises(PolicyDenied, match="denied by rule no-42"):
        verifier.verify(chain, world.prove(chain, request=REQ), REQ)
    deeper = world.chain(3)
    with pytest.raises(PolicyDenied, match="no rule allows it"):
        verifier.verify(deeper, world.prove(deeper, request=ok), ok)


# --- a deny explains itself --- #

OFFICE = (
    "  - id: office-hours\n    effect: allow\n    tool: crm.*\n"
    '    when: {time: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "18:00",'
    " tz: Europe/Berlin}}\n"
)


def test_a_miss_names_each_allow_rule_and_the_condition_that_did_not_hold() -> None:
    p = policy(
        "  - id: crm-reads-in-short-chains\n    effect: allow\n    tool: crm.read\n"
        "    when: {max_depth: 1}\n",
        OFFICE,
        "  - id: small-exports\n    effect: allow\n    tool: crm.read\n"
        "    when: {args: {rows: {max: 100}}}\n",
        "  - id: no-hr\n    effect: deny\n    tool: hr.*\n",
        "  - id: mail\n    effect: allow\n    tool: mail.send\n",
        "  - id: eu-only\n    effect: allow\n    resource: customers/us/**\n",
    )
    big = Request(tool="crm.read", resource="customers/eu/1", args={"rows": 5000})
    decision = p.decide(ctx(request=big, time=at(2025, 1, 15, 20, 4)))  # a Wednesday
    assert (decision.effect, decision.rules, decision.reason) == ("deny", (), "no rule allows it")
    assert decision.explanation == (
        "crm-reads-in-short-chains: max_depth 1 < depth 2",
        "office-hours: time wed 21:04 outside 09:00-18:00 on mon,tue,wed,thu,fri Europe/Berlin",
        'small-exports: arg "rows" = 5000 fails {"max": 100}',
        'mail: tool mail.send does not match "crm.read"',
        'eu-only: resource customers/us/** does not match "customers/eu/1"',
    )
    assert p.decide(ctx(request=big, time=at(2025, 1, 15, 20, 4))) == decision  # deterministic


def test_a_matching_deny_rule_is_named_with_its_reason() -> None:
    p = policy(
        "  - id: all\n    effect: allow\n",
        "  - id: no-crm-at-night\n    effect: deny\n    tool: crm.*\n"
        "    reason: no CRM reads at night\n",
        "  - id: no-eu\n    effect: deny\n    resource: customers/eu/**\n",
        "  - id: no-hr\n    effect: deny\n    tool: hr.*\n",
    )
    decision = p.decide(ctx())
    assert decision.rules == ("no-crm-at-night", "no-eu")
    assert decision.explanation == (
        "no-crm-at-night: deny rule matched: no CRM reads at night",
        "no-eu: deny rule matched",
    )
    assert p.decide(ctx(request=Request(tool="x", resource="y"))).explanation == ()  # allowed


def test_an_explanation_is_bounded_and_its_values_are_only_data() -> None:
    rules = [
        f"  - id: r{i:02}\n    effect: allow\n    when: {{labels: {{team: [t{i}]}}}}\n"
        for i in range(15)
    ]
    hostile = "x\n\x1b[31mdenied: allowed\u202e" + "y" * 500
    decision = policy(*rules).decide(ctx(labels={"team": hostile}))
    assert len(decision.explanation) == 10
    assert decision.explanation[0].startswith('r00: label "team" = "x\\n\\u001b[31mdenied')
    assert decision.explanation[-1] == "... and 6 more"
    for line in decision.explanation:
        assert len(line) <= 200
        assert line.isprintable()


def test_accept_and_other_misses_are_explained() -> None:
    p = policy(
        "  - id: crm-offers\n    effect: allow\n    actions: [accept]\n    tool: crm.*\n"
        "    when: {holder_in: [agent:c]}\n",
        "  - id: hr-offers\n    effect: allow\n    actions: [accept]\n    tool: hr.*\n",
    )
    offer = ctx(action="accept", request=None, capabilities=(Capability(tool="crm.read"),))
    assert p.decide(offer).explanation == (
        'crm-offers: holder "agent:b" not in ["agent:c"]',
        "hr-offers: hr.* on ** does not cover the offer",
    )
    assert policy().decide(ctx()).explanation == ("no allow rule is about invoke",)
    q = policy(
        "  - id: t\n    effect: allow\n    when: {task_prefix: OPS-, tool_labels_any: [crm]}\n",
        "  - id: p\n    effect: allow\n    when: {purpose_contains: audit}\n",
        "  - id: e\n    effect: allow\n    when: {environment: {env: [prod]}}\n",
        "  - id: n\n    effect: allow\n    when: {tool_labels_none: [pii]}\n",
        "  - id: a\n    effect: allow\n    when: {tool_labels_any: [crm]}\n",
        "  - id: x\n    effect: allow\n    when: {path_contains: [agent:x]}\n",
        "  - id: d\n    effect: allow\n    when: {max_remaining_depth: 0, obo_in: [user:a]}\n",
    )
    assert q.decide(ctx(tool_labels=frozenset({"pii"}))).explanation == (
        't: task "T-1" does not start with "OPS-"',
        'p: purpose null does not contain "audit"',
        'e: environment "env" absent, wanted one of ["prod"]',
        'n: tool labels include ["pii"]',
        'a: tool labels ["pii"] have none of ["crm"]',
        'x: path has none of ["agent:x"]',
        'd: obo null not in ["user:a"]',
    )


def test_the_verifier_puts_the_explanation_on_the_error_and_in_the_audit(world: World) -> None:
    chain = world.chain(2)
    p = RulesPolicy.from_text(
        "version: 1\nrules:\n  - {id: short, effect: allow, when: {max_depth: 1}}\n"
    )
    with pytest.raises(PolicyDenied) as caught:
        world.verifier(policy=p).verify(chain, world.prove(chain), REQ)
    assert caught.value.explanation == ("short: max_depth 1 < depth 2",)
    assert caught.value.to_dict()["explanation"] == ["short: max_depth 1 < depth 2"]
    facts = world.audit.records[-1]["policy"]
    assert facts["explanation"] == ["short: max_depth 1 < depth 2"]
