"""Fixtures of the command's tests: a flow made with the real command, and input files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import (
    GRANT,
    ORCH,
    PLANNER,
    RESEARCHER,
    Flow,
    add_agent_argv,
    delegate_argv,
    mint_argv,
    ok,
    run,
)

from delegation import AgentKey, Registry


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """keygen -> registry add-root/add-agent -> mint -> delegate (stdin), checked as it goes."""
    d = tmp_path_factory.mktemp("cli")
    out = ok(d, "keygen", "--agent", ORCH, "--out", "o.key", "--public-out", "o.pub")
    assert "o.key" in out
    info = json.loads(
        ok(d, "keygen", "--agent", PLANNER, "--out", "p.key", "--public-out", "p.pub", "--json")
    )
    assert (info["ok"], info["alg"], info["agent"]) == (True, "EdDSA", PLANNER)
    ok(
        d,
        "--json",
        "keygen",
        "--agent",
        RESEARCHER,
        "--alg",
        "ES256",
        "--out",
        "r.key",
        "--public-out",
        "r.pub",
    )
    assert (d / "o.key").stat().st_mode & 0o077 == 0  # private key files are 0600

    ok(d, "registry", "add-root", "--registry", "reg.json", "--agent", ORCH, "--key", "o.pub")
    baseline = ("--role", "planner", "--baseline", "crm.read:customers/**")
    ok(d, *add_agent_argv("reg.json", PLANNER, "p.pub", *baseline))
    added = json.loads(ok(d, *add_agent_argv("reg.json", RESEARCHER, "r.pub", "--json")))
    assert added == {
        "ok": True,
        "registry": "reg.json",
        "kind": "agent",
        "agent": RESEARCHER,
        "kid": added["kid"],
    }
    reg = json.loads((d / "reg.json").read_text())
    assert list(reg["roots"]) == [ORCH]
    assert reg["agents"][PLANNER]["baseline"] == [{"tool": "crm.read", "resource": "customers/**"}]

    # State has one set of defaults: the task opened here governs mint and delegate.
    opened = run(d, "task", "open", "--task", "T-42", "--deadline", "30m")
    assert opened.returncode == 0, opened.stderr
    assert opened.stderr.splitlines() == [
        f"note: created the store {d.resolve() / 'delegation-store.sqlite'}",
        f"note: created the audit log {d.resolve() / 'delegation-audit.jsonl'}",
    ]
    c1 = ok(d, *mint_argv({}, "--depth", "2", "--task", "T-42", "--obo", "user:alice", cap=GRANT))
    assert (len(c1.splitlines()), c1.count(".")) == (1, 2)  # one compact token
    hop2 = json.loads(ok(d, *delegate_argv({}, "--json", chain="-", ttl="300"), stdin=c1))
    assert (hop2["hops"], hop2["holder"], hop2["depth"]) == (2, RESEARCHER, 1)
    assert hop2["chain"].startswith(c1.strip() + "~")
    (d / "c2.txt").write_text(hop2["chain"] + "\n")
    return Flow(d)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Key files, a chain and junk, made with the library (no subprocess)."""
    d = tmp_path_factory.mktemp("err")
    orch = AgentKey.generate(ORCH)
    orch.save(d / "o.key", public_path=d / "o.pub")
    registry = Registry()
    registry.add_root(orch.agent, orch.public)
    registry.save(d / "reg.json")
    AgentKey.generate(PLANNER).save(d / "p.key", public_path=d / "p.pub")
    (d / "bad.key").write_text("{not json")
    (d / "g.txt").write_text("garbage.chain\n")
    (d / "empty.txt").write_text("\n")
    names = ("o.key", "o.pub", "p.key", "p.pub", "reg.json", "bad.key", "g.txt", "empty.txt")
    out = {n: str(d / n) for n in names}
    out["missing"] = str(d / "missing.key")
    out["dir"] = str(d)
    return out


@pytest.fixture(autouse=True)
def _in_a_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command writes its default store and audit log in the working directory:
    run each test in its own, never in the repository, and without the caller's env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DELEGATION_STORE", raising=False)
    monkeypatch.delenv("DELEGATION_AUDIT", raising=False)
