"""The built-in rules engine: a policy file (YAML or JSON) of allow and deny rules.

A file, version 1::

    version: 1
    rules:
      - id: allow-crm-eu              # unique
        effect: allow                 # allow | deny
        actions: [invoke]             # invoke | accept (default [invoke])
        tool: "crm.*"                 # capability pattern grammar (default "**")
        resource: "customers/eu/**"   # (default "**")
        reason: "EU CRM reads"        # optional, becomes Decision.reason
        when:                         # every condition present must hold
          max_depth: 3
          labels: {sensitivity: [low, medium]}
          time: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", tz: UTC}

Semantics. For ``invoke``, a rule applies when its tool and resource patterns match the
request and its conditions hold. For ``accept`` (a delegation offered), an allow rule
applies when it covers every offered capability's patterns; a deny rule applies when
its patterns overlap any offered capability's (some concrete value matches both); a
rule with ``args`` never applies to ``accept``. Deny overrides allow; when no rule
applies the answer is deny ("no rule allows it").

An ``args`` condition that cannot be evaluated (the argument is missing, or of the wrong
type for ``min``/``max``/``prefix``) counts as matched in a deny rule and as not matched
in an allow rule: both fail closed, as Cedar does on the evaluation error. Arguments come
from the requester; labels and environment come from the verifier's own caller, and an
absent one is simply not matched.

The file is parsed and validated once; ``decide`` runs precompiled checks. A malformed
file raises :class:`~delegation.errors.InvalidPolicy` naming the file, the line and the
field (``policy.yaml:12: rules[2].when.max_depth: Input should be a valid integer``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import rfc8785
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .._files import read_text
from .._jose import b64url_encode
from ..capabilities import Capability, Constraint, json_equal, pattern_covers
from ..errors import InternalError, InvalidPolicy
from . import NO_RULE, WEEKDAYS, Decision, PolicyContext
from ._patterns import CompiledPattern, compile_pattern, overlaps, validate_pattern

__all__ = ["Conditions", "PolicyDocument", "Rule", "RulesPolicy", "TimeWindow"]

# --- the file format --- #

Action = Literal["invoke", "accept"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NonNegative = Annotated[StrictInt, Field(ge=0)]
Names = Annotated[list[StrictStr], Field(min_length=1, max_length=1024)]
Values = Annotated[list[JsonValue], Field(min_length=1, max_length=1024)]
_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,127}")


def _rule_id(value: str) -> str:
    if not _RULE_ID.fullmatch(value):
        raise ValueError(
            f"rule id {value!r} must be 1-128 characters from A-Z a-z 0-9 _ . : / @ -"
            " (starting with a letter or digit)"
        )
    return value


RuleId = Annotated[StrictStr, AfterValidator(_rule_id)]


def _quoted_time(value: object) -> object:
    # YAML 1.1 reads an unquoted 18:00 as the base-60 integer 1080: say so, not "not a string".
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            'write times as quoted "HH:MM" strings (YAML reads an unquoted 18:00 as a number)'
        )
    return value


_HHMM = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


def _start_time(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise ValueError(f'{value!r} is not a time "HH:MM" between "00:00" and "23:59"')
    return value


def _end_time(value: str) -> str:
    if value != "24:00" and not _HHMM.fullmatch(value):
        raise ValueError(f'{value!r} is not a time "HH:MM" between "00:00" and "24:00"')
    return value


StartTime = Annotated[StrictStr, BeforeValidator(_quoted_time), AfterValidator(_start_time)]
EndTime = Annotated[StrictStr, BeforeValidator(_quoted_time), AfterValidator(_end_time)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)


class TimeWindow(_Model):
    """Days and a local time-of-day window ``[from, to)``; ``from > to`` wraps midnight.

    ``days`` name the day a window *starts*: with ``days: [fri], from: "22:00",
    to: "06:00"``, Saturday 02:00 is inside (Friday night's window).
    """

    days: list[Day] | None = Field(default=None, min_length=1, max_length=7)
    start: StartTime = Field(default="00:00", alias="from")
    to: EndTime = "24:00"
    tz: StrictStr = "UTC"

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as 'UTC')") from None
        return v

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start == self.to:
            raise ValueError(f"from and to are both {self.to!r}: the window is empty")
        return self


class Conditions(_Model):
    """Conditions of a rule; every one present must hold (absent = no condition)."""

    max_depth: NonNegative | None = None
    max_remaining_depth: NonNegative | None = None
    root_in: Names | None = None
    obo_in: Names | None = None
    holder_in: Names | None = None
    delegator_in: Names | None = None
    path_contains: Names | None = None
    task_prefix: StrictStr | None = None
    purpose_in: Names | None = None
    purpose_contains: StrictStr | None = None
    labels: Annotated[dict[StrictStr, Values], Field(min_length=1)] | None = None
    tool_labels_any: Names | None = None
    tool_labels_none: Names | None = None
    args: Annotated[dict[StrictStr, Constraint], Field(min_length=1)] | None = None
    time: TimeWindow | None = None
    environment: Annotated[dict[StrictStr, Values], Field(min_length=1)] | None = None


def _invoke_only() -> list[Action]:
    return ["invoke"]


class Rule(_Model):
    """One rule: an effect, the actions and patterns it is about, and its conditions."""

    id: RuleId
    effect: Literal["allow", "deny"]
    actions: list[Action] = Field(default_factory=_invoke_only, min_length=1, max_length=2)
    tool: StrictStr = "**"
    resource: StrictStr = "**"
    reason: StrictStr | None = None
    when: Conditions = Field(default_factory=Conditions)

    @field_validator("tool")
    @classmethod
    def _tool(cls, v: str) -> str:
        return validate_pattern(v, ".")

    @field_validator("resource")
    @classmethod
    def _resource(cls, v: str) -> str:
        return validate_pattern(v, "/")


class PolicyDocument(_Model):
    """A whole policy file (version 1)."""

    version: StrictInt
    rules: list[Rule] = Field(max_length=10_000)

    @field_validator("version")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"unsupported policy version {v}; this library reads version 1")
        return v


# --- reading files, with line numbers in every error --- #


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases (no billion laughs)."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None, None, "aliases are not allowed in a policy file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "unhashable key",
                    key_node.start_mark,
                ) from None
            if duplicate:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _yaml_error(exc: yaml.YAMLError, source: str) -> InvalidPolicy:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    line = f"{mark.line + 1}:" if mark is not None else ""
    return InvalidPolicy(f"{source}:{line} {problem}")


def _walk(node: Node, path: str) -> Iterator[tuple[str, Node, MappingNode | None]]:
    """Every node in document order with its field path; a mapping key comes with its
    mapping (the third item), before its value."""
    yield path, node, None
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            here = f"{path}.{key_node.value}" if path else str(key_node.value)
            yield here, key_node, node
            yield from _walk(value_node, here)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk(item, f"{path}[{i}]")


def _find_duplicate(node: Node, path: str) -> tuple[str, Node] | None:
    """The path and key node of the first duplicate mapping key, in document order."""
    seen: dict[int, set[tuple[str, str]]] = {}
    for here, item, mapping in _walk(node, path):
        if mapping is not None and isinstance(item, ScalarNode):
            keys = seen.setdefault(id(mapping), set())
            if (item.tag, item.value) in keys:
                return here, item
            keys.add((item.tag, item.value))
    return None


#: Plain scalars YAML 1.1 reads as something other than a string, and the spellings of
#: each that mean the same in YAML 1.2 and JSON. Anything else (``no``, ``on``, ``010``,
#: ``0x1F``, ``1_000``, ``18:00``, ``.inf``, ``~``, ``2026-01-01``) must be quoted.
_PLAIN_OK: dict[str, re.Pattern[str]] = {
    "tag:yaml.org,2002:bool": re.compile(r"true|false"),
    "tag:yaml.org,2002:int": re.compile(r"-?(?:0|[1-9][0-9]*)"),
    "tag:yaml.org,2002:float": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?"),
    "tag:yaml.org,2002:null": re.compile(r"null|"),
    "tag:yaml.org,2002:timestamp": re.compile(r"(?!)"),
}

_KIND = {
    "bool": "a boolean",
    "int": "a number",
    "float": "a number",
    "null": "null",
    "timestamp": "a date",
}


def _find_ambiguous(node: Node, path: str) -> tuple[str, ScalarNode] | None:
    """The path and node of the first plain scalar whose meaning YAML 1.1 changes."""
    for here, item, _ in _walk(node, path):
        if isinstance(item, ScalarNode) and item.style is None:
            ok = _PLAIN_OK.get(item.tag)
            if ok is not None and not ok.fullmatch(item.value):
                return here, item
    return None


def _compose_yaml(text: str, source: str, *, plain: bool = True) -> tuple[Any, Node | None]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidPolicy(f"{source}:1: the policy is empty")
        duplicate = _find_duplicate(node, "")
        if duplicate is not None:
            path, key_node = duplicate
            line = key_node.start_mark.line + 1
            raise InvalidPolicy(f"{source}:{line}: {path}: duplicate key", claim=path)
        ambiguous = _find_ambiguous(node, "") if plain else None
        if ambiguous is not None:
            path, scalar = ambiguous
            value = scalar.value
            if scalar.tag.endswith(":int") and ":" in value:
                why = f'write times as quoted "HH:MM" strings (YAML 1.1 reads {value} as a number)'
            else:
                kind = _KIND[scalar.tag.rpartition(":")[2]]
                why = f"unquoted {value!r} is read by YAML 1.1 as {kind}, not a string"
            raise InvalidPolicy(
                f'{source}:{scalar.start_mark.line + 1}: {path}: {why}; quote it ("{value}")'
                " or write the value as in JSON",
                claim=path or None,
            )
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except RecursionError:
        raise InvalidPolicy(f"{source}: the policy is nested too deeply") from None
    finally:
        loader.dispose()
    return data, node


def _parse_json(text: str, source: str) -> tuple[Any, Node | None]:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InvalidPolicy(f"{source}:{exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise InvalidPolicy(f"{source}: the policy is nested too deeply") from None
    except (_DuplicateKey, ValueError) as exc:
        # YAML reads JSON well enough to say which line holds the duplicate.
        try:
            _compose_yaml(text.replace("\t", " "), source, plain=False)
        except InvalidPolicy as located:
            raise located from None
        raise InvalidPolicy(f"{source}: {exc}") from None
    # JSON numbers and escapes are not all YAML 1.1: the data comes from json, and the
    # YAML node tree serves only to find lines. YAML refuses tabs where JSON allows
    # them; spaces in their place keep every line where it was.
    try:
        _, node = _compose_yaml(text.replace("\t", " "), source, plain=False)
    except InvalidPolicy:
        node = None
    return data, node


def _is_json(text: str, source: str) -> bool:
    suffix = Path(source).suffix.lower()
    if suffix == ".json":
        return True
    if suffix in (".yaml", ".yml"):
        return False
    # No telling suffix: JSON when it reads as JSON (a YAML flow mapping also starts "{").
    if not text.lstrip().startswith("{"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _locate(
    data: Any, node: Node | None, loc: Sequence[int | str], missing: bool
) -> tuple[str, int | None]:
    """The field path (``rules[2].when.max_depth``) and 1-based line of an error location."""
    path = ""
    line = node.start_mark.line + 1 if node is not None else None
    for i, part in enumerate(loc):
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            path += f"[{part}]"
            node = node.value[part] if isinstance(node, SequenceNode) else None
        elif isinstance(data, dict) and part in data:
            data = data[part]
            path += f".{part}" if path else str(part)
            value_node: Node | None = None
            if isinstance(node, MappingNode):
                for key_node, v in node.value:
                    if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                        value_node = v
                        break
            node = value_node
        elif isinstance(data, dict) and missing and i == len(loc) - 1:
            path += f".{part}" if path else str(part)
            break
        else:
            # Union members and validator names: not part of the document's shape.
            continue
        if node is not None:
            line = node.start_mark.line + 1
    return path, line


def _invalid(
    source: str,
    data: Any,
    node: Node | None,
    errors: Sequence[tuple[Sequence[int | str], str, bool]],
) -> InvalidPolicy:
    loc, msg, missing = errors[0]
    path, line = _locate(data, node, loc, missing)
    where = f"{source}:{line}:" if line is not None else f"{source}:"
    text = f"{where} {path}: {msg}" if path else f"{where} {msg}"
    # A union (a number is an int or a float) reports one error per member: count fields.
    others = {_locate(data, node, e[0], e[2])[0] for e in errors[1:]} - {path}
    if others:
        text += f" (and {len(others)} more)"
    return InvalidPolicy(text, claim=path or None)


def _validate(data: Any, node: Node | None, source: str) -> PolicyDocument:
    if not isinstance(data, dict):
        raise _invalid(source, data, node, [((), "a policy must be a mapping", False)])
    try:
        doc = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        errors = [
            (
                e["loc"],
                str(e["msg"]).removeprefix("Value error, "),
                e["type"] == "missing",
            )
            for e in exc.errors(include_url=False)
        ]
        raise _invalid(source, data, node, errors) from None
    first: dict[str, int] = {}
    for i, rule in enumerate(doc.rules):
        if rule.id in first:
            msg = f"duplicate rule id {rule.id!r} (first used by rules[{first[rule.id]}])"
            raise _invalid(source, data, node, [(("rules", i, "id"), msg, False)])
        first[rule.id] = i
    return doc


# --- compiled rules --- #

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
class _Compiled:
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


def _compile(rule: Rule) -> _Compiled:
    verb = "denied" if rule.effect == "deny" else "allowed"
    return _Compiled(
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


def _wire(document: PolicyDocument) -> dict[str, Any]:
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


Candidates = tuple[tuple[_Compiled, ...], tuple[_Compiled, ...]]


class RulesPolicy:
    """A policy read from a rules file: deny overrides allow, no applicable rule denies.

    Build it with :meth:`load`, :meth:`from_text` or :meth:`from_dict`; each raises
    ``InvalidPolicy`` (code ``invalid_policy``) naming the line and field at fault.

    >>> policy = RulesPolicy.from_text('''
    ... version: 1
    ... rules:
    ...   - {id: read-crm, effect: allow, tool: crm.read, resource: "customers/**"}
    ... ''')
    >>> policy.digest.startswith("rules:"), [r.id for r in policy.document.rules]
    (True, ['read-crm'])
    """

    digest: str

    def __init__(self, document: PolicyDocument, *, source: str = "<policy>") -> None:
        ids = [r.id for r in document.rules]
        if len(set(ids)) != len(ids):
            raise InvalidPolicy(f"{source}: rule ids must be unique")
        self.document = document
        self.source = source
        sha = hashlib.sha256(rfc8785.dumps(_wire(document))).digest()
        self.digest = "rules:" + b64url_encode(sha)
        compiled = tuple(_compile(r) for r in document.rules)
        self._invoke = tuple(r for r in compiled if r.invoke)
        self._accept = tuple(r for r in compiled if r.accept)
        # Per instance, bounded: which rules' patterns fit a (tool, resource) or an offer.
        self._invoke_candidates = functools.lru_cache(maxsize=4096)(self._select_invoke)
        self._accept_candidates = functools.lru_cache(maxsize=1024)(self._select_accept)

    # --- construction --- #

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RulesPolicy:
        """Read a policy file (``.json``, ``.yaml``/``.yml``, or sniffed from its content).

        Raises ``FileError`` when the file cannot be read, ``InvalidPolicy`` when it is
        malformed.
        """
        source = os.fspath(path)
        return cls.from_text(read_text(path, what="policy file"), source=source)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> RulesPolicy:
        """Parse policy text (YAML or JSON); ``source`` names it in error messages.

        >>> RulesPolicy.from_text('{"version": 1, "rules": [{"id": "x"}]}')
        Traceback (most recent call last):
        ...
        delegation.errors.InvalidPolicy: <string>:1: rules[0].effect: Field required
        """
        if _is_json(text, source):
            data, node = _parse_json(text, source)
        else:
            data, node = _compose_yaml(text, source)
        return cls(_validate(data, node, source), source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> RulesPolicy:
        """Build a policy from already-parsed data (errors name fields, not lines).

        >>> RulesPolicy.from_dict({"version": 1, "rules": [{"id": "a", "effect": "deny"}]})
        ... # doctest: +ELLIPSIS
        <RulesPolicy <dict> 1 rules rules:...>
        """
        return cls(_validate(dict(data), None, source), source=source)

    def __repr__(self) -> str:
        return f"<RulesPolicy {self.source} {len(self.document.rules)} rules {self.digest}>"

    # --- deciding --- #

    def _select_invoke(self, tool: str, resource: str) -> Candidates:
        t = tuple(tool.split("."))
        r = tuple(resource.split("/"))
        hits = [x for x in self._invoke if x.tool.matches(t) and x.resource.matches(r)]
        return tuple(x for x in hits if x.deny), tuple(x for x in hits if not x.deny)

    def _select_accept(self, offered: tuple[tuple[str, str], ...]) -> Candidates:
        deny = tuple(
            x
            for x in self._accept
            if x.deny
            and any(
                overlaps(x.tool.text, t, ".") and overlaps(x.resource.text, r, "/")
                for t, r in offered
            )
        )
        allow = tuple(
            x
            for x in self._accept
            if not x.deny
            and all(
                pattern_covers(x.tool.text, t, ".") and pattern_covers(x.resource.text, r, "/")
                for t, r in offered
            )
        )
        return deny, allow

    def decide(self, context: PolicyContext) -> Decision:
        """Decide on one request or one offered delegation (deny overrides allow).

        ``Decision.rules`` names the applicable deny rules when there are any, else the
        applicable allow rules; with neither the decision is deny, "no rule allows it".

        >>> from delegation import Request
        >>> policy = RulesPolicy.from_text(
        ...     "{version: 1, rules: [{id: reads, effect: allow, tool: crm.read}]}")
        >>> context = PolicyContext(
        ...     holder="agent:b", request=Request(tool="crm.read", resource="customers/1"),
        ...     path=("agent:root", "agent:b"), root="agent:root", depth=1,
        ...     remaining_depth=0, task="T-1", obo=None, purpose=None, capabilities=(),
        ...     time=0.0)
        >>> policy.decide(context)
        Decision(effect='allow', rules=('reads',), reason='allowed by rule reads')
        """
        if context.action == "accept":
            caps: tuple[Capability, ...] = context.capabilities
            if not caps:
                return Decision("deny", (), "no capabilities offered")
            deny, allow = self._accept_candidates(tuple((c.tool, c.resource) for c in caps))
        else:
            request = context.request
            if request is None:
                return Decision("deny", (), "an invocation without a request")
            deny, allow = self._invoke_candidates(request.tool, request.resource)
        denied = [x for x in deny if x.holds(context)]
        if denied:
            return Decision("deny", tuple(x.id for x in denied), denied[0].reason)
        allowed = [x for x in allow if x.holds(context)]
        if allowed:
            return Decision("allow", tuple(x.id for x in allowed), allowed[0].reason)
        return Decision("deny", (), NO_RULE)
