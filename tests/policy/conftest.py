"""The shared decision table (cases.yaml) and the two policies that must agree on it.

Any test taking a ``case`` argument runs once per row of the table, named by its id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from delegation import Capability, Request
from delegation.policy import Policy, PolicyContext
from delegation.policy.rules import RulesPolicy

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Case:
    id: str
    context: PolicyContext
    expect: str
    rules: tuple[str, ...] | None
    comment: str


def _context(
    row: dict[str, Any], defaults: dict[str, Any], agents: dict[str, str]
) -> PolicyContext:
    v = {**defaults, **row}
    path = tuple(agents.get(a, a) for a in v["path"])
    accept = "accept" in row
    request = None if accept else Request(**v["request"])
    caps = tuple(Capability(**c) for c in v.get("accept", ()))
    return PolicyContext(
        holder=agents.get(v.get("holder", ""), v.get("holder", path[-1])),
        request=request,
        path=path,
        root=v.get("root", path[0]),
        depth=v.get("depth", len(path) - 1),
        remaining_depth=v["remaining_depth"],
        task=v["task"],
        obo=v["obo"],
        purpose=v["purpose"],
        capabilities=caps,
        time=datetime.fromisoformat(v["time"]).timestamp(),
        action="accept" if accept else "invoke",
        delegator=agents.get(v.get("delegator", ""), v.get("delegator", path[-2])),
        labels=v["labels"],
        tool_labels=frozenset(v["tool_labels"]),
        environment=v["environment"],
    )


def load_cases() -> list[Case]:
    table = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
    out = []
    for row in table["cases"]:
        known = {"id", "comment", "expect", "rules", "request", "accept"} | set(table["defaults"])
        assert set(row) <= known, f"{row['id']}: unknown keys {set(row) - known}"
        out.append(
            Case(
                id=row["id"],
                context=_context(row, table["defaults"], table["agents"]),
                expect=row["expect"],
                rules=tuple(row["rules"]) if "rules" in row else None,
                comment=row.get("comment", ""),
            )
        )
    return out


CASES = load_cases()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[c.id for c in CASES])


@pytest.fixture(scope="session")
def rules_policy() -> RulesPolicy:
    return RulesPolicy.load(HERE / "policy.yaml")


@pytest.fixture
def decides_as_the_table(case: Case) -> Callable[[Policy], None]:
    """Checks that a policy decides this row as the table says (effect, and rules if given)."""

    def check(policy: Policy) -> None:
        decision = policy.decide(case.context)
        assert decision.effect == case.expect, decision.reason
        if case.rules is not None:
            assert decision.rules == case.rules

    return check


@pytest.fixture(scope="session")
def all_cases() -> list[Case]:
    return CASES
