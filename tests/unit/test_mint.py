from __future__ import annotations

import hashlib

import pytest
from support import CAP, NARROW, REQ, TOOL_AUD, World

from delegation import Capability, DelegationError, SecurityWarning, parse_unverified
from delegation._jose import args_digest, b64url_decode, b64url_encode, json_object
from delegation.tokens import act_path


def test_claims_follow_the_wire_format(world: World) -> None:
    """Each hop carries iss/sub/aud, cnf, prf = parent token id, act, dpth, task and obo."""
    chain = world.chain(3)
    toks = parse_unverified(chain)
    root, mid, leaf = (t.claims for t in toks)
    assert root.iss == world.orch.agent and root.prf is None
    assert [c.sub for c in (root, mid, leaf)] == [a.agent for a in world.agents[:3]]
    assert all(c.aud == c.sub for c in (root, mid, leaf))
    assert mid.prf == toks[0].token_id and leaf.prf == toks[1].token_id
    assert mid.cnf.jwk["kid"] == world.agents[1].kid
    assert [c.dpth for c in (root, mid, leaf)] == [5, 4, 3]
    assert {c.task for c in (root, mid, leaf)} == {"T-42"}
    assert {c.obo for c in (root, mid, leaf)} == {"user:alice"}
    assert act_path(leaf.act) == [world.orch.agent, world.agents[0].agent, world.agents[1].agent]
    assert leaf.exp <= mid.exp <= root.exp
    assert root.nbf == root.iat and len(root.jti) == 22
    header = toks[0].header
    assert header == {"alg": "EdDSA", "kid": world.orch.kid, "typ": "deleg+jwt"}


def test_token_id_excludes_the_signature(world: World) -> None:
    """Token id = base64url(SHA-256(header.payload)), whatever the signature bytes are."""
    token = world.chain(1).tokens[0]
    h, p, _ = token.split(".")
    expected = b64url_encode(hashlib.sha256(f"{h}.{p}".encode()).digest())
    assert parse_unverified(token)[0].token_id == expected


def test_proof_claims(world: World) -> None:
    """A proof names holder, audience, the leaf's token id and the request digest."""
    chain = world.chain(2)
    proof = world.prove(chain)
    h, p, _ = proof.split(".")
    header = json_object(b64url_decode(h))
    claims = json_object(b64url_decode(p))
    assert header["typ"] == "deleg-proof+jwt"
    assert claims["iss"] == world.agents[1].agent and claims["aud"] == TOOL_AUD
    assert claims["chn"] == parse_unverified(chain)[-1].token_id
    assert claims["req"] == {
        "tool": REQ.tool,
        "resource": REQ.resource,
        "args": args_digest(REQ.args),
    }
    assert 0 < claims["exp"] - claims["iat"] <= 120


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"caps": [Capability(tool="crm.*")]}, "scope_escalation"),
        ({"caps": [Capability(tool="crm.read", resource="customers/**")]}, "scope_escalation"),
        ({"caps": [NARROW], "depth": 5}, "depth_exceeded"),
        ({"caps": [NARROW], "ttl": 10_000}, "lifetime_exceeded"),
        ({"caps": [NARROW], "ttl": 0}, "lifetime_exceeded"),
        ({"caps": []}, "invalid_capability"),
    ],
)
def test_delegate_refuses_what_verification_rejects(
    world: World, kwargs: dict[str, object], code: str
) -> None:
    """Widening, depth, lifetime and empty grants are refused at minting time."""
    chain = world.chain(2)
    holder = world.agents[1]
    args: dict[str, object] = {
        "to": world.agents[2].agent,
        "to_key": world.agents[2].public_jwk(),
        "ttl": 60,
        **kwargs,
    }
    with pytest.raises(DelegationError) as ei:
        world.delegator(holder).delegate(chain, **args)  # type: ignore[arg-type]
    assert ei.value.code == code


def test_child_may_not_outlive_parent(world: World) -> None:
    """A delegation whose ttl passes the parent's exp is refused, not silently clipped."""
    chain = world.chain(1, ttl=100)
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.agents[0]).delegate(
            chain,
            to=world.agents[1].agent,
            to_key=world.agents[1].public_jwk(),
            caps=[CAP],
            ttl=200,
        )
    assert ei.value.code == "lifetime_exceeded"


def test_only_the_holder_may_delegate_or_prove(world: World) -> None:
    """Another agent's key, even one with the holder's name, cannot extend or prove."""
    chain = world.chain(2)
    intruder = world.agents[3]
    with pytest.raises(DelegationError) as ei:
        world.delegator(intruder).delegate(
            chain, to=intruder.agent, to_key=intruder.public_jwk(), caps=[NARROW], ttl=60
        )
    assert ei.value.code == "holder_mismatch"
    from delegation import AgentKey

    impostor = AgentKey.generate(world.agents[1].agent)
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, key=impostor)
    assert ei.value.code == "holder_mismatch"


def test_depth_zero_cannot_delegate(world: World) -> None:
    """A leaf-only token (dpth 0) cannot be delegated further."""
    chain = world.delegator(world.orch).mint(
        to=world.agents[0].agent, to_key=world.agents[0].public_jwk(), caps=[CAP], ttl=60
    )
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.agents[0]).delegate(
            chain, to=world.agents[1].agent, to_key=world.agents[1].public_jwk(), caps=[CAP], ttl=30
        )
    assert ei.value.code == "depth_exceeded"


def test_expired_chain_cannot_be_delegated(world: World) -> None:
    """Delegating from an expired token is refused."""
    chain = world.chain(1, ttl=60)
    world.clock.advance(61)
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.agents[0]).delegate(
            chain, to=world.agents[1].agent, to_key=world.agents[1].public_jwk(), caps=[CAP], ttl=10
        )
    assert ei.value.code == "expired"


def test_prove_refuses_a_request_outside_the_grant(world: World) -> None:
    """A proof is only made for a request the leaf allows."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.agents[1]).prove(
            chain, aud=TOOL_AUD, tool="crm.read", resource="customers/us/1", args={"max_rows": 1}
        )
    assert ei.value.code == "action_not_granted"
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, ttl=121)
    assert ei.value.code == "lifetime_exceeded"


def test_mint_limits(world: World) -> None:
    """Root lifetime over the maximum, bad ids and too many caps are refused."""
    d = world.delegator(world.orch)
    to, key = world.agents[0].agent, world.agents[0].public_jwk()
    for kwargs, code in [
        ({"ttl": 3601}, "lifetime_exceeded"),
        ({"ttl": 60, "depth": -1}, "depth_exceeded"),
        ({"ttl": 60, "caps": [CAP] * 65}, "oversized"),
        ({"ttl": 60, "to": "bad id"}, "invalid_input"),
        ({"ttl": 60, "task": "a\nb"}, "invalid_input"),
    ]:
        args: dict[str, object] = {"to": to, "to_key": key, "caps": [CAP], **kwargs}
        with pytest.raises(DelegationError) as ei:
            d.mint(**args)  # type: ignore[arg-type]
        assert ei.value.code == code, kwargs


def test_broad_redelegable_grant_warns(world: World) -> None:
    """A '**' tool grant that may be delegated further raises a SecurityWarning."""
    with pytest.warns(SecurityWarning):
        world.delegator(world.orch).mint(
            to=world.agents[0].agent,
            to_key=world.agents[0].public_jwk(),
            caps=[Capability(tool="**")],
            ttl=60,
            depth=1,
        )
