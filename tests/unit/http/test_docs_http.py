"""docs/http.md: every ```python block runs as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

from http_support import require, require_http

PAGE = Path(__file__).resolve().parents[3] / "docs" / "http.md"


def test_http_page_python_blocks_run() -> None:
    require_http()
    require("mcp", "httpx2")
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), re.S | re.M)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {"__name__": "docs_http"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{PAGE}:block{i}", "exec"), namespace)  # noqa: S102 - our docs
