"""Reading the command line's values: durations, times, ``K=V`` pairs, files, keys, chains.

Public helpers (``parse_duration``, ``parse_time``, ``parse_args_kv``) are re-exported by
:mod:`delegation.cli` so that tests and scripts share the command's rules.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

# Only the errors at import: the parser (``delegation --help``) needs no more of the
# library; the readers below import the modules they use when they run.
from delegation.errors import (
    FileError,
    InvalidCapability,
    InvalidInput,
    InvalidKey,
    InvalidRequest,
)

if TYPE_CHECKING:
    from delegation import Capability, Chain, PublicKey

__all__ = [
    "MAX_CLOCK_SKEW",
    "MAX_DURATION",
    "agent_id",
    "caps",
    "iso",
    "load_public",
    "parse_args_kv",
    "parse_clock_skew",
    "parse_duration",
    "parse_time",
    "read_chain",
    "read_input",
]

_DURATION = re.compile(r"(-?\d+)([smhd]?)")
MAX_DURATION = 365 * 86400
"""The longest duration the command line takes (365d); lifetimes have lower limits."""
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def agent_id(value: str, flag: str) -> str:
    """``value`` if it is an agent id (an ASCII URI), checked before any file is read.

    Raises ``InvalidInput`` saying "invalid agent id" and naming ``flag``: the library would
    otherwise report the id through whatever it checks first (a key file's owner, say).

    >>> agent_id("spiffe://acme.example/agent/planner", "--agent")
    'spiffe://acme.example/agent/planner'
    """
    from delegation._ids import check_agent_id

    return check_agent_id(value, what=f"invalid agent id: {flag}", error=InvalidInput)


def parse_duration(text: str) -> int:
    """Seconds in ``90s``, ``10m``, ``1h``, ``2d`` or ``600``. Raises ``InvalidInput``.

    >>> parse_duration("10m"), parse_duration("90")
    (600, 90)
    """
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise InvalidInput(f"invalid duration {text!r} (use 90s, 10m, 1h, 2d or seconds)")
    seconds = int(m.group(1)[:16]) * _UNITS[m.group(2)]  # 16 digits are over the max
    if seconds <= 0:
        raise InvalidInput(f"duration {text!r} must be positive")
    if seconds > MAX_DURATION or len(m.group(1)) > 16:
        raise InvalidInput(
            f"duration {text!r} is too long: the maximum is 365d ({MAX_DURATION} seconds)"
        )
    return seconds


MAX_CLOCK_SKEW = 600
"""The most clock skew ``verify --clock-skew`` allows (10 minutes): more would keep
expired proofs, whose whole life is at most 2 minutes, valid for much longer than that."""


def parse_clock_skew(text: str) -> int:
    """Whole seconds from 0 to :data:`MAX_CLOCK_SKEW` (``--clock-skew``). Raises ``InvalidInput``.

    >>> parse_clock_skew("30"), parse_clock_skew("0")
    (30, 0)
    """
    value = text.strip()
    if not value.isascii() or not value.isdigit() or int(value[:8]) > MAX_CLOCK_SKEW:
        raise InvalidInput(
            f"--clock-skew {text!r} must be whole seconds from 0 to {MAX_CLOCK_SKEW}"
        )
    return int(value)


def parse_time(text: str) -> float:
    """POSIX seconds from ``1764331200`` or ISO-8601 (UTC when no zone). Raises ``InvalidInput``.

    >>> parse_time("2027-01-15T08:00:00Z")
    1800000000.0
    """
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(f"invalid time {text!r} (a non-negative POSIX timestamp)")
        return value
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"invalid time {text!r} (POSIX seconds or ISO-8601, e.g. 2027-01-15T08:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse_args_kv(items: Sequence[str], *, flag: str = "--arg") -> dict[str, Any]:
    """Request arguments from ``K=V`` strings; V is JSON when it parses, else a string.

    ``flag`` names the option in error messages (``--arg``, ``--label``).

    >>> parse_args_kv(["max_rows=10", "region=eu", 'tags=["a"]'])
    {'max_rows': 10, 'region': 'eu', 'tags': ['a']}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidRequest(f"{flag} {item!r} must look like NAME=VALUE")
        if key in out:
            raise InvalidRequest(f"{flag} {key!r} is given more than once")
        try:
            out[key] = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            out[key] = raw
    return out


def read_input(source: str, *, what: str) -> str:
    """The stripped text of a file, or of stdin for ``-``."""
    if source == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError:
            raise FileError(f"{what} on stdin is not UTF-8 text") from None
    else:
        from delegation._files import read_text

        text = read_text(source, what=what)
    text = text.strip()
    if not text:
        raise FileError(f"{what} is empty: {source}")
    return text


def read_chain(source: str) -> Chain:
    from delegation.tokens import Chain

    return Chain.parse(read_input(source, what="chain"))


def load_public(path: str, *, agent: str | None) -> PublicKey:
    """A public key file; when it names an agent, it must be ``agent``."""
    from delegation.keys import PublicKey

    try:
        data = json.loads(read_input(path, what="public key file"))
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise InvalidKey(f"public key file {path} is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidKey(f"public key file {path} must hold one JSON object (a public JWK)")
    try:
        key = PublicKey.from_jwk(data)
    except InvalidKey as exc:
        hint = " (pass the public key file, not the private one)" if "private" in str(exc) else ""
        raise InvalidKey(f"public key file {path}: {exc.message}{hint}") from None
    named = data.get("agent")
    if agent is not None and named is not None and named != agent:
        raise InvalidKey(f"public key file {path} belongs to {named}, not {agent}")
    return key


def caps(values: Sequence[str] | None, *, flag: str = "--cap") -> list[Capability]:
    """Capabilities from ``TOOL[:RESOURCE]`` or JSON strings; at least one."""
    if not values:
        raise InvalidCapability(f"give at least one {flag}")
    from delegation.capabilities import Capability

    return [Capability.parse(v) for v in values]


def iso(ts: float) -> str:
    """``2026-11-28T12:54:59Z`` for POSIX seconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
