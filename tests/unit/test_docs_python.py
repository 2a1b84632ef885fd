"""Every ```python block of README.md and docs/*.md runs as written.

The blocks of one page run in order in one namespace, so a page may build an example up
block by block; each page runs in a fresh temporary working directory. A block that
cannot run offline is not marked ``python``.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    str(p.relative_to(ROOT))
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if re.search(r"^ *```python$", p.read_text(), re.M)
)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """The ```python blocks of ``page`` (also those indented in a list), with their line."""
    text = page.read_text()
    return [
        (text.count("\n", 0, m.start()) + 2, textwrap.dedent(m.group(2)))
        for m in re.finditer(r"^( *)```python\n(.*?)^\1```", text, re.S | re.M)
    ]


def test_pages_with_python_are_found() -> None:
    assert {"README.md", "docs/concepts.md", "docs/fleet.md", "docs/audit.md"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run_in_order(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DELEGATION_STORE", raising=False)
    monkeypatch.delenv("DELEGATION_AUDIT", raising=False)
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    for line, block in python_blocks(ROOT / page):
        # Pad with newlines so a traceback names the page's own line numbers.
        code = compile("\n" * (line - 1) + block, str(ROOT / page), "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation
