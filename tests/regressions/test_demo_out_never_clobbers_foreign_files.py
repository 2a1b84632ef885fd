"""Regression (hardening, robustness): ``demo --out`` overwrote what it did not write.

``demo --out FILE`` (an existing file) ended in a bare ``internal_error``, and ``--out``
naming a directory of someone's files overwrote them (private keys included). Now an
existing file is ``file_error``; a non-empty directory the demo did not fill is refused
(``file_error``) unless ``--force``; an empty directory, a new one and a re-run into the
demo's own directory still work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from delegation.cli import main
from delegation.demo import DEMO_FILES


def _demo(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["--json", "demo", "--in-process", *args])
    return code, json.loads(capsys.readouterr().out)


def test_out_naming_a_file_is_file_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    for extra in ((), ("--force",)):
        code, out = _demo(capsys, "--out", str(target), *extra)
        assert (code, out["code"]) == (2, "file_error")
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize(
    "others",
    [pytest.param(["other.txt"], id="with-other-files"), pytest.param([], id="demo-name-alone")],
)
def test_out_with_foreign_files_is_refused_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], others: list[str]
) -> None:
    """A directory of someone's files is refused, even when its one file bears a demo
    file's name (that alone does not make it a demo directory); ``--force`` overrides."""
    d = tmp_path / "keys"
    d.mkdir()
    (d / "orchestrator.key.json").write_text('{"my": "real key"}\n')
    for name in others:
        (d / name).write_text("x\n")
    code, out = _demo(capsys, "--out", str(d))
    assert (code, out["code"]) == (2, "file_error")
    assert (d / "orchestrator.key.json").read_text() == '{"my": "real key"}\n'

    code, out = _demo(capsys, "--out", str(d), "--force")
    assert code == 0 and out["ok"] is True


def test_new_empty_and_rerun_directories_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for d in (tmp_path / "new" / "dir", empty, empty):  # the last one is a re-run
        code, out = _demo(capsys, "--out", str(d))
        assert code == 0 and out["ok"] is True, out
        assert set(os.listdir(d)) <= DEMO_FILES
