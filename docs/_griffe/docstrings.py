"""A griffe extension: the package's docstrings, written for doctest and Sphinx, read as Markdown.

The docstrings are prose, then examples that run as doctests, with an
occasional Sphinx role (``:class:`~delegation.Verifier```). Markdown knows neither, so
before mkdocstrings renders a docstring this extension

- fences each bare doctest block (lines from ``>>>`` to the next blank line) as
  ``pycon``, so that ``x["event"]`` is code, not a Markdown link;
- turns a role into a code span naming its target (``~`` keeps the last component).

Only the rendering changes: the docstrings in the source, and the doctests, stay as they
are. mkdocs.yml loads this file (mkdocstrings' ``extensions`` option).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _fence_doctests(text: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += [f"{indent}```pycon", *block, f"{indent}```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def markdown(text: str) -> str:
    """The docstring ``text`` as mkdocstrings should read it."""
    return _fence_doctests(_ROLE.sub(_role, text))


class DoctestMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded package once its tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
