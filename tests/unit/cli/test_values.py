"""The command line's value syntax: durations, times, ``K=V``."""

from __future__ import annotations

import pytest

from delegation.cli import parse_args_kv, parse_duration, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("2d", 172800), ("45", 45), (" 5M ", 300)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    """Durations take s, m, h, d or plain seconds."""
    assert parse_duration(text) == seconds


def test_parse_time_and_args() -> None:
    """Times are POSIX or ISO (UTC when no zone); --arg values are JSON when they parse."""
    assert parse_time("1800000000") == parse_time("2027-01-15T08:00:00") == 1_800_000_000
    assert parse_time("2027-01-15T09:00:00+01:00") == 1_800_000_000
    assert parse_args_kv(["n=10", "b=true", 's="x"', "l=[1,2]", "w=eu", "e=", "nan=NaN"]) == {
        "n": 10,
        "b": True,
        "s": "x",
        "l": [1, 2],
        "w": "eu",
        "e": "",
        "nan": "NaN",
    }
