"""Issue 9, item 5: key files went through a predictable temp name, without O_EXCL/O_NOFOLLOW."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from delegation import AgentKey, DelegationError


def test_key_file_write_cannot_be_hijacked(tmp_path: Path) -> None:
    """Files and symlinks planted at the old temp name get nothing; the key file is 0600."""
    key = AgentKey.generate("spiffe://acme.example/agent/a")
    target = tmp_path / "key.json"
    loot = tmp_path / "attacker-owned"
    loot.write_text("")
    loot.chmod(0o666)
    # The old temporary name was .<name>.tmp<pid>: plant a symlink to the attacker's file there.
    (tmp_path / f".key.json.tmp{os.getpid()}").symlink_to(loot)
    key.save(target)
    assert loot.read_text() == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert AgentKey.load(target).kid == key.kid
    # A target that is itself a symlink is refused, and what it points to is left alone.
    link = tmp_path / "link.json"
    link.symlink_to(loot)
    with pytest.raises(DelegationError) as ei:
        key.save(link)
    assert ei.value.code == "file_error"
    assert "symlink" in str(ei.value)
    assert loot.read_text() == "" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
