"""Words for a denial: bounded, deterministic, and safe to print.

Values in an explanation come from requests and tokens (untrusted) and from policy files:
they are only ever data. Each is rendered as JSON (quoted, escaped), control and format
characters (newlines, ANSI escapes, bidirectional overrides) are escaped, every string is
truncated and at most :data:`MAX_LINES` lines are kept, so a hostile value can neither
forge a line of output nor make a denial large.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Decision

__all__ = ["MAX_LINE", "MAX_LINES", "bounded", "clip", "explanation_of", "one_of", "show"]

#: At most this many lines in an explanation (a last line counts the rest).
MAX_LINES = 10
#: At most this many characters in one line of an explanation.
MAX_LINE = 200
#: At most this many characters for one value quoted in a line.
MAX_VALUE = 48


def clip(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with control and format characters escaped, cut to ``limit`` characters.

    >>> clip("a\\nb\\u202ec")
    'a\\\\nb\\\\u202ec'
    """
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif unicodedata.category(ch)[0] in "CZ" and ch != " ":
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def show(value: Any) -> str:
    """One value as short JSON (``"high"``, ``5000``, ``null``), truncated.

    >>> show("agent:b"), show(None), show("x" * 60)[-6:]
    ('"agent:b"', 'null', 'xxx...')
    """
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(value), ensure_ascii=False)
    return clip(text, MAX_VALUE)


def one_of(values: Iterable[Any], most: int = 3) -> str:
    """A short list of values: ``["a", "b", "c", +2 more]``.

    >>> one_of(["mon", "tue"]), one_of(range(5))
    ('["mon", "tue"]', '[0, 1, 2, +2 more]')
    """
    items = list(values)
    shown = [show(v) for v in items[:most]]
    if len(items) > most:
        shown.append(f"+{len(items) - most} more")
    return "[" + ", ".join(shown) + "]"


def bounded(lines: Iterable[str]) -> tuple[str, ...]:
    """At most :data:`MAX_LINES` clipped lines; a last line counts the ones left out.

    >>> bounded(f"r{i}" for i in range(12))[-2:]
    ('r8', '... and 3 more')
    """
    out: list[str] = []
    more = 0
    for line in lines:
        if len(out) < MAX_LINES - 1:
            out.append(clip(line))
        else:
            more += 1
    if more == 1:
        out.append(clip(line))
    elif more:
        out.append(f"... and {more} more")
    return tuple(out)


def explanation_of(decision: Decision) -> tuple[str, ...] | None:
    """A decision's explanation, bounded again (any policy may build a ``Decision``), or
    None when it has none."""
    lines = getattr(decision, "explanation", None)
    if not lines or not isinstance(lines, tuple | list):
        return None
    return bounded(line if isinstance(line, str) else show(line) for line in lines)
