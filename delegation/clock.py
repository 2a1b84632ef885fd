"""Time is injected: a ``Clock`` gives the current time as POSIX seconds (UTC)."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock", "or_system_clock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> float`` (POSIX seconds)."""

    def now(self) -> float: ...


class SystemClock:
    """The machine's clock.

    >>> SystemClock().now() > 1.7e9
    True
    """

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock that stands still until told to move (for tests and ``verify --at``).

    >>> c = FixedClock(1000.0); c.advance(5); c.now()
    1005.0
    """

    def __init__(self, t: float) -> None:
        self._t = float(t)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def set(self, t: float) -> None:
        self._t = float(t)


def or_system_clock(clock: Clock | None) -> Clock:
    """``clock``, or the machine's clock when none was given: every class's default.

    >>> c = FixedClock(5.0); or_system_clock(c) is c, type(or_system_clock(None)).__name__
    (True, 'SystemClock')
    """
    return clock if clock is not None else SystemClock()
