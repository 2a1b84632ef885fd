"""Regression (hardening item 13): ``inspect`` printed escape sequences from a chain as is.

``inspect`` is made for chains nobody has verified, yet a ``pur`` claim holding
``ESC[2J`` (clear screen), a newline and a bidi override reached the terminal raw, so a
chain could rewrite what the analyst sees. Every untrusted string is now shown with
control and format characters escaped (``delegation._text.printable``, shared with the
graph reports), in the text (rich) output, and the JSON output is ASCII-only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from forging import forge
from support import World

from delegation import Chain
from delegation.cli import main

NASTY = "read\x1b[2J\x1b]0;pwned\x07\nhop 9  root \u202eevil\u0085x"


def _chain_file(world: World, tmp_path: Path) -> Path:
    root = world.chain(1).tokens[0]
    chain = Chain([forge(root, signer=world.orch, claims={"pur": NASTY})])
    path = tmp_path / "chain.txt"
    path.write_text(str(chain) + "\n")
    return path


@pytest.mark.parametrize("as_json", [False, True])
def test_inspect_never_prints_raw_controls(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    path = _chain_file(world, tmp_path)
    code = main([*(["--json"] if as_json else []), "inspect", "--chain", str(path)])
    out = capsys.readouterr().out
    assert code == 0
    for raw in ("\x1b", "\x07", "\u202e", "\u0085"):
        assert raw not in out
    if as_json:
        assert json.loads(out)["hops"][0]["claims"]["pur"] == NASTY  # exact, only escaped
    else:
        assert "\\x1b[2J" in out and "\\u202e" in out
        assert "\nhop 9" not in out  # the newline did not start a fake line
