"""Adversarial tests for every verification step (DESIGN "Verification", steps 1-10).

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token). Tokens the Delegator refuses to sign are forged here:
:func:`forge` decodes a valid compact JWS, mutates its header or claims, re-encodes it,
and either re-signs it with a given key (``AgentKey.sign``: raw JWS signature) or keeps
the old signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Final, cast

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from forging import DROP, b64d, b64e, decode, forge, jbytes, payload_bytes, token_id
from support import CAP, NARROW, ORG, REQ, T0, TOOL_AUD, World

from delegation import (
    AgentKey,
    Capability,
    Chain,
    ChainGrantsOnly,
    Decision,
    DelegationError,
    Limits,
    MemoryAudit,
    MemoryStore,
    PolicyContext,
    PublicKey,
    Registry,
    Request,
    StoreUnavailable,
    parse_unverified,
)
from delegation.audit import AuditEvent
from delegation.stores import RevocationKind

P256_N: Final = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)
ED25519_L: Final = 2**252 + 27742317777372353535851937790883648493


def with_hop(chain: Chain, hop: int, token: str) -> Chain:
    """``chain`` with token ``hop`` replaced."""
    tokens = list(chain.tokens)
    tokens[hop] = token
    return Chain(tokens)


def issuer(world: World, hop: int) -> AgentKey:
    """The key that signs token ``hop`` of a ``world.chain``: orch, then a0, a1..."""
    return world.orch if hop == 0 else world.agents[hop - 1]


def key_of(world: World, agent: str) -> AgentKey:
    """The world's key for an agent id."""
    return next(k for k in (world.orch, *world.agents) if k.agent == agent)


def holder_of(world: World, chain: Chain) -> AgentKey:
    """The world's key for the chain's final holder."""
    return key_of(world, parse_unverified(chain)[-1].claims.sub)


def extend(
    world: World,
    chain: Chain,
    to: AgentKey,
    *,
    caps: list[Capability] | None = None,
    ttl: int = 300,
    **kw: Any,
) -> Chain:
    """Delegate ``chain`` from its current holder on to ``to`` (the Delegator's way)."""
    return world.delegator(holder_of(world, chain)).delegate(
        chain, to=to.agent, to_key=to.public_jwk(), caps=caps or [NARROW], ttl=ttl, **kw
    )


def high_s_twin(token: str) -> str:
    """The ES256 high-S twin: replace s by n - s in the raw r||s signature."""
    h64, p64, s64 = token.split(".")
    sig = b64d(s64)
    s = int.from_bytes(sig[32:], "big")
    return f"{h64}.{p64}.{b64e(sig[:32] + (P256_N - s).to_bytes(32, 'big'))}"


def rejected(
    world: World, chain: Chain | str, proof: str, request: Request = REQ, **verifier_kw: Any
) -> DelegationError:
    """Verify, expect a DelegationError, and check the denial was audited with its code."""
    before = len(world.audit.records)
    with pytest.raises(DelegationError) as ei:
        world.verifier(**verifier_kw).verify(chain, proof, request)
    assert len(world.audit.records) == before + 1
    record = world.audit.records[-1]
    assert record["decision"] == "deny"
    assert record["code"] == ei.value.code
    assert record.get("hop") == ei.value.hop
    return ei.value


def ed448_jwk(private: ed448.Ed448PrivateKey) -> dict[str, str]:
    """The public OKP JWK of an Ed448 key."""
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed448", "x": b64e(raw)}


# --------------------------------------------------------------------------------------
# baseline
# --------------------------------------------------------------------------------------


def test_baseline_chain_verifies_and_is_audited(world: World) -> None:
    """An untouched 3-hop chain verifies, and the allow decision is audited."""
    chain = world.chain(3)
    verified = world.verifier().verify(chain, world.prove(chain), REQ)
    assert verified.token_ids == tuple(token_id(t) for t in chain.tokens)
    assert world.audit.records[-1]["decision"] == "allow"
    assert world.audit.records[-1]["code"] == "allowed"


# --------------------------------------------------------------------------------------
# step 1: size and shape
# --------------------------------------------------------------------------------------


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
    forged = forge(chain.tokens[1], signer=world.agents[0], raw_payload=raw)
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={claim: DROP})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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
    forged = forge(chain.tokens[1], signer=world.agents[0], claims=claims)
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("malformed", 1, claim)


def test_aud_as_a_list_is_malformed(world: World) -> None:
    """``aud`` must be one string, not a list (even a list holding the right agent)."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"aud": [world.agents[1].agent]})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("malformed", 1, "aud")


def test_aud_other_than_sub_is_malformed(world: World) -> None:
    """A hop whose ``aud`` is not its ``sub`` is malformed."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"aud": world.agents[3].agent})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("malformed", 1, "aud")


@pytest.mark.parametrize("claim", ["sub", "iss"])
def test_homoglyph_agent_id_is_malformed(world: World, claim: str) -> None:
    """An agent id with a Cyrillic small a (U+0430) is not an ASCII URI: malformed."""
    chain = world.chain(2)
    spoof = f"{ORG}/\u0430gent/a1"
    updates: dict[str, object] = {claim: spoof, "aud": spoof} if claim == "sub" else {claim: spoof}
    forged = forge(chain.tokens[1], signer=world.agents[0], claims=updates)
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"sub": spoof, "aud": spoof})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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
    assert ei.value.code == "invalid_key"
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


# --------------------------------------------------------------------------------------
# step 2: headers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alg", ["none", "None", "NONE", "HS256", "RS256", "PS256", "ES384", "Ed25519"]
)
@pytest.mark.parametrize("hop", [0, 1])
def test_alg_outside_allow_list_is_refused(world: World, alg: str, hop: int) -> None:
    """Any ``alg`` other than EdDSA/ES256 (``none`` and HMAC above all) is alg_not_allowed."""
    chain = world.chain(2)
    forged = forge(chain.tokens[hop], header={"alg": alg})
    err = rejected(world, with_hop(chain, hop, forged), world.prove(chain))
    assert (err.code, err.hop) == ("alg_not_allowed", hop)


def test_unsigned_alg_none_token_is_refused(world: World) -> None:
    """An ``alg: none`` token with an empty signature never verifies."""
    chain = world.chain(1)
    h64, p64, _ = forge(chain.tokens[0], header={"alg": "none"}).split(".")
    err = rejected(world, Chain([f"{h64}.{p64}."]), world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 0)


def _hs256_secrets(key: AgentKey) -> list[bytes]:
    raw = b64d(key.public.jwk["x"])
    pem = ed25519.Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [raw, jbytes(key.public.jwk), pem]


@pytest.mark.parametrize("secret_form", [0, 1, 2], ids=["raw", "jwk-json", "pem"])
def test_hmac_signed_with_public_key_is_refused(world: World, secret_form: int) -> None:
    """HS256 keyed with the issuer's public key (the classic confusion) is alg_not_allowed."""
    chain = world.chain(2)
    secret = _hs256_secrets(world.agents[0])[secret_form]
    forged = forge(
        chain.tokens[1],
        header={"alg": "HS256"},
        signer=lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop) == ("alg_not_allowed", 1)
    root_secret = _hs256_secrets(world.orch)[secret_form]
    forged_root = forge(
        chain.tokens[0],
        header={"alg": "HS256"},
        signer=lambda data: hmac.new(root_secret, data, hashlib.sha256).digest(),
    )
    err = rejected(world, Chain([forged_root]), world.prove(world.chain(1)))
    assert (err.code, err.hop) == ("alg_not_allowed", 0)


def test_hmac_proof_is_refused(world: World) -> None:
    """A proof MACed with the holder's public key is alg_not_allowed."""
    chain = world.chain(2)
    secret = _hs256_secrets(world.agents[1])[0]
    proof = forge(
        world.prove(chain),
        header={"alg": "HS256"},
        signer=lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    err = rejected(world, chain, proof)
    assert (err.code, err.hop) == ("alg_not_allowed", None)


def test_alg_none_proof_is_refused(world: World) -> None:
    """A proof with ``alg: none`` (old signature kept) is alg_not_allowed."""
    chain = world.chain(2)
    err = rejected(world, chain, forge(world.prove(chain), header={"alg": "none"}))
    assert (err.code, err.hop) == ("alg_not_allowed", None)


@pytest.mark.parametrize("alg", [["EdDSA"], {"EdDSA": True}, 1, None, True])
def test_non_string_alg_is_refused(world: World, alg: object) -> None:
    """A header whose ``alg`` is not a string (list, object...) is alg_not_allowed."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, header={"alg": alg})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("alg_not_allowed", 0)


def test_alg_not_matching_the_key_is_refused(world: World, es_world: World) -> None:
    """The algorithm is pinned to the key: ES256 on an Ed25519 key and vice versa are refused."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], header={"alg": "ES256"})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("alg_not_allowed", 0)
    es_chain = es_world.chain(2)
    es_forged = forge(es_chain.tokens[1], header={"alg": "EdDSA"}, signer=es_world.agents[0])
    err = rejected(es_world, with_hop(es_chain, 1, es_forged), es_world.prove(es_chain))
    assert (err.code, err.hop) == ("alg_not_allowed", 1)


def test_verifier_allow_list_is_honoured(world: World, es_world: World) -> None:
    """A verifier allowing only ES256 refuses an EdDSA chain, and vice versa."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), algorithms=["ES256"])
    assert (err.code, err.hop) == ("alg_not_allowed", 0)
    es_chain = es_world.chain(2)
    err = rejected(es_world, es_chain, es_world.prove(es_chain), algorithms=["EdDSA"])
    assert (err.code, err.hop) == ("alg_not_allowed", 0)


def test_ed448_signature_claiming_eddsa_is_refused(world: World) -> None:
    """A token signed with Ed448 but labelled EdDSA never verifies, whatever its kid."""
    chain = world.chain(2)
    priv = ed448.Ed448PrivateKey.generate()
    ed448_kid = b64e(hashlib.sha256(jbytes(dict(sorted(ed448_jwk(priv).items())))).digest())
    root_same_kid = forge(chain.tokens[0], signer=priv.sign)
    err = rejected(world, Chain([root_same_kid]), world.prove(world.chain(1)))
    assert (err.code, err.hop) == ("bad_signature", 0)
    root_own_kid = forge(chain.tokens[0], signer=priv.sign, header={"kid": ed448_kid})
    err = rejected(world, Chain([root_own_kid]), world.prove(world.chain(1)))
    assert (err.code, err.hop) == ("untrusted_root", 0)
    hop_same_kid = forge(chain.tokens[1], signer=priv.sign)
    err = rejected(world, with_hop(chain, 1, hop_same_kid), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 1)


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "b64", "zip"])
@pytest.mark.parametrize("hop", [0, 1])
def test_key_carrying_header_is_refused(world: World, member: str, hop: int) -> None:
    """Keys are never taken from a token: jwk/jku/x5u/x5c... headers are bad_header."""
    chain = world.chain(2)
    attacker = AgentKey.generate(f"{ORG}/agent/mallory")
    values: dict[str, object] = {
        "jwk": attacker.public.jwk,
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "x5c": ["MIIB"],
        "x5t": "abc",
        "x5t#S256": "abc",
        "b64": False,
        "zip": "DEF",
    }
    forged = forge(
        chain.tokens[hop], signer=attacker, header={member: values[member], "kid": attacker.kid}
    )
    err = rejected(world, with_hop(chain, hop, forged), world.prove(chain))
    assert (err.code, err.hop) == ("bad_header", hop)


def test_key_carrying_header_in_proof_is_refused(world: World) -> None:
    """A proof embedding its own ``jwk`` header is bad_header."""
    chain = world.chain(2)
    attacker = AgentKey.generate(world.agents[1].agent)
    proof = forge(
        world.prove(chain),
        signer=attacker,
        header={"jwk": attacker.public.jwk, "kid": attacker.kid},
    )
    err = rejected(world, chain, proof)
    assert (err.code, err.hop) == ("bad_header", None)


@pytest.mark.parametrize("crit", [["exp"], [], ["b64"]])
def test_crit_header_is_refused(world: World, crit: list[str]) -> None:
    """Any ``crit`` header, even empty, is bad_header."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], header={"crit": crit})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("bad_header", 1, "crit")


@pytest.mark.parametrize("kid", [DROP, 42, None])
def test_missing_or_non_string_kid_is_refused(world: World, kid: object) -> None:
    """A header without a string ``kid`` is bad_header."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], header={"kid": kid})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("bad_header", 1, "kid")


@pytest.mark.parametrize(
    "typ", ["JWT", "at+jwt", "DELEG+JWT", "deleg-proof+jwt", "deleg-receipt+jwt", DROP]
)
def test_wrong_token_typ_is_refused(world: World, typ: object) -> None:
    """A validly signed hop whose ``typ`` is not ``deleg+jwt`` is wrong_token_type."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], header={"typ": typ})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop) == ("wrong_token_type", 1)


@pytest.mark.parametrize("typ", ["deleg+jwt", "JWT", "deleg-receipt+jwt", DROP])
def test_wrong_proof_typ_is_refused(world: World, typ: object) -> None:
    """A validly signed proof whose ``typ`` is not ``deleg-proof+jwt`` is wrong_token_type."""
    chain = world.chain(2)
    proof = forge(world.prove(chain), signer=world.agents[1], header={"typ": typ})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop) == ("wrong_token_type", None)


def test_kid_pointing_to_another_key_in_a_hop_is_refused(world: World) -> None:
    """A hop signed by another agent's key and naming it in ``kid`` is bad_signature."""
    chain = world.chain(3)
    for other in (world.agents[4], world.orch, world.agents[1]):
        forged = forge(chain.tokens[1], signer=other, header={"kid": other.kid})
        err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
        assert (err.code, err.hop) == ("bad_signature", 1)


def test_kid_pointing_to_another_root_key_is_refused(world: World) -> None:
    """The root's ``kid`` selects only among that root's registered keys."""
    chain = world.chain(1)
    proof = world.prove(chain)
    second = AgentKey.generate(world.orch.agent)
    world.registry.add_root(world.orch.agent, second.public_jwk())
    lying = forge(chain.tokens[0], signer=world.orch, header={"kid": second.kid})
    err = rejected(world, Chain([lying]), proof)
    assert (err.code, err.hop) == ("bad_signature", 0)
    other_root = AgentKey.generate(f"{ORG}/orchestrator2")
    world.registry.add_root(other_root.agent, other_root.public_jwk())
    cross = forge(chain.tokens[0], signer=other_root, header={"kid": other_root.kid})
    err = rejected(world, Chain([cross]), proof)
    assert (err.code, err.hop) == ("untrusted_root", 0)
    agent_kid = forge(chain.tokens[0], signer=world.agents[0], header={"kid": world.agents[0].kid})
    err = rejected(world, Chain([agent_kid]), proof)
    assert (err.code, err.hop) == ("untrusted_root", 0)
    for junk in ("../../../../dev/null", "' OR 1=1 --", "", "x" * 200):
        err = rejected(world, Chain([forge(chain.tokens[0], header={"kid": junk})]), proof)
        assert (err.code, err.hop) == ("untrusted_root", 0)
    rotated = Chain([forge(chain.tokens[0], signer=second, header={"kid": second.kid})])
    assert world.verifier().verify(rotated, world.prove(rotated), REQ).root == world.orch.agent


def test_inspecting_a_header_cannot_change_verification(world: World) -> None:
    """Editing the header returned by parse_unverified does not change later verdicts."""
    chain = world.chain(1)
    injected = Chain(
        [forge(chain.tokens[0], signer=world.orch, header={"x5u": "https://evil.example/c"})]
    )
    parse_unverified(injected)[0].header.pop("x5u")
    err = rejected(world, injected, world.prove(injected))
    assert (err.code, err.hop) == ("bad_header", 0)


# --------------------------------------------------------------------------------------
# step 3: root
# --------------------------------------------------------------------------------------


def test_untrusted_root_is_refused(world: World) -> None:
    """A chain minted by an orchestrator the registry does not trust is untrusted_root."""
    rogue = AgentKey.generate(f"{ORG}/rogue-orchestrator")
    chain = world.delegator(rogue).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("untrusted_root", 0, "iss")


def test_root_key_not_registered_is_refused(world: World) -> None:
    """A root grant signed by an unregistered key under the trusted root's name is refused."""
    impostor = AgentKey.generate(world.orch.agent)
    chain = world.delegator(impostor).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("untrusted_root", 0)


def test_root_signed_by_agent_with_root_kid_is_refused(world: World) -> None:
    """An agent signing a root grant while naming the orchestrator's kid is bad_signature."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.agents[0])
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 0)


def test_root_naming_a_parent_is_refused(world: World) -> None:
    """A first token carrying ``prf`` does not start at a root grant: broken_link."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, claims={"prf": "A" * 43})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 0, "prf")


@pytest.mark.parametrize("hop", [0, 1, 2])
def test_tampered_payload_with_old_signature_is_refused(world: World, hop: int) -> None:
    """Widening any hop's payload while keeping its signature is bad_signature at that hop."""
    chain = world.chain(3)
    wide = Capability(tool="**", resource="**").to_wire()
    forged = forge(chain.tokens[hop], claims={"caps": [wide]})
    err = rejected(world, with_hop(chain, hop, forged), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", hop)


def test_tampered_proof_with_old_signature_is_refused(world: World) -> None:
    """A proof whose request is changed after signing is bad_signature."""
    chain = world.chain(2)
    other = Request(tool="crm.read", resource="customers/eu/43", args={"max_rows": 10})
    proof = world.prove(chain)
    req = {**decode(proof)[1]["req"], "resource": other.resource}
    proof = forge(proof, claims={"req": req})
    err = rejected(world, chain, proof, request=other)
    assert (err.code, err.hop) == ("bad_signature", None)


# --------------------------------------------------------------------------------------
# step 4: links and identities
# --------------------------------------------------------------------------------------


def test_sibling_parent_substitution_is_refused(world: World) -> None:
    """A validly signed sibling in place of the real parent is broken_link at the child."""
    chain = world.chain(3)
    sibling = extend(world, Chain(chain.tokens[:1]), world.agents[1])
    substituted = Chain([chain.tokens[0], sibling.tokens[1], chain.tokens[2]])
    err = rejected(world, substituted, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "prf")


def test_spliced_chains_are_refused(world: World) -> None:
    """The head of one chain joined to the tail of another is broken_link at the seam."""
    a, b = world.chain(4), world.chain(4)
    spliced = Chain([*a.tokens[:2], *b.tokens[2:]])
    err = rejected(world, spliced, world.prove(b))
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "prf")


@pytest.mark.parametrize(
    ("order", "hop"),
    [([1, 0, 2], 0), ([0, 2, 1], 1), ([2, 1, 0], 0), ([0, 1, 2, 2], 3)],
    ids=["swap-root", "swap-tail", "reverse", "duplicate-leaf"],
)
def test_reordered_chain_is_refused(world: World, order: list[int], hop: int) -> None:
    """Reordering or repeating the tokens of a valid chain is broken_link."""
    chain = world.chain(3)
    err = rejected(world, Chain([chain.tokens[i] for i in order]), world.prove(chain))
    assert (err.code, err.hop) == ("broken_link", hop)


def test_dropped_head_is_refused(world: World) -> None:
    """Dropping the root leaves a first token that names a parent: broken_link."""
    chain = world.chain(3)
    err = rejected(world, Chain(chain.tokens[1:]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 0, "prf")


def test_dropped_middle_hop_is_refused(world: World) -> None:
    """Dropping a middle hop breaks the ``prf`` link."""
    chain = world.chain(3)
    err = rejected(world, Chain([chain.tokens[0], chain.tokens[2]]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 1, "prf")


def test_dropped_tail_cannot_be_used_by_the_original_holder(world: World) -> None:
    """A truncated chain is held by the previous agent: the original holder cannot prove it."""
    chain = world.chain(3)
    truncated = Chain(chain.tokens[:2])
    with pytest.raises(DelegationError) as ei:
        world.prove(truncated, key=world.agents[2])
    assert ei.value.code == "holder_mismatch"
    forged = forge(
        world.prove(chain), signer=world.agents[2], claims={"chn": token_id(truncated.tokens[-1])}
    )
    err = rejected(world, truncated, forged)
    assert (err.code, err.hop) == ("bad_signature", None)
    err = rejected(world, truncated, world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", None)
    verified = world.verifier().verify(truncated, world.prove(truncated), REQ)
    assert verified.holder == world.agents[1].agent


def test_issuer_not_parent_subject_is_refused(world: World) -> None:
    """A hop whose ``iss`` is not its parent's ``sub`` is broken_link."""
    chain = world.chain(2)
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"iss": world.agents[4].agent})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 1, "iss")


@pytest.mark.parametrize("copy_from", [0, 1])
def test_duplicate_jti_in_chain_is_refused(world: World, copy_from: int) -> None:
    """A hop repeating an earlier hop's ``jti`` is broken_link."""
    chain = world.chain(3)
    jti = decode(chain.tokens[copy_from])[1]["jti"]
    forged = forge(chain.tokens[2], signer=world.agents[1], claims={"jti": jti})
    err = rejected(world, with_hop(chain, 2, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("broken_link", 2, "jti")


def test_hop_signed_by_an_ancestor_is_refused(world: World) -> None:
    """Only the parent's bound key may sign a hop: the orchestrator signing hop 2 is refused."""
    chain = world.chain(3)
    forged = forge(chain.tokens[2], signer=world.orch, header={"kid": world.orch.kid})
    err = rejected(world, with_hop(chain, 2, forged), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 2)
    forged_same_kid = forge(chain.tokens[2], signer=world.agents[0])
    err = rejected(world, with_hop(chain, 2, forged_same_kid), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 2)


def test_unregistered_key_under_registered_name_is_refused(world: World) -> None:
    """Binding a key the registry does not list for the agent is key_not_registered."""
    chain = world.chain(1)
    impostor = AgentKey.generate(world.agents[1].agent)
    bad = extend(world, chain, impostor)
    err = rejected(world, bad, world.prove(bad, key=impostor))
    assert (err.code, err.hop, err.claim) == ("key_not_registered", 1, "cnf")


def test_unregistered_agent_is_refused(world: World) -> None:
    """Delegating to an agent id the registry does not know is key_not_registered."""
    chain = world.chain(2)
    stranger = AgentKey.generate(f"{ORG}/agent/stranger")
    bad = extend(world, chain, stranger)
    err = rejected(world, bad, world.prove(bad, key=stranger))
    assert (err.code, err.hop) == ("key_not_registered", 2)


def test_unregistered_root_subject_key_is_refused(world: World) -> None:
    """The root's own ``cnf`` key is re-authenticated against the registry too."""
    impostor = AgentKey.generate(world.agents[0].agent)
    chain = world.delegator(world.orch).mint(
        to=impostor.agent, to_key=impostor, caps=[CAP], ttl=600, task="T-42"
    )
    err = rejected(world, chain, world.prove(chain, key=impostor))
    assert (err.code, err.hop) == ("key_not_registered", 0)


# --------------------------------------------------------------------------------------
# step 5: time
# --------------------------------------------------------------------------------------


def test_child_outliving_parent_is_refused(world: World) -> None:
    """A hop whose ``exp`` is after its parent's is lifetime_exceeded."""
    chain = world.chain(2)
    parent_exp = decode(chain.tokens[0])[1]["exp"]
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"exp": parent_exp + 1})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("lifetime_exceeded", 1, "exp")
    with pytest.raises(DelegationError) as ei:
        extend(world, Chain(chain.tokens[:1]), world.agents[1], ttl=601)
    assert ei.value.code == "lifetime_exceeded"


def test_expired_middle_hop_is_refused(world: World) -> None:
    """When a middle hop has expired the chain is refused, naming that hop."""
    chain = world.delegator(world.orch).mint(
        to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=600, depth=3, task="T-42"
    )
    chain = extend(world, chain, world.agents[1], ttl=100)
    chain = extend(world, chain, world.agents[2], ttl=100)
    world.clock.advance(100 + world.verifier().limits.clock_skew)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("expired", 1, "exp")


def test_expiry_honours_clock_skew_boundary(world: World) -> None:
    """A token is accepted until ``exp + skew`` and expired from that second on."""
    chain = world.chain(1)
    world.clock.advance(600 + 29)
    world.verifier().verify(chain, world.prove(chain), REQ)
    world.clock.advance(1)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("expired", 0)


@pytest.mark.parametrize(("claim", "shift"), [("iat", 3600), ("iat", 31), ("nbf", 31)])
def test_future_issued_token_is_refused(world: World, claim: str, shift: int) -> None:
    """A token issued (``iat``) or valid (``nbf``) beyond the skew in the future is refused."""
    chain = world.chain(1)
    claims: dict[str, object] = {claim: T0 + shift}
    if claim == "iat":
        claims.update(nbf=DROP, exp=T0 + shift + 600)
    forged = forge(chain.tokens[0], signer=world.orch, claims=claims)
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("not_yet_valid", 0, claim)


def test_iat_within_skew_is_accepted(world: World) -> None:
    """An ``iat`` a little in the future (within the skew) is accepted."""
    chain = world.chain(1)
    forged = Chain(
        [forge(chain.tokens[0], signer=world.orch, claims={"iat": T0 + 20, "nbf": T0 + 20})]
    )
    world.verifier().verify(forged, world.prove(forged), REQ)


@pytest.mark.parametrize(
    ("life", "code"),
    [(3601, "lifetime_exceeded"), (0, "lifetime_exceeded"), (-5, "lifetime_exceeded")],
)
def test_token_lifetime_bounds_are_enforced(world: World, life: int, code: str) -> None:
    """``exp - iat`` must be positive and at most the maximum lifetime."""
    chain = world.chain(1)
    forged = forge(chain.tokens[0], signer=world.orch, claims={"exp": T0 + life})
    err = rejected(world, Chain([forged]), world.prove(chain))
    assert (err.code, err.hop, err.claim) == (code, 0, "exp")
    with pytest.raises(DelegationError) as ei:
        world.delegator(world.orch).mint(
            to=world.agents[0].agent, to_key=world.agents[0], caps=[CAP], ttl=life
        )
    assert ei.value.code == code


# --------------------------------------------------------------------------------------
# step 6: attenuation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cap",
    [
        pytest.param(
            {
                "tool": "crm.*",
                "resource": "customers/eu/**",
                "constraints": {"max_rows": {"max": 50}},
            },
            id="tool",
        ),
        pytest.param(
            {"tool": "crm.read", "resource": "**", "constraints": {"max_rows": {"max": 50}}},
            id="resource",
        ),
        pytest.param(
            {
                "tool": "crm.read",
                "resource": "customers/eu/**",
                "constraints": {"max_rows": {"max": 1000}},
            },
            id="constraint-max",
        ),
        pytest.param({"tool": "crm.read", "resource": "customers/eu/**"}, id="constraint-dropped"),
        pytest.param(
            {
                "tool": "crm.read",
                "resource": "customers/eu/**",
                "constraints": {"max_rows": {"min": 1}},
            },
            id="constraint-kind",
        ),
        pytest.param(
            {
                "tool": "crm.write",
                "resource": "customers/eu/**",
                "constraints": {"max_rows": {"max": 50}},
            },
            id="other-tool",
        ),
    ],
)
def test_widening_is_scope_escalation(world: World, cap: dict[str, Any]) -> None:
    """A validly signed hop granting more than its parent is scope_escalation."""
    chain = world.chain(3)
    forged = forge(chain.tokens[2], signer=world.agents[1], claims={"caps": [cap]})
    err = rejected(world, with_hop(chain, 2, forged), world.prove(chain))
    assert (err.code, err.hop, err.claim) == ("scope_escalation", 2, "caps")
    with pytest.raises(DelegationError) as ei:
        extend(world, Chain(chain.tokens[:2]), world.agents[2], caps=[Capability.from_wire(cap)])
    assert ei.value.code == "scope_escalation"


def test_extra_capability_is_scope_escalation(world: World) -> None:
    """Adding a second, uncovered capability next to a covered one is scope_escalation."""
    chain = world.chain(2)
    extra = {"tool": "mail.send", "resource": "**"}
    forged = forge(
        chain.tokens[1], signer=world.agents[0], claims={"caps": [NARROW.to_wire(), extra]}
    )
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop) == ("scope_escalation", 1)


@pytest.mark.parametrize(
    "resource",
    [
        "customers/eu/../us",
        "customers/eu/%2e%2e/us",
        "customers/eu/%2E./us",
        "customers/eu%2f..%2fus/**",
    ],
)
def test_path_trick_in_request_is_invalid_request(resource: str) -> None:
    """A request resource with ``..`` (plain or percent-encoded) is invalid_request at once."""
    with pytest.raises(DelegationError) as ei:
        Request(tool="crm.read", resource=resource, args={"max_rows": 1})
    assert ei.value.code == "invalid_request"


@pytest.mark.parametrize(
    "resource",
    [
        "customers/eu/../us",
        "customers//eu",
        "customers/eu/",
        "/customers",
        "customers/eu/**",
        "customers/*/42",
        "customers/e u",
    ],
)
def test_malformed_request_resource_is_invalid_request(resource: str) -> None:
    """Empty segments, wildcards and spaces in a request resource are invalid_request."""
    with pytest.raises(DelegationError) as ei:
        Request(tool="crm.read", resource=resource)
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
    forged = forge(chain.tokens[1], signer=world.agents[0], raw_payload=raw)
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
    assert (err.code, err.hop) == ("malformed", 1)
    assert isinstance(err.claim, str)
    assert err.claim.startswith("caps")


def test_depth_not_decreasing_is_refused(world: World) -> None:
    """A hop whose ``dpth`` is not below its parent's is depth_exceeded."""
    chain = world.chain(2)
    parent_depth = decode(chain.tokens[0])[1]["dpth"]
    forged = forge(chain.tokens[1], signer=world.agents[0], claims={"dpth": parent_depth})
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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
    forged = forge(chain.tokens[1], signer=world.agents[0], claims=claims)
    err = rejected(world, with_hop(chain, 1, forged), world.prove(chain))
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


# --------------------------------------------------------------------------------------
# step 7: revocation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "hop"),
    [
        ("token", 0, 0),
        ("token", 1, 1),
        ("token", 2, 2),
        ("jti", 0, 0),
        ("jti", 2, 2),
        ("task", None, None),
        ("key", "root", None),
        ("key", 1, None),
    ],
)
def test_revocation_rejects_the_chain(
    world: World, kind: str, target: int | str | None, hop: int | None
) -> None:
    """Revoking any token, jti, the task or a key of the chain makes it revoked."""
    chain = world.chain(3)
    value: str
    if kind == "token":
        assert isinstance(target, int)
        value = token_id(chain.tokens[target])
    elif kind == "jti":
        assert isinstance(target, int)
        value = decode(chain.tokens[target])[1]["jti"]
    elif kind == "task":
        value = "T-42"
    else:
        value = world.orch.kid if target == "root" else world.agents[1].kid
    world.store.revoke(cast("RevocationKind", kind), value)
    err = rejected(world, chain, world.prove(chain))
    assert (err.code, err.hop) == ("revoked", hop)


def test_revoking_a_middle_token_spares_siblings(world: World) -> None:
    """Revoking a middle token rejects every chain below it but not a sibling chain."""
    root = Chain(world.chain(1).tokens)
    mid = extend(world, root, world.agents[1], ttl=500)
    below = extend(world, mid, world.agents[2], ttl=400)
    deeper = extend(world, below, world.agents[3], ttl=300)
    sibling_mid = extend(world, root, world.agents[1], ttl=500)
    sibling = extend(world, sibling_mid, world.agents[2], ttl=400)
    world.store.revoke("token", token_id(mid.tokens[1]))
    for chain in (mid, below, deeper):
        err = rejected(world, chain, world.prove(chain, key=holder_of(world, chain)))
        assert (err.code, err.hop) == ("revoked", 1)
    for chain in (root, sibling_mid, sibling):
        world.verifier().verify(chain, world.prove(chain, key=holder_of(world, chain)), REQ)


def test_expired_revocation_entry_no_longer_applies(world: World) -> None:
    """A revocation with ``until`` in the past no longer rejects."""
    chain = world.chain(2)
    world.store.revoke("token", token_id(chain.tokens[1]), until=T0 - 1)
    world.verifier().verify(chain, world.prove(chain), REQ)


def test_ecdsa_high_s_twin_shares_token_id_and_revocation(es_world: World) -> None:
    """The high-S twin of an ES256 token verifies, keeps its token id, and is revoked with it."""
    chain = es_world.chain(2)
    twin = with_hop(chain, 1, high_s_twin(chain.tokens[1]))
    assert str(twin) != str(chain)
    assert token_id(twin.tokens[1]) == token_id(chain.tokens[1])
    verified = es_world.verifier().verify(twin, es_world.prove(twin), REQ)
    assert verified.token_ids == tuple(token_id(t) for t in chain.tokens)
    root_twin = with_hop(chain, 0, high_s_twin(chain.tokens[0]))
    es_world.verifier().verify(root_twin, es_world.prove(root_twin), REQ)
    es_world.store.revoke("token", token_id(chain.tokens[1]))
    err = rejected(es_world, twin, es_world.prove(twin))
    assert (err.code, err.hop) == ("revoked", 1)
    es_world.store.revoke("jti", decode(chain.tokens[0])[1]["jti"])
    err = rejected(es_world, root_twin, es_world.prove(root_twin))
    assert (err.code, err.hop) == ("revoked", 0)


def test_ecdsa_high_s_proof_twin_is_a_replay(es_world: World) -> None:
    """The high-S twin of a used ES256 proof is proof_replayed (same jti)."""
    chain = es_world.chain(2)
    proof = es_world.prove(chain)
    es_world.verifier().verify(chain, proof, REQ)
    err = rejected(es_world, chain, high_s_twin(proof))
    assert (err.code, err.hop) == ("proof_replayed", None)


def test_ed25519_malleated_signature_is_refused(world: World) -> None:
    """Ed25519 has no twin: S + L (non-canonical) is bad_signature."""
    chain = world.chain(1)
    h64, p64, s64 = chain.tokens[0].split(".")
    sig = b64d(s64)
    s = int.from_bytes(sig[32:], "little") + ED25519_L
    twin = f"{h64}.{p64}.{b64e(sig[:32] + s.to_bytes(32, 'little'))}"
    err = rejected(world, Chain([twin]), world.prove(chain))
    assert (err.code, err.hop) == ("bad_signature", 0)


class FailingStore:
    """A revocation store and replay cache whose backend is down."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def revoke(self, kind: str, value: str, *, until: float | None = None) -> None:
        raise self.exc

    def first_revoked(self, items: list[tuple[str, str]], now: float) -> tuple[str, str] | None:
        raise self.exc

    def first_use(self, jti: str, *, expires_at: float, now: float) -> bool:
        raise self.exc


def test_revocation_store_unavailable_denies(world: World) -> None:
    """A revocation store raising StoreUnavailable makes verification store_unavailable."""
    chain = world.chain(2)
    err = rejected(
        world, chain, world.prove(chain), revocations=FailingStore(StoreUnavailable("redis down"))
    )
    assert err.code == "store_unavailable"


def test_replay_cache_unavailable_denies(world: World) -> None:
    """A replay cache raising StoreUnavailable makes verification store_unavailable."""
    chain = world.chain(2)
    err = rejected(
        world, chain, world.prove(chain), replay=FailingStore(StoreUnavailable("redis down"))
    )
    assert err.code == "store_unavailable"


def test_revocation_store_crash_is_internal_error(world: World) -> None:
    """A revocation store raising a foreign exception denies with internal_error."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), revocations=FailingStore(RuntimeError("x")))
    assert err.code == "internal_error"


class SizedStore(MemoryStore):
    """A store that reports how many revocations it holds (``len`` 0 when empty)."""

    def __len__(self) -> int:
        return len(self._revoked)


def test_empty_sized_revocation_store_is_still_used(world: World) -> None:
    """A store that is falsy while empty is still the one consulted (never silently replaced)."""
    chain = world.chain(2)
    for replay in (None, "same", "shared"):
        store = SizedStore()
        other = {None: None, "same": store, "shared": world.store}[replay]
        verifier = world.verifier(revocations=store, replay=other)
        store.revoke("token", token_id(chain.tokens[1]))
        with pytest.raises(DelegationError) as ei:
            verifier.verify(chain, world.prove(chain), REQ)
        assert (ei.value.code, ei.value.hop) == ("revoked", 1)


# --------------------------------------------------------------------------------------
# step 8: proof of possession
# --------------------------------------------------------------------------------------


def test_proof_by_an_ancestor_key_is_refused(world: World) -> None:
    """A proof signed by an ancestor (not the leaf's bound key) is refused."""
    chain = world.chain(3)
    for ancestor in (world.agents[0], world.agents[1], world.orch):
        with pytest.raises(DelegationError) as ei:
            world.prove(chain, key=ancestor)
        assert ei.value.code == "holder_mismatch"
        forged = forge(
            world.prove(chain),
            signer=ancestor,
            header={"kid": ancestor.kid},
            claims={"iss": ancestor.agent},
        )
        err = rejected(world, chain, forged)
        assert (err.code, err.hop) == ("bad_signature", None)
        same_kid = forge(world.prove(chain), signer=ancestor)
        err = rejected(world, chain, same_kid)
        assert (err.code, err.hop) == ("bad_signature", None)


def test_proof_issuer_other_than_holder_is_refused(world: World) -> None:
    """A proof signed by the bound key but naming another ``iss`` is holder_mismatch."""
    chain = world.chain(2)
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"iss": world.agents[0].agent})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == ("holder_mismatch", None, "iss")


@pytest.mark.parametrize("aud", [f"{ORG}/tool/mail", f"{TOOL_AUD}/", f"{ORG}/TOOL/crm"])
def test_proof_for_another_audience_is_refused(world: World, aud: str) -> None:
    """A proof addressed to another verifier is audience_mismatch."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain, aud=aud))
    assert (err.code, err.hop, err.claim) == ("audience_mismatch", None, "aud")


@pytest.mark.parametrize(
    "request_",
    [
        Request(tool="crm.read", resource="customers/eu/43", args={"max_rows": 10}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 11}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 10, "x": 1}),
        Request(tool="crm.read", resource="customers/eu/42"),
    ],
    ids=["resource", "args-value", "args-extra", "args-none"],
)
def test_proof_for_another_request_is_refused(world: World, request_: Request) -> None:
    """A proof for one request does not authorize a different request: proof_mismatch."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), request=request_)
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "req")


def test_proof_binds_the_arguments_of_a_copied_request(world: World) -> None:
    """A request derived with ``model_copy(update=...)`` is bound by its own arguments."""
    chain = world.chain(2)
    derived = REQ.model_copy(update={"args": {"max_rows": 49}})
    err = rejected(world, chain, world.prove(chain), request=derived)
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "req")


def test_proof_for_another_tool_is_refused(world: World) -> None:
    """A proof for ``crm.read`` does not authorize ``crm.write``: proof_mismatch."""
    chain = world.chain(1)
    other = Request(tool="crm.write", resource="customers/eu/42", args={"max_rows": 10})
    err = rejected(world, chain, world.prove(chain), request=other)
    assert (err.code, err.claim) == ("proof_mismatch", "req")


def test_proof_for_another_leaf_is_refused(world: World) -> None:
    """A proof made for one chain does not work with another chain of the same holder."""
    first, second = world.chain(2), world.chain(2)
    err = rejected(world, first, world.prove(second))
    assert (err.code, err.hop, err.claim) == ("proof_mismatch", None, "chn")


def test_stale_proof_is_refused(world: World) -> None:
    """A proof past ``exp + skew`` is expired; one second earlier it is accepted."""
    chain = world.chain(2)
    fresh = world.prove(chain, ttl=60)
    stale = world.prove(chain, ttl=60)
    world.clock.advance(60 + 29)
    world.verifier().verify(chain, fresh, REQ)
    world.clock.advance(1)
    err = rejected(world, chain, stale)
    assert (err.code, err.hop, err.claim) == ("expired", None, "exp")


def test_replayed_proof_is_refused(world: World) -> None:
    """A proof is single use, also across verifiers sharing the replay cache."""
    chain = world.chain(2)
    proof = world.prove(chain)
    world.verifier().verify(chain, proof, REQ)
    err = rejected(world, chain, proof)
    assert (err.code, err.hop) == ("proof_replayed", None)
    assert err.jti == decode(proof)[1]["jti"]


def test_rejected_proof_is_not_consumed(world: World) -> None:
    """A proof refused before the replay step keeps its jti unused."""
    chain = world.chain(2)
    proof = world.prove(chain)
    other = AgentKey.generate(f"{ORG}/agent/elsewhere")
    assert rejected(world, chain, proof, audience=other.agent).code == "audience_mismatch"
    world.verifier().verify(chain, proof, REQ)


@pytest.mark.parametrize(
    ("life", "code"),
    [(121, "lifetime_exceeded"), (3600, "lifetime_exceeded"), (0, "lifetime_exceeded")],
)
def test_proof_lifetime_is_bounded(world: World, life: int, code: str) -> None:
    """A proof living longer than 120 s (or not at all) is lifetime_exceeded."""
    chain = world.chain(2)
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"exp": T0 + life})
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == (code, None, "exp")
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, ttl=life)
    assert ei.value.code == code


def test_future_proof_is_refused(world: World) -> None:
    """A proof issued beyond the skew in the future is not_yet_valid."""
    chain = world.chain(2)
    proof = forge(
        world.prove(chain), signer=world.agents[1], claims={"iat": T0 + 3600, "exp": T0 + 3660}
    )
    err = rejected(world, chain, proof)
    assert (err.code, err.hop, err.claim) == ("not_yet_valid", None, "iat")


@pytest.mark.parametrize(
    "request_",
    [
        Request(tool="crm.read", resource="customers/us/42", args={"max_rows": 10}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": 51}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": "10"}),
        Request(tool="crm.read", resource="customers/eu/42", args={"max_rows": True}),
        Request(tool="crm.read", resource="customers/eu/42", args={}),
        Request(tool="crm.delete", resource="customers/eu/42", args={"max_rows": 1}),
    ],
    ids=["resource", "over-max", "string-number", "bool", "absent", "tool"],
)
def test_request_beyond_the_leaf_is_not_granted(world: World, request_: Request) -> None:
    """A holder-signed proof for a request outside its capabilities is action_not_granted."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.prove(chain, request=request_)
    assert ei.value.code == "action_not_granted"
    digest = b64e(hashlib.sha256(rfc8785.dumps(request_.args)).digest())
    req = {"tool": request_.tool, "resource": request_.resource, "args": digest}
    proof = forge(world.prove(chain), signer=world.agents[1], claims={"req": req})
    err = rejected(world, chain, proof, request=request_)
    assert (err.code, err.hop) == ("action_not_granted", None)


# --------------------------------------------------------------------------------------
# limits
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "code", "hop"),
    [
        (Limits(max_chain_length=2), "oversized", None),
        (Limits(max_token_bytes=256), "oversized", 0),
        (Limits(max_caps_per_token=0), "oversized", 0),
        (Limits(max_token_lifetime=300), "lifetime_exceeded", 0),
        (Limits(max_proof_lifetime=30), "lifetime_exceeded", None),
    ],
    ids=["chain-length", "token-bytes", "caps", "token-lifetime", "proof-lifetime"],
)
def test_limits_are_honoured(world: World, limits: Limits, code: str, hop: int | None) -> None:
    """Tighter ``Limits`` reject a chain that the defaults accept."""
    chain = world.chain(3)
    world.verifier().verify(chain, world.prove(chain), REQ)
    err = rejected(world, chain, world.prove(chain, ttl=60), limits=limits)
    assert (err.code, err.hop) == (code, hop)


def test_clock_skew_limit_is_honoured(world: World) -> None:
    """With zero skew a token is expired at ``exp``; with the default it is not."""
    chain = world.chain(1)
    world.clock.advance(600)
    world.verifier().verify(chain, world.prove(chain), REQ)
    err = rejected(world, chain, world.prove(chain), limits=Limits(clock_skew=0))
    assert (err.code, err.hop) == ("expired", 0)


def test_raised_limits_admit_larger_tokens(world: World) -> None:
    """A token over the default 8 KiB verifies when the limit is raised."""
    chain = world.chain(1)
    root = parse_unverified(chain)[0].claims
    padding = [{"tool": f"pad{i}", "resource": "r/" + "a" * 900} for i in range(8)]
    caps = [c.to_wire() for c in root.caps] + padding
    big = Chain(
        [forge(chain.tokens[0], signer=world.orch, claims={"pur": "x" * 1024, "caps": caps})]
    )
    proof = world.prove(big)
    assert rejected(world, big, proof).code == "oversized"
    world.verifier(limits=Limits(max_token_bytes=16 * 1024)).verify(big, proof, REQ)


# --------------------------------------------------------------------------------------
# step 9: policy
# --------------------------------------------------------------------------------------


class DenyAll:
    """A policy that denies everything."""

    digest = "deny-all"

    def decide(self, context: PolicyContext) -> Decision:
        return Decision("deny", ("no-crm-at-night",), "no CRM reads at night")


class Crashing:
    """A policy whose evaluation fails."""

    digest = "crashing"

    def decide(self, context: PolicyContext) -> Decision:
        raise ValueError("policy engine exploded")


def test_policy_denial_is_policy_denied(world: World) -> None:
    """A verifier policy that denies yields policy_denied, and the audit names its rule."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), policy=DenyAll())
    assert (err.code, err.hop) == ("policy_denied", None)
    assert world.audit.records[-1]["policy"] == {
        "effect": "deny",
        "rules": ["no-crm-at-night"],
        "digest": "deny-all",
    }


def test_policy_crash_is_internal_error(world: World) -> None:
    """A policy raising a foreign exception denies with internal_error."""
    chain = world.chain(2)
    err = rejected(world, chain, world.prove(chain), policy=Crashing())
    assert err.code == "internal_error"
    assert isinstance(err.__cause__, ValueError)


# --------------------------------------------------------------------------------------
# step 10: audit
# --------------------------------------------------------------------------------------


class DownAudit:
    """An audit sink whose backend fails."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def append(self, event: AuditEvent) -> None:
        raise self.exc


def test_audit_unavailable_turns_allow_into_store_unavailable(world: World) -> None:
    """An otherwise allowed verification whose audit append fails raises store_unavailable."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(StoreUnavailable("disk full"))).verify(
            chain, world.prove(chain), REQ
        )
    assert ei.value.code == "store_unavailable"


def test_audit_unavailable_on_denial_is_store_unavailable(world: World) -> None:
    """A denial that cannot be audited is still a denial, reported as store_unavailable."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(StoreUnavailable("disk full"))).verify(
            chain, world.prove(chain, aud=f"{ORG}/tool/mail"), REQ
        )
    assert ei.value.code == "store_unavailable"
    assert isinstance(ei.value.__cause__, DelegationError)
    assert ei.value.__cause__.code == "audience_mismatch"


def test_audit_sink_crash_is_a_delegation_error(world: World) -> None:
    """An audit sink raising a foreign exception denies with store_unavailable (fail closed)."""
    chain = world.chain(2)
    with pytest.raises(DelegationError) as ei:
        world.verifier(audit=DownAudit(OSError("disk"))).verify(chain, world.prove(chain), REQ)
    assert ei.value.code == "store_unavailable"


def test_every_denial_is_audited_with_its_code(world: World) -> None:
    """A run of different denials leaves one deny record each, in order, with its code."""
    chain = world.chain(3)
    attempts: list[tuple[Chain, str, str]] = [
        (Chain(chain.tokens[1:]), world.prove(chain), "broken_link"),
        (chain, world.prove(chain, aud=f"{ORG}/tool/mail"), "audience_mismatch"),
        (chain, forge(world.prove(chain), header={"alg": "none"}), "alg_not_allowed"),
        (
            with_hop(chain, 1, forge(chain.tokens[1], claims={"dpth": 9})),
            world.prove(chain),
            "bad_signature",
        ),
    ]
    audit = MemoryAudit()
    verifier = world.verifier(audit=audit)
    for bad_chain, proof, code in attempts:
        with pytest.raises(DelegationError) as ei:
            verifier.verify(bad_chain, proof, REQ)
        assert ei.value.code == code
    assert [(r["decision"], r["code"]) for r in audit.records] == [
        ("deny", code) for _, _, code in attempts
    ]
    verifier.verify(chain, world.prove(chain), REQ)
    assert audit.records[-1]["decision"] == "allow"


def test_verify_chain_without_proof_applies_steps_one_to_seven(world: World) -> None:
    """``verify_chain`` accepts a valid chain and refuses a forged one with the same code."""
    chain = world.chain(3)
    assert world.verifier().verify_chain(chain).remaining_depth >= 0
    forged = forge(chain.tokens[2], signer=world.agents[1], claims={"dpth": 9})
    with pytest.raises(DelegationError) as ei:
        world.verifier().verify_chain(with_hop(chain, 2, forged))
    assert (ei.value.code, ei.value.hop) == ("depth_exceeded", 2)


def test_chain_grants_only_is_the_explicit_default(world: World) -> None:
    """A verifier built with ChainGrantsOnly allows exactly what the chain grants."""
    chain = world.chain(2)
    verified = world.verifier(policy=ChainGrantsOnly()).verify(chain, world.prove(chain), REQ)
    assert verified.decision is not None
    assert verified.decision.allowed
