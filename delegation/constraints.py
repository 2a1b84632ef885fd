"""Argument constraints: the kinds, what a value must be to satisfy them, and ``implies``.

A constraint bounds one named request argument and may combine several kinds
(``{"min": 1, "max": 100}``); a request satisfies it when the argument is present and
within every kind (closed world: absent is not allowed). Kinds: ``max``, ``min``,
``one_of``, ``equals``, ``prefix`` (text only) and ``subpath`` (a normalised path at or
below the given one: ``..``, ``.``, empty segments and NUL are refused, never resolved).
Values compare as JSON (:func:`json_equal`: ``1 == 1.0``, ``true != 1``).

``implies`` is what attenuation needs (:func:`delegation.capabilities.covers`): sound,
not complete, and linear at most in the sizes of the value lists.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from .limits import Limits

__all__ = ["Constraint", "freeze", "json_equal", "json_key", "thaw"]

Number = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]
# The default of every constraint kind: None, typed Any so the fields can stay non-Optional.
_ABSENT: Any = None
NonNullJson = StrictStr | StrictBool | Number | list[JsonValue] | dict[StrictStr, JsonValue]


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
