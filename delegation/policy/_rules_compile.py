"""The rules of a policy file compiled to checks (closures over the rule's values), each
with the words that say why it did not hold."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..constraints import Constraint, json_equal
from ..errors import InternalError
from ..patterns import CompiledPattern, compile_pattern
from . import WEEKDAYS, PolicyContext
from ._explain import one_of, show
from ._rules_model import Conditions, PolicyDocument, Rule, TimeWindow

__all__ = ["Compiled", "compile_rule", "wire"]

Check = Callable[[PolicyContext], bool]
#: Why a check did not hold, in a few words (only called when it did not).
Explain = Callable[[PolicyContext], str]


def _member(values: Iterable[Any]) -> Callable[[Any], bool]:
    """Membership by JSON equality, with a set lookup when all values are strings."""
    values = tuple(values)
    if all(isinstance(v, str) for v in values):
        strings = frozenset(values)
        return lambda v: isinstance(v, str) and v in strings
    return lambda v: any(json_equal(v, o) for o in values)


def _attributes(
    what: str,
    wanted: Mapping[str, list[Any]],
    get: Callable[[PolicyContext], Mapping[str, Any]],
) -> tuple[Check, Explain]:
    tests = tuple((name, _member(vals), vals) for name, vals in wanted.items())

    def check(c: PolicyContext) -> bool:
        have = get(c)
        for name, ok, _ in tests:  # noqa: SIM110 (hot path: a loop, no generator)
            if name not in have or not ok(have[name]):
                return False
        return True

    def explain(c: PolicyContext) -> str:
        have = get(c)
        for name, ok, vals in tests:
            if name not in have:
                return f"{what} {show(name)} absent, wanted one of {one_of(vals)}"
            if not ok(have[name]):
                return f"{what} {show(name)} = {show(have[name])} not in {one_of(vals)}"
        return f"{what}s hold"  # pragma: no cover (explain runs only when check failed)

    return check, explain


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _local(c: PolicyContext, zone: ZoneInfo) -> datetime:
    try:
        return datetime.fromtimestamp(c.time, zone)
    except (OverflowError, OSError, ValueError):
        # Not "False": that would switch a deny rule off.
        raise InternalError(f"time {c.time!r} is out of range") from None


def _time_check(w: TimeWindow) -> tuple[Check, Explain]:
    zone = ZoneInfo(w.tz)
    start, end = _minutes(w.start), _minutes(w.to)
    days = frozenset(WEEKDAYS.index(d) for d in w.days) if w.days else frozenset(range(7))
    on = f" on {','.join(w.days)}" if w.days else ""

    def check(c: PolicyContext) -> bool:
        local = _local(c, zone)
        m = local.hour * 60 + local.minute
        day = local.weekday()
        if start < end:
            return start <= m < end and day in days
        if m >= start:
            return day in days
        return m < end and (day - 1) % 7 in days

    def explain(c: PolicyContext) -> str:
        local = _local(c, zone)
        when = f"{WEEKDAYS[local.weekday()]} {local:%H:%M}" if w.days else f"{local:%H:%M}"
        return f"time {when} outside {w.start}-{w.to}{on} {w.tz}"

    return check, explain


def _args_check(constraints: Mapping[str, Constraint], deny: bool) -> tuple[Check, Explain]:
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

    def explain(c: PolicyContext) -> str:
        args = c.request.args if c.request is not None else {}
        for name, con in items:
            want = show(con.kinds())
            if name not in args:
                return f"arg {show(name)} absent, wanted {want}"
            if not con.evaluable(args[name]) or not con.satisfied_by(args[name]):
                return f"arg {show(name)} = {show(args[name])} fails {want}"
        return "args hold"  # pragma: no cover (explain runs only when check failed)

    return check, explain


def _in(values: list[str], get: Callable[[PolicyContext], str | None]) -> Check:
    allowed = frozenset(values)
    return lambda c: (v := get(c)) is not None and v in allowed


def _not_in(what: str, values: list[str], get: Callable[[PolicyContext], str | None]) -> Explain:
    return lambda c: f"{what} {show(get(c))} not in {one_of(values)}"


def _compile_conditions(w: Conditions, deny: bool) -> tuple[tuple[Check, Explain], ...]:
    """The checks of ``w``, each with its explanation; in a deny rule an ``args`` condition
    on a missing or mistyped argument holds (it cannot be evaluated: fail closed)."""
    out: list[tuple[Check, Explain]] = []
    if w.max_depth is not None:
        n = w.max_depth
        out.append((lambda c: c.depth <= n, lambda c: f"max_depth {n} < depth {c.depth}"))
    if w.max_remaining_depth is not None:
        r = w.max_remaining_depth
        out.append(
            (
                lambda c: c.remaining_depth <= r,
                lambda c: f"max_remaining_depth {r} < remaining_depth {c.remaining_depth}",
            )
        )
    for what, values, get in (
        ("holder", w.holder_in, lambda c: c.holder),
        ("root", w.root_in, lambda c: c.root),
        ("obo", w.obo_in, lambda c: c.obo),
        ("delegator", w.delegator_in, lambda c: c.delegator),
    ):
        if values is not None:
            out.append((_in(values, get), _not_in(what, values, get)))
    if w.path_contains is not None:
        agents = frozenset(w.path_contains)
        path_contains = w.path_contains
        out.append(
            (
                lambda c: not agents.isdisjoint(c.path),
                lambda c: f"path has none of {one_of(path_contains)}",
            )
        )
    if w.task_prefix is not None:
        prefix = w.task_prefix
        out.append(
            (
                lambda c: c.task.startswith(prefix),
                lambda c: f"task {show(c.task)} does not start with {show(prefix)}",
            )
        )
    if w.purpose_in is not None:
        out.append(
            (
                _in(w.purpose_in, lambda c: c.purpose),
                _not_in("purpose", w.purpose_in, lambda c: c.purpose),
            )
        )
    if w.purpose_contains is not None:
        needle = w.purpose_contains
        out.append(
            (
                lambda c: c.purpose is not None and needle in c.purpose,
                lambda c: f"purpose {show(c.purpose)} does not contain {show(needle)}",
            )
        )
    if w.tool_labels_any is not None:
        any_of = frozenset(w.tool_labels_any)
        wanted = w.tool_labels_any
        out.append(
            (
                lambda c: not any_of.isdisjoint(c.tool_labels),
                lambda c: (
                    f"tool labels {one_of(sorted(c.tool_labels))} have none of {one_of(wanted)}"
                ),
            )
        )
    if w.tool_labels_none is not None:
        none_of = frozenset(w.tool_labels_none)
        out.append(
            (
                lambda c: none_of.isdisjoint(c.tool_labels),
                lambda c: f"tool labels include {one_of(sorted(none_of & c.tool_labels))}",
            )
        )
    if w.labels is not None:
        out.append(_attributes("label", w.labels, lambda c: c.labels))
    if w.environment is not None:
        out.append(_attributes("environment", w.environment, lambda c: c.environment))
    if w.args is not None:
        out.append(_args_check(w.args, deny))
    if w.time is not None:
        out.append(_time_check(w.time))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Compiled:
    id: str
    deny: bool
    invoke: bool
    accept: bool
    tool: CompiledPattern
    resource: CompiledPattern
    checks: tuple[Check, ...]
    explains: tuple[Explain, ...]
    reason: str
    #: The rule's own ``reason``, if it has one (for explanations).
    note: str | None = None

    def holds(self, context: PolicyContext) -> bool:
        for check in self.checks:  # noqa: SIM110 (hot path: a loop, no generator)
            if not check(context):
                return False
        return True

    def why_not(self, context: PolicyContext) -> str:
        """The first condition that does not hold, in words (the rule must not hold)."""
        for check, explain in zip(self.checks, self.explains, strict=True):
            if not check(context):
                return explain(context)
        return "its conditions hold"


def compile_rule(rule: Rule) -> Compiled:
    verb = "denied" if rule.effect == "deny" else "allowed"
    pairs = _compile_conditions(rule.when, rule.effect == "deny")
    return Compiled(
        id=rule.id,
        deny=rule.effect == "deny",
        invoke="invoke" in rule.actions,
        # ``args`` speak about a request; an offer of capabilities has none.
        accept="accept" in rule.actions and rule.when.args is None,
        tool=compile_pattern(rule.tool, "."),
        resource=compile_pattern(rule.resource, "/"),
        checks=tuple(check for check, _ in pairs),
        explains=tuple(explain for _, explain in pairs),
        reason=rule.reason or f"{verb} by rule {rule.id}",
        note=rule.reason,
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
