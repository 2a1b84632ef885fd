"""Capabilities and the attenuation algebra: patterns, constraints, ``covers``, ``allows``.

A capability is a ``tool`` pattern (dot-separated), a ``resource`` pattern
(slash-separated) and ``constraints`` on named request arguments. In a pattern ``*``
matches exactly one segment and ``**`` (last segment only) zero or more; every other
segment is literal and may not contain ``*``. A constraint may combine several kinds
(``{"min": 1, "max": 100}``); a request satisfies it when the argument is present and
within every kind (closed world: absent is not allowed). Kinds: ``max``, ``min``,
``one_of``, ``equals``, ``prefix`` (text only) and ``subpath`` (a normalised path at or
below the given one: ``..``, ``.``, empty segments and NUL are refused, never resolved).

Everything here is pure. The two laws, tested as properties:

* ``covers`` is a partial order (reflexive, transitive);
* soundness: ``covers(p, c) and allows(c, r)`` implies ``allows(p, r)``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Self
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from ._jose import args_digest
from .errors import InvalidCapability, InvalidRequest
from .limits import Limits

__all__ = [
    "Capability",
    "Constraint",
    "Request",
    "allows",
    "covers",
    "covers_all",
    "pattern_covers",
    "pattern_matches",
]

Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
# The default of every constraint kind: None, typed Any so the fields can stay non-Optional.
_ABSENT: Any = None
NonNullJson = StrictStr | StrictBool | Number | list[JsonValue] | dict[StrictStr, JsonValue]
_TOOL_PATTERN = r"^(?:\*\*|(?:[A-Za-z0-9_:-]+|\*)(?:\.(?:[A-Za-z0-9_:-]+|\*))*(?:\.\*\*)?)$"
_TOOL_NAME = r"^[A-Za-z0-9_:-]+(?:\.[A-Za-z0-9_:-]+)*$"
ToolPattern = Annotated[StrictStr, StringConstraints(max_length=1024, pattern=_TOOL_PATTERN)]
ToolName = Annotated[StrictStr, StringConstraints(max_length=1024, pattern=_TOOL_NAME)]

_TOOL_SEGMENT = re.compile(r"[A-Za-z0-9_\-:]+")
_MAX_PATTERN = 1024


def _first_error(exc: ValidationError, *, pattern: bool = True) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch" and where == "tool":
        # The schema checks tools in Rust; ask the Python splitter for a readable reason.
        try:
            _split(str(err["input"]), ".", pattern)
        except ValueError as reason:
            msg = str(reason)
    return f"{where}: {msg}" if where else msg


def _bad_char(segment: str) -> bool:
    # C*: controls, format (bidi, zero-width), unassigned, private use, surrogates; Z*: spaces.
    return any(unicodedata.category(ch)[0] in "CZ" for ch in segment)


@functools.lru_cache(maxsize=8192)
def _split(text: str, sep: str, pattern: bool) -> tuple[str, ...]:
    """Validated segments of a tool ("." separated) or resource ("/" separated)."""
    kind = "tool" if sep == "." else "resource"
    if not text:
        raise ValueError(f"{kind} is empty")
    if len(text) > _MAX_PATTERN:
        raise ValueError(f"{kind} is longer than {_MAX_PATTERN} characters")
    segments = tuple(text.split(sep))
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg in ("*", "**"):
            if not pattern:
                raise ValueError(f"{kind} {text!r}: wildcards are not allowed in a request")
            if seg == "**" and i != last:
                raise ValueError(f"{kind} {text!r}: '**' may only be the last segment")
            continue
        if "*" in seg:
            raise ValueError(f"{kind} {text!r}: '*' must be a whole segment")
        if sep == ".":
            if not _TOOL_SEGMENT.fullmatch(seg):
                raise ValueError(f"tool {text!r}: segment {seg!r} must match [A-Za-z0-9_-:]+")
        else:
            if seg == "":
                raise ValueError(f"resource {text!r} has an empty segment")
            if "%25" in seg.upper():
                raise ValueError(f"resource {text!r}: segment {seg!r} is double-encoded (%25)")
            try:
                decoded = unquote(seg, errors="strict")
            except UnicodeDecodeError:
                raise ValueError(f"resource {text!r}: {seg!r} is not UTF-8 when decoded") from None
            if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
                raise ValueError(f"resource {text!r}: segment {seg!r} is a path trick")
            # Checked after decoding too: %00, %20, %0d%0a, %E2%80%AE (bidi) are refused.
            if _bad_char(seg) or _bad_char(decoded):
                raise ValueError(
                    f"resource {text!r} has control, space, bidi or invisible format characters"
                )
    return segments


def split_pattern(text: str, sep: str) -> tuple[str, ...]:
    """The validated segments of a tool (``sep`` ".") or resource ("/") pattern.

    Raises ``ValueError`` saying what is wrong (the policy engines share the grammar).

    >>> split_pattern("customers/*/**", "/")
    ('customers', '*', '**')
    """
    return _split(text, sep, True)


def _segment_covers(p: str, c: str) -> bool:
    if p == "*":
        return c != "**"
    return p == c and c not in ("*", "**")


@functools.lru_cache(maxsize=8192)
def pattern_covers(parent: str, child: str, sep: str) -> bool:
    """True when every value ``child`` matches is matched by ``parent``.

    >>> pattern_covers("customers/**", "customers/eu/*", "/")
    True
    >>> pattern_covers("customers/*", "customers/**", "/")
    False
    """
    p = _split(parent, sep, True)
    c = _split(child, sep, True)
    if p[-1] == "**":
        head = p[:-1]
        c_head = c[:-1] if c[-1] == "**" else c
        return len(c_head) >= len(head) and all(map(_segment_covers, head, c_head))
    if c[-1] == "**" or len(c) != len(p):
        return False
    return all(map(_segment_covers, p, c))


def pattern_matches(pattern: str, value: str, sep: str) -> bool:
    """True when the concrete ``value`` is matched by ``pattern``.

    >>> pattern_matches("crm.*", "crm.read", ".")
    True
    """
    p = _split(pattern, sep, True)
    v = _split(value, sep, False)
    if p[-1] == "**":
        head = p[:-1]
        return len(v) >= len(head) and all(
            a == "*" or a == b for a, b in zip(head, v, strict=False)
        )
    return len(p) == len(v) and all(a == "*" or a == b for a, b in zip(p, v, strict=True))


# --- constraints --- #


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def json_equal(a: object, b: object) -> bool:
    """JSON equality: numbers by value, ``true`` never equals ``1``; frozen forms equal thawed.

    >>> json_equal(1, 1.0), json_equal(True, 1), json_equal([1, {"a": 2}], (1, {"a": 2}))
    (True, False, True)
    """
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(a, Mapping):
        return (
            isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(json_equal(a[k], b[k]) for k in a)
        )
    return type(a) is type(b) and a == b


def json_key(value: Any) -> Any:
    """A hashable key with ``json_key(a) == json_key(b)`` exactly when ``json_equal(a, b)``.

    Containment of value lists is then a set operation, linear in their sizes.

    >>> json_key(1) == json_key(1.0), json_key(True) == json_key(1)
    (True, False)
    """
    if isinstance(value, bool):
        return ("b", value)
    if _is_number(value):
        return ("n", value)  # 1 == 1.0 and hash(1) == hash(1.0): numbers compare by value
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list | tuple):
        return ("l", tuple(json_key(v) for v in value))
    if isinstance(value, Mapping):
        return ("d", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("o", value)


@dataclass(frozen=True, slots=True)
class _Summary:
    """What ``implies`` needs of a finite value set, computed once per constraint."""

    keys: frozenset[Any]
    numbers: bool  # every value is a number
    low: Any  # their minimum and maximum (when numbers)
    high: Any
    strings: bool  # every value is a string
    common: str  # their longest common prefix (when strings)


def _summary(values: Iterable[Any]) -> _Summary:
    values = tuple(values)
    numbers = all(_is_number(v) for v in values)
    strings = all(isinstance(v, str) for v in values)
    return _Summary(
        keys=frozenset(json_key(v) for v in values),
        numbers=numbers,
        low=min(values) if numbers else None,
        high=max(values) if numbers else None,
        strings=strings,
        common=os.path.commonprefix(list(values)) if strings else "",  # noqa: RUF071 - by character
    )


def _dir(path: str) -> str:
    """A subpath without its trailing slash (the root ``/`` stays ``/``)."""
    return path.rstrip("/") or ("/" if path.startswith("/") else path)


def _is_normal_path(path: str) -> bool:
    """True for a path in normal form: no '.', '..' or empty segments, no control characters.

    >>> _is_normal_path("/srv/app/x"), _is_normal_path("/srv/app/../etc"), _is_normal_path("a//b")
    (True, False, False)
    """
    if not path or any(unicodedata.category(ch) == "Cc" for ch in path):
        return False
    if path == "/":
        return True
    segments = path.split("/")
    if segments[0] == "":  # absolute: one leading slash
        segments = segments[1:]
    return all(seg not in ("", ".", "..") for seg in segments)


def _in_subpath(value: object, base: str) -> bool:
    """True when ``value`` is a normalised path equal to ``base`` or below it.

    Paths are compared segment-wise and never resolved: ``..``, ``.``, empty segments and
    NUL are refused outright (a path that needs normalising is not allowed), so a value
    allowed here names the same place for every consumer that does not follow symlinks.

    >>> _in_subpath("/srv/app/a.txt", "/srv/app/"), _in_subpath("/srv/app2", "/srv/app")
    (True, False)
    >>> _in_subpath("/srv/app/../../etc/shadow", "/srv/app/")
    False
    """
    if not isinstance(value, str) or not _is_normal_path(value):
        return False
    root = _dir(base)
    if root == "/":
        return value.startswith("/")
    return value == root or value.startswith(root + "/")


class _ValueList(tuple[Any, ...]):
    """A constraint's frozen ``one_of`` values, carrying their summary once computed."""

    _summary: _Summary


def _summary_of(values: Iterable[Any]) -> _Summary:
    """The summary of a ``one_of`` list, computed on first use and kept with the list."""
    summary: _Summary | None = getattr(values, "_summary", None)
    if summary is None:
        summary = _summary(values)
        if isinstance(values, _ValueList):
            values._summary = summary
    return summary


def freeze(value: Any) -> Any:
    """A deeply immutable copy of a JSON value: lists become tuples, objects read-only maps.

    Parsed tokens are cached and shared between verifications, so nothing reachable from
    a capability may be mutable.
    """
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    return value


def thaw(value: Any) -> Any:
    """A fresh, mutable JSON copy of a frozen value (for the wire form)."""
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    return value


class Constraint(BaseModel):
    """Bounds on one request argument; every kind present must hold.

    >>> Constraint(max=100).satisfied_by(10), Constraint(max=100).satisfied_by(101)
    (True, False)
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)

    # Kinds are not Optional: an explicit null is refused by the schema itself, and the
    # one Python check left is "at least one kind" (this runs on every token parsed).
    max: Number = _ABSENT
    min: Number = _ABSENT
    one_of: list[JsonValue] = Field(
        default=_ABSENT, min_length=1, max_length=Limits.MAX_CONSTRAINT_VALUES
    )
    equals: NonNullJson = _ABSENT
    prefix: StrictStr = _ABSENT
    subpath: StrictStr = _ABSENT

    @field_validator("subpath")
    @classmethod
    def _subpath(cls, v: str) -> str:
        if not _is_normal_path(_dir(v)):
            raise ValueError(
                f"subpath {v!r} must be a normalised path: no '.', '..' or empty segments,"
                " no NUL or control characters"
            )
        return v

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("a constraint needs one of max, min, one_of, equals, prefix, subpath")
        # Deeply immutable: a cached token's constraints must not be changeable by anyone.
        if self.one_of is not None:
            object.__setattr__(self, "one_of", _ValueList(freeze(self.one_of)))
        if isinstance(self.equals, list | dict):
            object.__setattr__(self, "equals", freeze(self.equals))
        return self

    def kinds(self) -> dict[str, Any]:
        """The kinds that are set, as in the wire form (fresh, mutable copies).

        >>> Constraint(one_of=["eu", "us"]).kinds()
        {'one_of': ['eu', 'us']}
        """
        return {k: thaw(v) for k, v in self.__dict__.items() if v is not None}

    def satisfied_by(self, value: object) -> bool:
        """True when ``value`` is within every kind of this constraint."""
        if self.max is not None and not (_is_number(value) and value <= self.max):  # type: ignore[operator]
            return False
        if self.min is not None and not (_is_number(value) and value >= self.min):  # type: ignore[operator]
            return False
        if self.one_of is not None and json_key(value) not in _summary_of(self.one_of).keys:
            return False
        if self.equals is not None and not json_equal(value, self.equals):
            return False
        if self.prefix is not None and not (
            isinstance(value, str) and value.startswith(self.prefix)
        ):
            return False
        return self.subpath is None or _in_subpath(value, self.subpath)

    def evaluable(self, value: object) -> bool:
        """True when every kind can judge ``value`` (numbers for max/min, text for prefix).

        A deny rule counts a condition it cannot evaluate as matched (fail closed).

        >>> Constraint(min=1000).evaluable("5000"), Constraint(one_of=[1]).evaluable("x")
        (False, True)
        """
        if (self.max is not None or self.min is not None) and not _is_number(value):
            return False
        return (self.prefix is None and self.subpath is None) or isinstance(value, str)

    def _values(self) -> list[Any] | None:
        """The finite set of values this constraint admits, when it pins one down."""
        if self.equals is not None:
            return [self.equals]
        return self.one_of

    def implies(self, parent: Constraint) -> bool:
        """True when every value satisfying ``self`` satisfies ``parent`` (sound, not complete).

        Linear in the sizes of the value lists at most (set containment), constant for
        bounds and prefixes (each value list's extremes and common prefix are computed once).
        """
        vs: _Summary | None = None
        if self.equals is not None:
            # Only this one value can satisfy self (or none): ask the parent about it.
            if parent.satisfied_by(self.equals):
                return True
            vs = _summary((self.equals,))
        elif self.one_of is not None:
            vs = _summary_of(self.one_of)
        if parent.max is not None and not (
            (self.max is not None and self.max <= parent.max)
            or (vs is not None and vs.numbers and vs.high <= parent.max)
        ):
            return False
        if parent.min is not None and not (
            (self.min is not None and self.min >= parent.min)
            or (vs is not None and vs.numbers and vs.low >= parent.min)
        ):
            return False
        if parent.one_of is not None and not (
            vs is not None and vs.keys <= _summary_of(parent.one_of).keys
        ):
            return False
        if parent.equals is not None and not (
            vs is not None and vs.keys == {json_key(parent.equals)}
        ):
            return False
        if parent.prefix is not None:
            pre = parent.prefix
            if not (
                (self.prefix is not None and self.prefix.startswith(pre))
                # every value under a subpath starts with it (values are normalised)
                or (self.subpath is not None and _dir(self.subpath).startswith(pre))
                or (vs is not None and vs.strings and vs.common.startswith(pre))
            ):
                return False
        if parent.subpath is not None:
            # A prefix never implies a subpath: "/srv/app/../../etc" starts with "/srv/app/".
            base = parent.subpath
            if not (
                (self.subpath is not None and _in_subpath(_dir(self.subpath), base))
                or (self.one_of is not None and all(_in_subpath(v, base) for v in self.one_of))
            ):
                return False
        return True


# --- capabilities and requests --- #


class Capability(BaseModel):
    """What a holder may do: a tool pattern, a resource pattern, argument constraints.

    >>> cap = Capability(tool="crm.read", resource="customers/eu/**",
    ...                  constraints={"max_rows": {"max": 100}})
    >>> allows(cap, Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10}))
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)

    tool: ToolPattern
    resource: StrictStr = "**"
    constraints: Mapping[StrictStr, Constraint] = Field(
        default_factory=dict, max_length=Limits.MAX_CONSTRAINTS_PER_CAP
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidCapability(f"invalid capability: {_first_error(exc)}") from None

    # Marked as pydantic's own __init__ so that validating a token's claims builds nested
    # capabilities directly instead of calling this wrapper (and validating them twice).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @field_validator("resource")
    @classmethod
    def _resource(cls, v: str) -> str:
        _split(v, "/", True)
        return v

    @field_validator("constraints")
    @classmethod
    def _read_only(cls, v: dict[str, Constraint]) -> Mapping[str, Constraint]:
        return MappingProxyType(v)

    @classmethod
    def from_wire(cls, value: object) -> Capability:
        """Read a capability from its JSON form. Raises ``InvalidCapability``."""
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            raise InvalidCapability(f"invalid capability: {_first_error(exc)}") from None

    @classmethod
    def parse(cls, text: str) -> Capability:
        """Read the CLI form: ``TOOL[:RESOURCE]`` or a JSON object.

        ``TOOL`` alone means resource ``**``; ``TOOL:`` (an empty resource) is refused.
        Raises ``InvalidCapability`` (code ``invalid_capability``).

        >>> Capability.parse("crm.read:customers/**").resource
        'customers/**'
        """
        text = text.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise InvalidCapability(f"capability is not valid JSON: {exc}") from None
            except RecursionError:  # json's answer to deep nesting, not a ValueError
                raise InvalidCapability("capability JSON is nested too deeply") from None
            return cls.from_wire(value)
        tool, colon, resource = text.partition(":")
        if colon and not resource.strip():
            # "crm.read:$RES" with RES unset must not silently become "every resource".
            raise InvalidCapability(
                f"capability {text!r} has an empty resource (omit ':' to mean '**')"
            )
        return cls(tool=tool, resource=resource or "**")

    def to_wire(self) -> dict[str, Any]:
        """The JSON form carried in tokens (defaults included, so it is explicit)."""
        out: dict[str, Any] = {"tool": self.tool, "resource": self.resource}
        if self.constraints:
            out["constraints"] = {k: c.kinds() for k, c in self.constraints.items()}
        return out

    def __str__(self) -> str:
        extra = f" {json.dumps(self.to_wire()['constraints'])}" if self.constraints else ""
        return f"{self.tool}:{self.resource}{extra}"


class Request(BaseModel):
    """One concrete action: a tool, a resource, and arguments (a JSON object).

    Resources with ``.``/``..``/empty segments, wildcards or control characters are
    refused (``invalid_request``), never matched.

    >>> Request(tool="crm.read", resource="customers/eu/../us")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    delegation.errors.InvalidRequest: invalid request: ... segment '..' is a path trick
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)

    tool: ToolName
    resource: StrictStr
    args: dict[StrictStr, JsonValue] = Field(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRequest(f"invalid request: {_first_error(exc, pattern=False)}") from None
        # RFC 8785 refuses NaN, infinities and integers past 2**53: such arguments fail
        # here, at construction, rather than at verification.
        args_digest(self.args)

    @property
    def args_digest(self) -> str:
        """base64url SHA-256 of the RFC 8785 canonical JSON of ``args`` (what a proof binds).

        >>> Request(tool="a", resource="b").args_digest == Request(tool="a", resource="b",
        ...                                                         args={}).args_digest
        True
        """
        # Not memoised: args is a mutable dict, and model_copy() would carry a stale digest.
        return args_digest(self.args)

    @field_validator("resource")
    @classmethod
    def _resource(cls, v: str) -> str:
        _split(v, "/", False)
        return v


def allows(cap: Capability, request: Request) -> bool:
    """True when ``request`` is within ``cap`` (tool, resource and every constraint)."""
    if not pattern_matches(cap.tool, request.tool, "."):
        return False
    if not pattern_matches(cap.resource, request.resource, "/"):
        return False
    args = request.args
    return all(name in args and c.satisfied_by(args[name]) for name, c in cap.constraints.items())


def covers(parent: Capability, child: Capability) -> bool:
    """True when ``child`` is an attenuation of ``parent`` (allows nothing ``parent`` does not).

    >>> covers(Capability(tool="crm.*", resource="customers/**"),
    ...        Capability(tool="crm.read", resource="customers/eu/**"))
    True
    >>> covers(Capability(tool="crm.read", constraints={"max_rows": {"max": 100}}),
    ...        Capability(tool="crm.read"))
    False
    """
    if not pattern_covers(parent.tool, child.tool, "."):
        return False
    if not pattern_covers(parent.resource, child.resource, "/"):
        return False
    mine = child.constraints
    return all(name in mine and mine[name].implies(c) for name, c in parent.constraints.items())


def covers_all(parents: Iterable[Capability], children: Iterable[Capability]) -> Capability | None:
    """The first child capability no parent covers, or None when all are covered."""
    parents = tuple(parents)
    for child in children:
        if not any(covers(p, child) for p in parents):
            return child
    return None


def request_allowed(caps: Iterable[Capability], request: Request) -> bool:
    """True when some capability in ``caps`` allows ``request``."""
    return any(allows(c, request) for c in caps)


def caps_from_wire(values: Iterable[Mapping[str, Any]]) -> list[Capability]:
    """Capabilities from their JSON forms."""
    return [Capability.from_wire(v) for v in values]
