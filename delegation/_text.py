"""Showing untrusted text on a terminal: control and format characters escaped."""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: object) -> str:
    r"""``text`` with control and format characters escaped, safe for a terminal.

    Used wherever a string from a token or a log (agent ids, purposes, tool names) is
    shown: by ``inspect`` and by the graph reports.

    >>> printable("a\x1b[2Jb\nc\u202ed")
    'a\\x1b[2Jb\\nc\\u202ed'
    """
    out = []
    for ch in str(text):
        if ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
