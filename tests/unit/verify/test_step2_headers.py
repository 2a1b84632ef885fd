"""Step 2, headers: the algorithm allow-list bound to the key, closed headers, typ and kid.

Each test attacks one check and asserts the exact stable ``code`` of the rejection (and
``hop`` where it names a token); tokens the Delegator refuses to sign are forged with
:mod:`forging`.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from forging import DROP, b64d, b64e, forge, jbytes
from support import ORG, REQ, World
from verify_support import ed448_jwk, rejected, rejected_forgery, with_hop

from delegation import AgentKey, Chain, parse_unverified


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
    err = rejected_forgery(
        world,
        chain,
        1,
        header={"alg": "HS256"},
        signer=lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
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
    err = rejected_forgery(world, chain, 1, signer=priv.sign)
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
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], header={"crit": crit})
    assert (err.code, err.hop, err.claim) == ("bad_header", 1, "crit")


@pytest.mark.parametrize("kid", [DROP, 42, None])
def test_missing_or_non_string_kid_is_refused(world: World, kid: object) -> None:
    """A header without a string ``kid`` is bad_header."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], header={"kid": kid})
    assert (err.code, err.hop, err.claim) == ("bad_header", 1, "kid")


@pytest.mark.parametrize(
    "typ", ["JWT", "at+jwt", "DELEG+JWT", "deleg-proof+jwt", "deleg-receipt+jwt", DROP]
)
def test_wrong_token_typ_is_refused(world: World, typ: object) -> None:
    """A validly signed hop whose ``typ`` is not ``deleg+jwt`` is wrong_token_type."""
    chain = world.chain(2)
    err = rejected_forgery(world, chain, 1, signer=world.agents[0], header={"typ": typ})
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
