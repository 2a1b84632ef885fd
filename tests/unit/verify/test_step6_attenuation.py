"""Step 6, attenuation: covers, depth, task, obo, act; request and capability path tricks.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import pytest
from forging import DROP, decode, forge, jbytes, token_id
from support import CAP, NARROW, World
from verify_support import extend, issuer, rejected, rejected_forgery, with_hop

from delegation import Capability, Chain, DelegationError, Request

WIDENINGS = {  # id -> the (tool, resource, constraints) hop 2 grants under hop 1's NARROW
    "tool": ("crm.*", "customers/eu/**", {"max_rows": {"max": 50}}),
    "resource": ("crm.read", "**", {"max_rows": {"max": 50}}),
    "constraint-max": ("crm.read", "customers/eu/**", {"max_rows": {"max": 1000}}),
    "constraint-dropped": ("crm.read", "customers/eu/**", {}),
    "constraint-kind": ("crm.read", "customers/eu/**", {"max_rows": {"min": 1}}),
    "other-tool": ("crm.write", "customers/eu/**", {"max_rows": {"max": 50}}),
}


@pytest.mark.parametrize(
    "cap",
    [
        pytest.param(Capability(tool=tool, resource=resource, constraints=constraints), id=id)
        for id, (tool, resource, constraints) in WIDENINGS.items()
    ],
)
def test_widening_is_scope_escalation(world: World, cap: Capability) -> None:
    """A validly signed hop granting more than its parent is scope_escalation."""
    chain = world.chain(3)
    err = rejected_forgery(
        world, chain, 2, signer=world.agents[1], claims={"caps": [cap.to_wire()]}
    )
    assert (err.code, err.hop, err.claim) == ("scope_escalation", 2, "caps")
    with pytest.raises(DelegationError) as ei:
        extend(world, Chain(chain.tokens[:2]), world.agents[2], caps=[cap])
    assert ei.value.code == "scope_escalation"


def test_extra_capability_is_scope_escalation(world: World) -> None:
    """Adding a second, uncovered capability next to a covered one is scope_escalation."""
    chain = world.chain(2)
    extra = {"tool": "mail.send", "resource": "**"}
    err = rejected_forgery(
        world, chain, 1, signer=world.agents[0], claims={"caps": [NARROW.to_wire(), extra]}
    )
    assert (err.code, err.hop) == ("scope_escalation", 1)


@pytest.mark.parametrize(
    "resource",
    [
        "customers/eu/../us",  # path tricks, plain or percent-encoded
        "customers/eu/%2e%2e/us",
        "customers/eu/%2E./us",
        "customers/eu%2f..%2fus/**",
        "customers//eu",  # empty segments, wildcards, spaces
        "customers/eu/",
        "/customers",
        "customers/eu/**",
        "customers/*/42",
        "customers/e u",
    ],
)
def test_malformed_request_resource_is_invalid_request(resource: str) -> None:
    """A request resource with ``..`` (plain or percent-encoded), empty segments, wildcards
    or spaces is invalid_request at once."""
    with pytest.raises(DelegationError) as ei:
        Request(tool="crm.read", resource=resource, args={"max_rows": 1})
    assert ei.value.code == "invalid_request"


def test_path_trick_in_capability_is_refused_on_construction() -> None:
    """A capability resource with ``..`` is invalid_capability when built."""
    with pytest.raises(DelegationError) as ei:
        Capability(tool="crm.read", resource="customers/eu/../us")
    assert ei.value.code == "invalid_capability"


@pytest.mark.parametrize(
    "raw_cap",
    [
        pytest.param(b'{"tool":"crm.read","resource":"customers/eu/../us"}', id="dotdot"),
        pytest.param(b'{"tool":"crm.read","resource":"customers/eu/%2e%2e/us"}', id="pct-dotdot"),
        pytest.param(b'{"tool":"crm..read","resource":"customers/**"}', id="empty-tool-seg"),
        pytest.param(b'{"tool":"crm.read","resource":"a/**/b"}', id="inner-globstar"),
        pytest.param(b'{"tool":"crm.read","constraints":{"n":{}}}', id="empty-constraint"),
        pytest.param(b'{"tool":"crm.read","constraints":{"n":{"max":1e400}}}', id="inf-bound"),
        pytest.param(b'{"tool":"crm.read","extra":1}', id="unknown-member"),
        pytest.param(
            b'{"tool":"crm.read","constraints":{"n":{"equals":' + b"[" * 300 + b"]" * 300 + b"}}}",
            id="nested-300",
        ),
    ],
)
def test_invalid_capability_inside_a_token_is_malformed(world: World, raw_cap: bytes) -> None:
    """A validly signed hop carrying an invalid capability is malformed, naming ``caps``."""
    chain = world.chain(2)
    _, body, _ = decode(chain.tokens[1])
    body["caps"] = ["@@"]
    raw = jbytes(body).replace(b'"@@"', raw_cap)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], raw_payload=raw)
    assert (err.code, err.hop) == ("malformed", 1)
    assert isinstance(err.claim, str)
    assert err.claim.startswith("caps")


def test_depth_not_decreasing_is_refused(world: World) -> None:
    """A hop whose ``dpth`` is not below its parent's is depth_exceeded."""
    chain = world.chain(2)
    parent_depth = decode(chain.tokens[0])[1]["dpth"]
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims={"dpth": parent_depth})
    assert (err.code, err.hop, err.claim) == ("depth_exceeded", 1, "dpth")
    with pytest.raises(DelegationError) as ei:
        extend(world, Chain(chain.tokens[:1]), world.agents[1], depth=parent_depth)
    assert ei.value.code == "depth_exceeded"


def test_delegating_below_depth_zero_is_refused(world: World) -> None:
    """A child of a ``dpth: 0`` token is depth_exceeded (and the Delegator refuses it)."""
    leaf_only = world.delegator(world.orch).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, depth=0, task="T-42"
    )
    with pytest.raises(DelegationError) as ei:
        extend(world, leaf_only, world.agents[1])
    assert ei.value.code == "depth_exceeded"
    deep = world.chain(2)
    forged_child = forge(
        deep.tokens[1],
        signer=world.agents[0],
        claims={"prf": token_id(leaf_only.tokens[0]), "dpth": 0},
    )
    chain = Chain([leaf_only.tokens[0], forged_child])
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("depth_exceeded", 1, "dpth")


@pytest.mark.parametrize(
    ("claims", "code", "claim"),
    [
        ({"task": "T-99"}, "task_mismatch", "task"),
        ({"obo": "user:mallory"}, "principal_mismatch", "obo"),
        ({"obo": DROP}, "principal_mismatch", "obo"),
    ],
)
def test_task_and_principal_are_fixed(
    world: World, claims: dict[str, object], code: str, claim: str
) -> None:
    """A hop that changes ``task`` or ``obo`` is refused with the matching code."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims=claims)
    assert (err.code, err.hop, err.claim) == (code, 1, claim)


@pytest.mark.parametrize("hop", [0, 1, 2])
def test_act_not_mirroring_the_path_is_refused(world: World, hop: int) -> None:
    """An ``act`` claim that does not mirror the issuers is act_mismatch."""
    chain = Chain(world.chain(3).tokens[: hop + 1])
    forged = forge(
        chain.tokens[hop], signer=issuer(world, hop), claims={"act": {"sub": world.agents[5].agent}}
    )
    bad = with_hop(chain, hop, forged)
    err = rejected(world, bad, world.prove(bad))
    assert (err.code, err.hop, err.claim) == ("act_mismatch", hop, "act")


ONE_OF_ROOT = Capability.from_wire(
    {
        "tool": "crm.read",
        "resource": "customers/**",
        "constraints": {"region": {"one_of": ["eu", "us"]}},
    }
)


def _one_of_child(world: World, values: list[str]) -> tuple[Chain, Chain]:
    """A root granting region one_of [eu, us] to a0, and a0's hop to a1 with ``values``
    (signed by a0 directly, so even a widening reaches the verifier)."""
    root = world.delegator(world.orch).mint(
        to=world.agents[0].agent,
        to_key=world.agents[0].public_jwk(),
        caps=[ONE_OF_ROOT],
        ttl=600,
        depth=3,
        task="T-42",
    )
    honest = extend(world, root, world.agents[1], caps=[ONE_OF_ROOT])
    narrowed = {**ONE_OF_ROOT.to_wire(), "constraints": {"region": {"one_of": values}}}
    forged = forge(honest.tokens[1], signer=world.agents[0], claims={"caps": [narrowed]})
    return root, with_hop(honest, 1, forged)


def test_one_of_narrowing(world: World) -> None:
    """one_of narrows to a subset only: [eu] under [eu, us] verifies and admits eu, not us;
    [eu, us, apac] is scope_escalation, from the verifier and from the Delegator."""
    eu = Request(tool="crm.read", resource="customers/eu/1", args={"region": "eu"})
    us = Request(tool="crm.read", resource="customers/us/1", args={"region": "us"})
    root, subset = _one_of_child(world, ["eu"])
    assert world.verifier().verify(subset, world.prove(subset, request=eu), eu).depth == 2
    with pytest.raises(DelegationError) as ei:  # the holder cannot even prove a us call
        world.prove(subset, request=us)
    assert ei.value.code == "action_not_granted"
    _, wider = _one_of_child(world, ["eu", "us", "apac"])
    err = rejected(world, wider, world.prove(wider, request=eu), eu)
    assert (err.code, err.hop, err.claim) == ("scope_escalation", 1, "caps")
    widening = Capability.from_wire(
        {**ONE_OF_ROOT.to_wire(), "constraints": {"region": {"one_of": ["eu", "apac"]}}}
    )
    with pytest.raises(DelegationError) as ei:
        extend(world, root, world.agents[1], caps=[widening])
    assert ei.value.code == "scope_escalation"
