from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs() -> None:
    """The README's minting-and-verifying example runs as written and verifies."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["verified"].holder == "spiffe://acme.example/agent/researcher"  # type: ignore[attr-defined]


def test_readme_names_the_two_commands() -> None:
    """The README holds the demo command and the test command that .ci/run calls."""
    text = README.read_text()
    assert "pip install '.[http]' && delegation demo" in text
    assert "scripts/check" in text
    assert "scripts/check" in (README.parent / ".ci" / "run").read_text()
