"""Helpers shared by DLG007, DLG008, DLG010, DLG013, DLG014, DLG016 and DLG018."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TypeVar

from ..findings import PathStep
from ..model import TokenHop

__all__ = ["LIMIT", "bounded", "hop_step", "listing", "set_key", "short"]

LIMIT = 20  # most items a message, a witness or a key lists
T = TypeVar("T")


def bounded(items: Sequence[T], limit: int = LIMIT) -> tuple[list[T], int]:
    """The first ``limit`` items and how many more there are."""
    return list(items[:limit]), max(0, len(items) - limit)


def listing(items: Sequence[str], limit: int = LIMIT) -> str:
    """``a, b, c`` with at most ``limit`` names, then ``and N more``."""
    shown, more = bounded(items, limit)
    text = ", ".join(shown)
    return f"{text} and {more} more" if more else text


def set_key(names: Iterable[str], limit: int = LIMIT) -> tuple[str, ...]:
    """A stable, bounded key for a set of names: the sorted names, or the first
    ``limit`` of them and a digest of all when there are more."""
    ordered = sorted(set(names))
    if len(ordered) <= limit:
        return tuple(ordered)
    digest = hashlib.sha256("\n".join(ordered).encode("utf-8")).hexdigest()[:16]
    return (*ordered[:limit], f"+{len(ordered) - limit}:{digest}")


def hop_step(hop: TokenHop) -> PathStep:
    """The one ``delegates`` step a token stands for."""
    return PathStep("delegates", hop.iss, hop.sub, hop.token_id)


def short(token_id: str) -> str:
    """A token id shortened for messages (keys and evidence keep it whole)."""
    return token_id[:12]
