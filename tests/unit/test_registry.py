from __future__ import annotations

import json
from pathlib import Path

import pytest

from delegation import AgentKey, Capability, DelegationError, Registry

ROOT = "spiffe://acme.example/orchestrator"
PLANNER = "spiffe://acme.example/agent/planner"


def test_round_trip_through_file(tmp_path: Path) -> None:
    """A registry saved to a file loads back with roots, agents, roles, baselines, tools."""
    orch, planner = AgentKey.generate(ROOT), AgentKey.generate(PLANNER, alg="ES256")
    reg = Registry()
    reg.add_root(orch.agent, orch.public_jwk())
    reg.add_agent(
        planner.agent, planner.public_jwk(), role="planner", baseline=[Capability(tool="plan.*")]
    )
    reg.set_tool_labels("web.fetch", ["untrusted_input"])
    reg.save(tmp_path / "reg.json")
    back = Registry.load(tmp_path / "reg.json")
    assert back.to_json() == reg.to_json()
    assert back.root_key(ROOT, orch.kid) is not None
    assert back.agent_has_key(PLANNER, planner.kid)
    assert back.agents[PLANNER].role == "planner"
    assert back.agents[PLANNER].baseline == (Capability(tool="plan.*"),)
    assert back.tool_labels("web.fetch") == frozenset({"untrusted_input"})
    assert back.knows_agents


def test_keys_accumulate_for_rotation() -> None:
    """Adding a second key keeps the first (key rotation), and keeps role and baseline."""
    k1, k2 = AgentKey.generate(PLANNER), AgentKey.generate(PLANNER)
    reg = Registry()
    reg.add_agent(PLANNER, k1.public_jwk(), role="planner")
    reg.add_agent(PLANNER, k2.public_jwk())
    assert reg.agent_has_key(PLANNER, k1.kid) and reg.agent_has_key(PLANNER, k2.kid)
    assert reg.agents[PLANNER].role == "planner"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[]", "JSON object"),
        ('{"roots": []}', "'roots' must be an object"),
        ('{"roots": {"spiffe://a/b": {"keys": []}}}', "non-empty list"),
        (
            '{"roots": {"spiffe://a/b": {"keys": [{"kty": "OKP", "crv": "Ed448", "x": "AA"}]}}}',
            "roots['spiffe://a/b'].keys[0]",
        ),
        ('{"agents": {"not an id": {"keys": []}}}', "agent id"),
        ('{"extra": {}}', "unknown member"),
        ('{"tools": {"t": {"labels": "x"}}}', "tools"),
        ("{not json", "not JSON"),
        ('{"roots": {}, "roots": {}}', "duplicate"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path: Path, content: str, fragment: str) -> None:
    """A malformed registry file is invalid_registry, naming the offending field."""
    (tmp_path / "reg.json").write_text(content)
    with pytest.raises(DelegationError) as ei:
        Registry.load(tmp_path / "reg.json")
    assert ei.value.code == "invalid_registry"
    assert fragment in ei.value.message


def test_bad_baseline_is_named(tmp_path: Path) -> None:
    """A bad baseline capability is reported with its agent."""
    key = AgentKey.generate(PLANNER)
    data = {"agents": {PLANNER: {"keys": [key.public_jwk()], "baseline": [{"tool": ""}]}}}
    (tmp_path / "reg.json").write_text(json.dumps(data))
    with pytest.raises(DelegationError, match="baseline"):
        Registry.load(tmp_path / "reg.json")


def test_missing_file_is_file_error(tmp_path: Path) -> None:
    """A missing registry file is file_error."""
    with pytest.raises(DelegationError) as ei:
        Registry.load(tmp_path / "nope.json")
    assert ei.value.code == "file_error"
