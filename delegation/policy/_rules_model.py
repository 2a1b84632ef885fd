"""The rules file's model (version 1): pydantic classes, validated strictly and frozen.

The format itself is described in :mod:`delegation.policy.rules`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from ..constraints import Constraint
from ..patterns import validate_pattern

__all__ = ["Conditions", "PolicyDocument", "Rule", "TimeWindow"]

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
