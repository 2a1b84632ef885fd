"""Pattern helpers for the policy engines: precompiled matchers and the overlap test.

The grammar is the capabilities' one (:mod:`delegation.capabilities`): segments split
on ``sep``, ``*`` matches exactly one segment, a trailing ``**`` zero or more, every
other segment is literal. A concrete value has at least one segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..capabilities import split_pattern

__all__ = ["CompiledPattern", "compile_pattern", "overlaps", "validate_pattern"]


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
