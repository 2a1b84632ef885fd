"""Tool and resource patterns: the grammar, matching, covering and overlap.

A tool pattern is dot-separated (``crm.read``), a resource pattern slash-separated
(``customers/eu/**``). ``*`` matches exactly one segment and ``**`` (last segment only)
zero or more; every other segment is literal and may not contain ``*``. Resource
segments are checked after percent-decoding: ``.``/``..``, ``/`` or ``\\`` hidden in an
escape, double encoding, controls, spaces and invisible format characters are refused.
Capabilities (:mod:`delegation.capabilities`) and the policy engines share this grammar.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from pydantic import StrictStr, StringConstraints

__all__ = [
    "CompiledPattern",
    "ToolName",
    "ToolPattern",
    "compile_pattern",
    "overlaps",
    "pattern_covers",
    "pattern_matches",
    "split_pattern",
    "split_value",
    "validate_pattern",
]

_TOOL_SEGMENT = re.compile(r"[A-Za-z0-9_\-:]+")
_MAX_PATTERN = 1024

# The tool grammar again as pydantic types, checked by pydantic-core's Rust regex engine
# (no Python call per token); _split says why a tool is refused.
_TOOL_PATTERN = r"^(?:\*\*|(?:[A-Za-z0-9_:-]+|\*)(?:\.(?:[A-Za-z0-9_:-]+|\*))*(?:\.\*\*)?)$"
_TOOL_NAME = r"^[A-Za-z0-9_:-]+(?:\.[A-Za-z0-9_:-]+)*$"
#: A tool pattern (``crm.*``, ``**``), as a pydantic field type.
ToolPattern = Annotated[
    StrictStr, StringConstraints(max_length=_MAX_PATTERN, pattern=_TOOL_PATTERN)
]
#: A concrete tool name (``crm.read``), as a pydantic field type.
ToolName = Annotated[StrictStr, StringConstraints(max_length=_MAX_PATTERN, pattern=_TOOL_NAME)]


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


def split_value(text: str, sep: str) -> tuple[str, ...]:
    """The validated segments of a concrete tool or resource (a request's: no wildcards).

    >>> split_value("customers/eu/42", "/")
    ('customers', 'eu', '42')
    """
    return _split(text, sep, False)


def _segment_covers(p: str, c: str) -> bool:
    if p == "*":
        return c != "**"
    return p == c and c not in ("*", "**")


def _within(p: tuple[str, ...], c: tuple[str, ...]) -> bool:
    # Every value the split pattern ``c`` matches is matched by ``p`` (a concrete value is
    # a pattern that matches itself, so this is also matching).
    if p[-1] == "**":
        head = p[:-1]
        c_head = c[:-1] if c[-1] == "**" else c
        return len(c_head) >= len(head) and all(map(_segment_covers, head, c_head))
    return c[-1] != "**" and len(c) == len(p) and all(map(_segment_covers, p, c))


@functools.lru_cache(maxsize=8192)
def pattern_covers(parent: str, child: str, sep: str) -> bool:
    """True when every value ``child`` matches is matched by ``parent``.

    >>> pattern_covers("customers/**", "customers/eu/*", "/")
    True
    >>> pattern_covers("customers/*", "customers/**", "/")
    False
    """
    return _within(_split(parent, sep, True), _split(child, sep, True))


@functools.lru_cache(maxsize=8192)
def pattern_matches(pattern: str, value: str, sep: str) -> bool:
    """True when the concrete ``value`` (no wildcards: ``ValueError``) is matched by ``pattern``.

    >>> pattern_matches("crm.*", "crm.read", ".")
    True
    """
    return _within(_split(pattern, sep, True), _split(value, sep, False))


def validate_pattern(text: str, sep: str) -> str:
    """Return ``text`` when it is a valid pattern, else raise ``ValueError`` saying why.

    >>> validate_pattern("crm.*", ".")
    'crm.*'
    """
    split_pattern(text, sep)
    return text


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A pattern split once, matched against already-split concrete values."""

    text: str
    length: int  # segments before a trailing "**"
    globstar: bool  # ends in "**"
    literals: tuple[tuple[int, str], ...]  # (position, segment) of the literal segments

    def matches(self, value: tuple[str, ...]) -> bool:
        """True when the concrete, split ``value`` is matched by this pattern.

        >>> compile_pattern("customers/*/**", "/").matches(("customers", "eu", "42"))
        True
        """
        n = len(value)
        if n < self.length if self.globstar else n != self.length:
            return False
        for i, seg in self.literals:  # noqa: SIM110 (hot path: a loop, no generator)
            if value[i] != seg:
                return False
        return True


def compile_pattern(text: str, sep: str) -> CompiledPattern:
    """Split and index a pattern once (raises ``ValueError`` when it is invalid).

    >>> compile_pattern("crm.*", ".").matches(("crm", "read"))
    True
    """
    segments = split_pattern(text, sep)
    globstar = segments[-1] == "**"
    head = segments[:-1] if globstar else segments
    literals = tuple((i, s) for i, s in enumerate(head) if s != "*")
    return CompiledPattern(text, len(head), globstar, literals)


def _compatible(a: str, b: str) -> bool:
    return a == "*" or b == "*" or a == b


def overlaps(p: str, q: str, sep: str) -> bool:
    """True when some concrete value is matched by both patterns ``p`` and ``q``.

    Exact for this grammar: two segments can match the same literal unless both are
    different literals, and a trailing ``**`` absorbs any remaining length.

    >>> overlaps("crm.*", "*.export", ".")
    True
    >>> overlaps("customers/eu/**", "customers/us/*", "/")
    False
    """
    a = split_pattern(p, sep)
    b = split_pattern(q, sep)
    ga, gb = a[-1] == "**", b[-1] == "**"
    ha = a[:-1] if ga else a
    hb = b[:-1] if gb else b
    if not ga and not gb and len(ha) != len(hb):
        return False
    if ga and not gb and len(hb) < len(ha):
        return False
    if gb and not ga and len(ha) < len(hb):
        return False
    # zip stops at the shorter head: the longer one's tail lies under the other's "**".
    return all(map(_compatible, ha, hb))
