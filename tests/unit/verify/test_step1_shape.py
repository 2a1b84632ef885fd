"""Step 1, size and shape: limits before decoding, then strict parsing.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448
from forging import DROP, decode, forge, jbytes, payload_bytes, token_id
from support import NARROW, ORG, REQ, T0, World
from verify_support import ed448_jwk, extend, rejected, rejected_forgery, with_hop

from delegation import AgentKey, Chain, DelegationError, Limits, PublicKey, Registry


def test_ten_megabyte_token_is_oversized_fast(world: World) -> None:
    """A 10 MB token is refused as oversized before decoding, in well under a second."""
    chain = world.chain(1)
    proof = world.prove(chain)
    big = "a" * 10_000_000 + ".b.c"
    start = time.perf_counter()
    err_text = rejected(world, big, proof)
    err_obj = rejected(world, Chain([big]), proof)
    err_proof = rejected(world, chain, big)
    assert time.perf_counter() - start < 1.0
    assert (err_text.code, err_text.hop) == ("oversized", None)
    assert (err_obj.code, err_obj.hop) == ("oversized", 0)
    assert (err_proof.code, err_proof.hop) == ("oversized", None)


def test_chain_over_max_length_is_oversized(world: World) -> None:
    """A chain of 17 tokens is refused as oversized before any token is parsed."""
    chain = world.chain(1)
    err = rejected(world, Chain(list(chain.tokens) * 17), world.prove(chain))
    assert err.code == "oversized"
    assert err.hop is None


def test_sixteen_hops_verify_and_a_seventeenth_is_refused() -> None:
    """The default maximum chain length (16) is reachable, and the Delegator stops there."""
    world = World(n=17)
    chain = world.chain(16)
    assert world.verifier().verify(chain, world.prove(chain), REQ).depth == 16
    with pytest.raises(DelegationError) as ei:
        extend(world, chain, world.agents[16], ttl=60)
    assert ei.value.code == "oversized"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a.b", id="two-parts"),
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param("a..c", id="empty-part"),
        pytest.param("", id="empty"),
    ],
)
def test_not_compact_jws_is_malformed(world: World, text: str) -> None:
    """Text that is not three non-empty dot-separated parts is malformed."""
    chain = world.chain(1)
    err = rejected(world, text, world.prove(chain))
    assert err.code == "malformed"


@pytest.mark.parametrize(
    ("part", "mutate"),
    [
        pytest.param(0, lambda s: s + "=", id="padded-header"),
        pytest.param(1, lambda s: s.replace("-", "+").replace("_", "/") + "+", id="std-alphabet"),
        pytest.param(2, lambda s: s[:-1] + chr(ord(s[-1]) + 1), id="stray-bits"),
        pytest.param(1, lambda s: s + "A", id="extra-char"),
        pytest.param(1, lambda s: s[:5] + " " + s[5:], id="space"),
    ],
)
def test_non_canonical_base64url_is_malformed(
    world: World, part: int, mutate: Callable[[str], str]
) -> None:
    """Padding, the standard alphabet, stray low bits or junk in a segment are malformed."""
    chain = world.chain(2)
    parts = chain.tokens[1].split(".")
    parts[part] = mutate(parts[part])
    text = "~".join([chain.tokens[0], ".".join(parts)])
    err = rejected(world, text, world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 1)


def test_non_ascii_token_text_is_malformed(world: World) -> None:
    """A token with a non-ASCII character is malformed."""
    chain = world.chain(1)
    err = rejected(world, chain.tokens[0] + "\u00e9", world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 0)


@pytest.mark.parametrize("where", ["header", "payload"])
def test_non_utf8_segment_is_malformed(world: World, where: str) -> None:
    """A header or payload whose bytes are not UTF-8 is malformed, even when re-signed."""
    chain = world.chain(1)
    head, _, _ = decode(chain.tokens[0])
    if where == "header":
        forged = forge(chain.tokens[0], signer=world.orch, raw_header=b"\xff" + jbytes(head))
    else:
        raw = b"\xff\xfe" + payload_bytes(chain.tokens[0])
        forged = forge(chain.tokens[0], signer=world.orch, raw_payload=raw)
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 0)


def test_duplicate_json_member_in_payload_is_malformed(world: World) -> None:
    """A validly signed payload that repeats ``sub`` (parser differential) is malformed."""
    chain = world.chain(2)
    raw = payload_bytes(chain.tokens[1])[:-1] + b',"sub":"' + world.agents[5].agent.encode() + b'"}'
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], raw_payload=raw)
    assert (err.code, err.hop) == ("malformed", 1)


def test_duplicate_json_member_in_header_is_malformed(world: World) -> None:
    """A header that repeats ``alg`` is malformed, whichever value a parser would keep."""
    chain = world.chain(1)
    head, _, _ = decode(chain.tokens[0])
    raw = b'{"alg":"none",' + jbytes(head)[1:]
    forged = forge(chain.tokens[0], signer=world.orch, raw_header=raw)
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 0)


@pytest.mark.parametrize(
    ("raw", "max_bytes"),
    [
        pytest.param(b"[" * 2000 + b"]" * 2000, 8 * 1024, id="lists-in-8KiB"),
        pytest.param(b'{"":' * 1000 + b"1" + b"}" * 1000, 8 * 1024, id="objects-in-8KiB"),
        pytest.param(b"[" * 200_000 + b"]" * 200_000, 1 << 20, id="lists-raised-limit"),
    ],
)
def test_deeply_nested_payload_is_malformed(world: World, raw: bytes, max_bytes: int) -> None:
    """Deeply nested JSON in a payload is malformed (never a RecursionError), any limit."""
    chain = world.chain(1)
    body = payload_bytes(chain.tokens[0])[:-1] + b',"x":' + raw + b"}"
    forged = forge(chain.tokens[0], signer=world.orch, raw_payload=body)
    assert len(forged) <= max_bytes
    err = rejected(
        world, Chain([forged]), world.prove(chain), limits=Limits(max_token_bytes=max_bytes)
    )
    assert (err.code, err.hop) == ("malformed", 0)


def test_deeply_nested_header_and_proof_are_refused(world: World) -> None:
    """A deeply nested header is oversized (headers are small); a nested proof is malformed."""
    chain = world.chain(1)
    nested = b"[" * 3000 + b"]" * 3000
    head, _, _ = decode(chain.tokens[0])
    raw_header = jbytes(head)[:-1] + b',"x":' + nested + b"}"
    bad_token = forge(chain.tokens[0], signer=world.orch, raw_header=raw_header)
    err = rejected(world, Chain([bad_token]), world.prove(chain))
    assert (err.code, err.hop) == ("oversized", 0)
    small = jbytes(head)[:-1] + b',"x":' + b"[" * 100 + b"]" * 100 + b"}"
    bad_token = forge(chain.tokens[0], signer=world.orch, raw_header=small)
    err = rejected(world, Chain([bad_token]), world.prove(chain))
    assert (err.code, err.hop) == ("bad_header", 0)
    proof = world.prove(chain)
    raw_proof = payload_bytes(proof)[:-1] + b',"x":' + nested[1000:-1000] + b"}"
    bad_proof = forge(proof, signer=world.agents[0], raw_payload=raw_proof)
    err = rejected(world, chain, bad_proof)
    assert (err.code, err.hop) == ("malformed", None)


def test_deeply_nested_json_chain_text_is_malformed(world: World) -> None:
    """A JSON-list chain text nested thousands deep is malformed."""
    chain = world.chain(1)
    err = rejected(world, "[" * 5000 + "]" * 5000, world.prove(chain))
    assert err.code == "malformed"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_constants_are_malformed(world: World, constant: bytes) -> None:
    """NaN and Infinity are not JSON: a payload using them is malformed."""
    chain = world.chain(1)
    body = payload_bytes(chain.tokens[0])[:-1] + b',"x":' + constant + b"}"
    forged = forge(chain.tokens[0], signer=world.orch, raw_payload=body)
    assert rejected(world, Chain([forged]), world.prove(chain)).code == "malformed"


def test_payload_that_is_not_an_object_is_malformed(world: World) -> None:
    """A payload that is a JSON list is malformed."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, raw_payload=b"[1,2]")
    assert rejected(world, Chain([forged]), world.prove(chain)).code == "malformed"


@pytest.mark.parametrize(
    "claim", ["iss", "sub", "aud", "iat", "exp", "jti", "cnf", "task", "caps", "dpth", "act"]
)
def test_missing_required_claim_is_malformed(world: World, claim: str) -> None:
    """Every required claim is required by the model: dropping one is malformed."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims={claim: DROP})
    assert (err.code, err.hop, err.claim) == ("malformed", 1, claim)


@pytest.mark.parametrize(
    ("claims", "claim"),
    [
        pytest.param({"iat": str(T0)}, "iat", id="iat-string"),
        pytest.param({"exp": T0 + 300.5}, "exp", id="exp-float"),
        pytest.param({"dpth": True}, "dpth", id="dpth-bool"),
        pytest.param({"dpth": -1}, "dpth", id="dpth-negative"),
        pytest.param({"jti": "short"}, "jti", id="jti-short"),
        pytest.param({"caps": []}, "caps", id="caps-empty"),
        pytest.param({"unknown": 1}, "unknown", id="unknown-claim"),
        pytest.param({"task": "T\n42"}, "task", id="task-control-char"),
        pytest.param(
            {"cnf": {"jwk": {"kty": "OKP", "crv": "Ed25519", "x": 5}}},
            "cnf.jwk.x",
            id="cnf-non-string",
        ),
    ],
)
def test_mistyped_claim_is_malformed(world: World, claims: dict[str, object], claim: str) -> None:
    """Claims are strictly typed and closed: a wrong type or unknown claim is malformed."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims=claims)
    assert (err.code, err.hop, err.claim) == ("malformed", 1, claim)


def test_aud_as_a_list_is_malformed(world: World) -> None:
    """``aud`` must be one string, not a list (even a list holding the right agent)."""
    chain = world.chain(2)
    err = rejected_forgery(
        world, chain, 1, signer=world.agents[0], claims={"aud": [world.agents[1].agent]}
    )
    assert (err.code, err.hop, err.claim) == ("malformed", 1, "aud")


def test_aud_other_than_sub_is_malformed(world: World) -> None:
    """A hop whose ``aud`` is not its ``sub`` is malformed."""
    chain = world.chain(2)
    err = rejected_forgery(
        world, chain, 1, signer=world.agents[0], claims={"aud": world.agents[3].agent}
    )
    assert (err.code, err.hop, err.claim) == ("malformed", 1, "aud")


@pytest.mark.parametrize("claim", ["sub", "iss"])
def test_homoglyph_agent_id_is_malformed(world: World, claim: str) -> None:
    """An agent id with a Cyrillic small a (U+0430) is not an ASCII URI: malformed."""
    chain = world.chain(2)
    spoof = f"{ORG}/\u0430gent/a1"
    updates: dict[str, object] = {claim: spoof, "aud": spoof} if claim == "sub" else {claim: spoof}
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], claims=updates)
    assert (err.code, err.hop, err.claim) == ("malformed", 1, claim)


@pytest.mark.parametrize(
    "spoof",
    [
        pytest.param(f"{ORG}/agent/a1\n", id="trailing-newline"),
        pytest.param(f"{ORG}/agent/a1 ", id="trailing-space"),
        pytest.param(f"{ORG}/agent/a\u200b1", id="zero-width-space"),
        pytest.param("spiffe\uff1a//acme.example/agent/a1", id="fullwidth-colon"),
        pytest.param(f"{ORG}/agent/\u0430" + "1", id="cyrillic-a"),
        pytest.param("", id="empty"),
        pytest.param("a" * 600 + ":x", id="overlong"),
    ],
)
def test_lookalike_subject_is_malformed(world: World, spoof: str) -> None:
    """Subjects with invisible, non-ASCII or trailing characters are malformed, not matched."""
    chain = world.chain(2)
    err = rejected_forgery(
        world, chain, 1, signer=world.agents[0], claims={"sub": spoof, "aud": spoof}
    )
    assert (err.code, err.hop, err.claim) == ("malformed", 1, "sub")


def test_homoglyph_agent_id_is_refused_everywhere(world: World) -> None:
    """The Delegator, key generation, the registry and proofs all refuse homoglyph ids."""
    spoof = f"{ORG}/\u0430gent/a1"
    chain = world.chain(1)
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.agents[0]).delegate(
            chain, to=spoof, to_key=world.agents[1].public_jwk(), caps=[NARROW], ttl=60
        )
    assert ei.value.code == "invalid_input"
    with pytest.raises(DelegationError) as ei:
        AgentKey.generate(spoof)
    assert ei.value.code == "invalid_input"
    with pytest.raises(DelegationError) as ei:
        Registry().add_agent(spoof, world.agents[1].public_jwk())
    assert ei.value.code == "invalid_registry"
    proof = forge(world.prove(chain), signer=world.agents[0], claims={"iss": spoof})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == ("malformed", None, "iss")


def test_ed448_key_in_cnf_is_refused(world: World) -> None:
    """A root binding an Ed448 key in ``cnf`` is refused (EdDSA means Ed25519 only)."""
    chain = world.chain(1)
    jwk = ed448_jwk(ed448.Ed448PrivateKey.generate())
    forged = forge(chain.tokens[0], signer=world.orch, claims={"cnf": {"jwk": jwk}})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("malformed", 0, "cnf")
    with pytest.raises(DelegationError) as ei:
        PublicKey.from_jwk(jwk)
    assert ei.value.code == "invalid_key"
    with pytest.raises(DelegationError) as ei:
        Registry().add_root(f"{ORG}/orchestrator", jwk)
    assert ei.value.code == "invalid_registry"


def test_too_many_capabilities_is_oversized(world: World) -> None:
    """A hop with more capabilities than ``Limits.max_caps_per_token`` is oversized."""
    chain = world.chain(2)
    caps = [NARROW.to_wire(), NARROW.to_wire()]
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"caps": caps})
    err = rejected(
        world, with_hop(chain, 1, forged), world.prove(chain), limits=Limits(max_caps_per_token=1)
    )
    assert (err.code, err.hop) == ("oversized", 1)


def test_proof_used_as_a_token_is_rejected(world: World) -> None:
    """A proof in a chain is refused at step 1: its claims are not a hop's (malformed)."""
    chain = world.chain(2)
    proof = world.prove(chain)
    err = rejected(world, Chain([*chain.tokens, proof]), world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 2)


def test_token_used_as_a_proof_is_rejected(world: World) -> None:
    """A delegation token presented as the proof is refused (its claims are not a proof's)."""
    chain = world.chain(2)
    err = rejected(world, chain, chain.tokens[1])
    assert (err.code, err.hop) == ("malformed", None)


def test_receipt_used_as_a_proof_is_rejected(world: World) -> None:
    """A receipt signed by the holder is not a proof of possession."""
    chain = world.chain(2)
    receipt = world.delegator(world.agents[1]).receipt(token_id(chain.tokens[1]), policy_digest="p")
    err = rejected(world, chain, receipt)
    assert (err.code, err.hop) == ("malformed", None)
