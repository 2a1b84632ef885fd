"""The rules of a policy file compiled to checks (closures over the rule's values), each
with the words that say why it did not hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..capabilities import Constraint, json_equal
from ..errors import InternalError
from . import WEEKDAYS, PolicyContext
from ._patterns import CompiledPattern, compile_pattern
from ._rules_model import Conditions, PolicyDocument, Rule, TimeWindow

__all__ = ["Compiled", "compile_rule", "wire"]

Check = Callable[[PolicyContext], bool]


def _member(values: Iterable[Any]) -> Callable[[Any], bool]:
    """Membership by JSON equality, with a set lookup when all values are strings."""
    values = tuple(values)
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return lambda v: isinstance(v, str) and v in strings
    return lambda v: any(json_equal(v, o) for o in values)


def _attributes(
    wanted: Mapping[str, list[Any]], get: Callable[[PolicyContext], Mapping[str, Any]]
) -> Check:
    tests = tuple((name, _member(vals)) for name, vals in wanted.items())

    def check(c: PolicyContext) -> bool:
        have = get(c)
        for name, ok in tests:  # noqa: SIM110 (hot path: a loop, no generator)
            if name not in have or not ok(have[name]):
                return False
        return True

    return check


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _time_check(w: TimeWindow) -> Check:
    zone = ZoneInfo(w.tz)
    start, end = _minutes(w.start), _minutes(w.to)
    days = frozenset(WEEKDAYS.index(d) for d in w.days) if w.days else frozenset(range(7))

    def check(c: PolicyContext) -> bool:
        try:
            local = datetime.fromtimestamp(c.time, zone)
        except (OverflowError, OSError, ValueError):
            # Not "False": that would switch a deny rule off.
            raise InternalError(f"time {c.time!r} is out of range") from None
        m = local.hour * 60 + local.minute
        day = local.weekday()
        if start < end:
            return start <= m < end and day in days
        if m >= start:
            return day in days
        return m < end and (day - 1) % 7 in days

    return check


def _args_check(constraints: Mapping[str, Constraint], deny: bool) -> Check:
    items = tuple(constraints.items())

    def check(c: PolicyContext) -> bool:
        if c.request is None:
            return False
        args = c.request.args
        for name, con in items:
            if name not in args or not con.evaluable(args[name]):
                # Missing or of the wrong type: a deny rule counts it as matched (Cedar
                # denies on the evaluation error too), an allow rule as not matched.
                if deny:
                    continue
                return False
            if not con.satisfied_by(args[name]):
                return False
        return True

    return check


def _compile_conditions(w: Conditions, deny: bool) -> tuple[Check, ...]:
    """The checks of ``w``; in a deny rule an ``args`` condition on a missing or mistyped
    argument holds (it cannot be evaluated: fail closed)."""
    checks: list[Check] = []
    if w.max_depth is not None:
        n = w.max_depth
        checks.append(lambda c: c.depth <= n)
    if w.max_remaining_depth is not None:
        r = w.max_remaining_depth
        checks.append(lambda c: c.remaining_depth <= r)
    if w.holder_in is not None:
        holders = frozenset(w.holder_in)
        checks.append(lambda c: c.holder in holders)
    if w.root_in is not None:
        roots = frozenset(w.root_in)
        checks.append(lambda c: c.root in roots)
    if w.obo_in is not None:
        obos = frozenset(w.obo_in)
        checks.append(lambda c: c.obo is not None and c.obo in obos)
    if w.delegator_in is not None:
        delegators = frozenset(w.delegator_in)
        checks.append(lambda c: c.delegator is not None and c.delegator in delegators)
    if w.path_contains is not None:
        agents = frozenset(w.path_contains)
        checks.append(lambda c: not agents.isdisjoint(c.path))
    if w.task_prefix is not None:
        prefix = w.task_prefix
        checks.append(lambda c: c.task.startswith(prefix))
    if w.purpose_in is not None:
        purposes = frozenset(w.purpose_in)
        checks.append(lambda c: c.purpose is not None and c.purpose in purposes)
    if w.purpose_contains is not None:
        needle = w.purpose_contains
        checks.append(lambda c: c.purpose is not None and needle in c.purpose)
    if w.tool_labels_any is not None:
        any_of = frozenset(w.tool_labels_any)
        checks.append(lambda c: not any_of.isdisjoint(c.tool_labels))
    if w.tool_labels_none is not None:
        none_of = frozenset(w.tool_labels_none)
        checks.append(lambda c: none_of.isdisjoint(c.tool_labels))
    if w.labels is not None:
        checks.append(_attributes(w.labels, lambda c: c.labels))
    if w.environment is not None:
        checks.append(_attributes(w.environment, lambda c: c.environment))
    if w.args is not None:
        checks.append(_args_check(w.args, deny))
    if w.time is not None:
        checks.append(_time_check(w.time))
    return tuple(checks)


@dataclass(frozen=True, slots=True)
class Compiled:
    id: str
    deny: bool
    invoke: bool
    accept: bool
    tool: CompiledPattern
    resource: CompiledPattern
    checks: tuple[Check, ...]
    reason: str

    def holds(self, context: PolicyContext) -> bool:
        for check in self.checks:  # noqa: SIM110 (hot path: a loop, no generator)
            if not check(context):
                return False
        return True


def compile_rule(rule: Rule) -> Compiled:
    verb = "denied" if rule.effect == "deny" else "allowed"
    return Compiled(
        id=rule.id,
        deny=rule.effect == "deny",
        invoke="invoke" in rule.actions,
        # ``args`` speak about a request; an offer of capabilities has none.
        accept="accept" in rule.actions and rule.when.args is None,
        tool=compile_pattern(rule.tool, "."),
        resource=compile_pattern(rule.resource, "/"),
        checks=_compile_conditions(rule.when, rule.effect == "deny"),
        reason=rule.reason or f"{verb} by rule {rule.id}",
    )


def wire(document: PolicyDocument) -> dict[str, Any]:
    """The validated document as JSON, defaults included (what the digest is over)."""
    rules = []
    for rule in document.rules:
        data = rule.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"when": {"args"}}
        )
        if rule.when.args is not None:
            data["when"]["args"] = {k: c.kinds() for k, c in rule.when.args.items()}
        rules.append(data)
    return {"version": document.version, "rules": rules}
