"""Capabilities and the attenuation algebra: what a holder may do, ``covers``, ``allows``.

A capability is a ``tool`` pattern (dot-separated), a ``resource`` pattern
(slash-separated) and ``constraints`` on named request arguments: the pattern grammar
is :mod:`delegation.patterns`, the constraint kinds :mod:`delegation.constraints` (both
re-exported here). A :class:`Request` is one concrete action.

Everything here is pure. The two laws, tested as properties:

* ``covers`` is a partial order (reflexive, transitive);
* soundness: ``covers(p, c) and allows(c, r)`` implies ``allows(p, r)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictStr,
    ValidationError,
    field_validator,
)

from ._jose import args_digest
from .constraints import Constraint, json_equal
from .errors import InvalidCapability, InvalidRequest
from .limits import Limits
from .patterns import (
    ToolName,
    ToolPattern,
    pattern_covers,
    pattern_matches,
    split_pattern,
    split_value,
)

__all__ = [
    "Capability",
    "Constraint",
    "Request",
    "allows",
    "covers",
    "covers_all",
    "json_equal",
    "pattern_covers",
    "pattern_matches",
    "split_pattern",
]


def _first_error(exc: ValidationError, *, pattern: bool = True) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch" and where == "tool":
        # The schema checks tools in Rust; ask the Python splitter for a readable reason.
        try:
            (split_pattern if pattern else split_value)(str(err["input"]), ".")
        except ValueError as reason:
            msg = str(reason)
    return f"{where}: {msg}" if where else msg


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
        split_pattern(v, "/")
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
        self._validate(data)
        # RFC 8785 refuses NaN, infinities and integers past 2**53: such arguments fail
        # here, at construction, rather than at verification.
        args_digest(self.args)

    def _validate(self, data: dict[str, Any]) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRequest(f"invalid request: {_first_error(exc, pattern=False)}") from None

    @classmethod
    def _with_digest(cls, **data: Any) -> tuple[Request, str]:
        """``Request(**data)`` and its ``args_digest``, the digest computed once (the
        constructor's check and the value a proof binds are the same computation)."""
        request = cls.__new__(cls)
        request._validate(data)
        return request, args_digest(request.args)

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
        split_value(v, "/")
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
