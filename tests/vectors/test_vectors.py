"""Test vectors as data: RFC 8037, Wycheproof (Ed25519, ECDSA P-256, JWS), our chains.

* ``rfc8037.json`` (here): the RFC's Ed25519 JWK, thumbprint and known-answer JWS, plus
  derived mutations.
* Wycheproof files are read in place from ``<repo>/../shared/vectors/wycheproof/`` (CI
  checks ``shared/`` out beside the clone); they are too big to copy.
* ``chains.json`` (here): delegation chains written once by ``make_chains.py``.

Every invalid vector asserts the exact error code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from delegation import (
    AgentKey,
    Chain,
    ChainGrantsOnly,
    DelegationError,
    FixedClock,
    InvalidKey,
    PublicKey,
    Registry,
    Request,
    VerifiedChain,
    Verifier,
    thumbprint,
    tokens,
)
from delegation._jose import b64url_decode, b64url_encode, split_compact
from delegation.checks import header_problem, signature_problem
from delegation.keys import Backend
from delegation.tokens import TOKEN_TYP, UnverifiedToken

HERE = Path(__file__).resolve().parent
WYCHEPROOF = HERE / "wycheproof"  # copied from shared/vectors/wycheproof, see its README

RFC8037 = json.loads((HERE / "rfc8037.json").read_text(encoding="utf-8"))
CHAINS = json.loads((HERE / "chains.json").read_text(encoding="utf-8"))

# Vectors whose expected outcome the library does not give yet. strict=True: when a bug
# is fixed the xfail fails, and its entry must go.
KNOWN_BUGS: dict[str, str] = {}


def _param(id: str, *values: Any) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[id])] if id in KNOWN_BUGS else []
    return pytest.param(*values, id=id, marks=marks)


DEFAULT_ALGORITHMS = Verifier(
    registry=Registry(), audience="urn:example:tool", policy=ChainGrantsOnly()
).algorithms  # the allow-list a Verifier gets when none is given


def check_compact_jws(compact: str, key: PublicKey, *, kid_label: str | None = None) -> bytes:
    """Run one compact JWS through the verifier's own JOSE layer; return the payload.

    No rule is re-implemented here. Parsing is delegation's reader (``split_compact``,
    canonical base64url, the header reader of ``parse_jws`` with its size limit and strict
    JSON); the header rules are :func:`delegation.checks.header_problem` under the
    verifier's default allow-list, and the signature :func:`delegation.checks.signature_problem`
    (``kid`` must name the key, ``alg`` is pinned to it). The vectors predate our profile:
    they carry no ``typ`` and label their key ``kid_label`` (or nothing) where a token names
    the key's thumbprint. Only those two members are supplied, as a registry resolving the
    label would; every other member is the vector's own. Raises the check's coded error.
    """
    h64, p64, s64 = split_compact(compact, what="JWS")
    header = tokens._header(h64, "JWS")
    payload = b64url_decode(p64, what="JWS payload")
    signature = b64url_decode(s64, what="JWS signature")
    seen = {"typ": TOKEN_TYP, "kid": key.kid, **header}
    if kid_label is not None and seen["kid"] == kid_label:
        seen["kid"] = key.kid
    token = UnverifiedToken(
        raw=compact,
        header=seen,
        claims=None,
        signing_input=f"{h64}.{p64}".encode("ascii"),
        signature=signature,
        token_id="",
    )
    problem = header_problem(seen, TOKEN_TYP, hop=0, algorithms=DEFAULT_ALGORITHMS) or (
        signature_problem(token, key, hop=0, whose="the vector's key")
    )
    if problem is not None:
        raise problem
    return payload


# --- RFC 8037 Appendix A --- #


def test_rfc8037_public_jwk_loads_with_its_thumbprint() -> None:
    """The RFC 8037 A.2 public JWK loads as an EdDSA key whose kid is the A.3 thumbprint."""
    key = PublicKey.from_jwk(RFC8037["public_jwk"])
    assert key.alg == "EdDSA"
    assert key.kid == RFC8037["jwk_thumbprint_sha256"]
    assert thumbprint(RFC8037["public_jwk"]) == RFC8037["jwk_thumbprint_sha256"]
    assert PublicKey.from_jwk({**RFC8037["public_jwk"], "kid": key.kid}).kid == key.kid


def test_rfc8037_private_jwk_loads_with_agent_member_or_argument() -> None:
    """The A.1 private JWK loads with an ``agent`` member or argument and matches A.2."""
    agent = "urn:example:rfc8037"
    by_member = AgentKey.from_jwk({**RFC8037["private_jwk"], "agent": agent})
    by_argument = AgentKey.from_jwk(RFC8037["private_jwk"], agent=agent)
    for key in (by_member, by_argument):
        assert key.agent == agent
        assert key.kid == RFC8037["jwk_thumbprint_sha256"]
        assert key.public.jwk["x"] == RFC8037["public_jwk"]["x"]
        assert key.private_jwk()["d"] == RFC8037["private_jwk"]["d"]
    with pytest.raises(InvalidKey) as excinfo:
        AgentKey.from_jwk(RFC8037["private_jwk"])
    assert excinfo.value.code == "invalid_key"


def test_rfc8037_known_answer_signature_verifies() -> None:
    """The A.4 signature verifies over its signing input under the A.2 public key."""
    h64, p64, s64 = RFC8037["jws"]["compact"].split(".")
    key = PublicKey.from_jwk(RFC8037["public_jwk"])
    assert json.loads(b64url_decode(h64)) == RFC8037["jws"]["protected_header"]
    assert b64url_decode(p64).decode("utf-8") == RFC8037["jws"]["payload_text"]
    assert key.verify(b64url_decode(s64), f"{h64}.{p64}".encode("ascii")) is True


def test_rfc8037_private_key_resigns_identically() -> None:
    """Ed25519 is deterministic: the A.1 key re-signs A.4's input to the RFC's signature."""
    h64, p64, s64 = RFC8037["jws"]["compact"].split(".")
    key = AgentKey.from_jwk(RFC8037["private_jwk"], agent="urn:example:rfc8037")
    assert b64url_encode(key.sign(f"{h64}.{p64}".encode("ascii"))) == s64


@pytest.mark.parametrize("case", [_param(f"rfc8037-{c['id']}", c) for c in RFC8037["cases"]])
def test_rfc8037_jws_cases(case: dict[str, Any]) -> None:
    """Each RFC 8037 JWS case verifies, or is refused with its expected code."""
    key = PublicKey.from_jwk(RFC8037["public_jwk"])
    if case["result"] == "valid":
        check_compact_jws(case["jws"], key)
        return
    with pytest.raises(DelegationError) as excinfo:
        check_compact_jws(case["jws"], key)
    assert excinfo.value.code == case["expected_code"]


# --- Wycheproof --- #


def _wycheproof(name: str) -> dict[str, Any] | None:
    path = WYCHEPROOF / name
    if not path.is_file():
        return None
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def _missing(name: str) -> None:
    pytest.fail(
        f"Wycheproof vectors not found at {WYCHEPROOF / name} "
        "(tests/vectors/wycheproof holds the copied vectors)"
    )


def _group_jwk(group: dict[str, Any]) -> dict[str, Any]:
    """The group's public JWK, built from the raw key when the group has none.

    Wycheproof labels every JWK ``"kid": "none"``; our reader requires a ``kid`` to be
    the RFC 7638 thumbprint, so the label (metadata, not key material) is dropped.
    """
    jwk = group.get("publicKeyJwk")
    if jwk is None:
        raw = group["publicKey"]
        if raw["type"] == "EDDSAPublicKey":
            jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes.fromhex(raw["pk"]))}
        else:
            point = bytes.fromhex(raw["uncompressed"])  # 04 || x || y
            jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url_encode(point[1:33]),
                "y": b64url_encode(point[33:65]),
            }
    return {k: v for k, v in jwk.items() if k != "kid"}


def _signature_params(name: str, prefix: str) -> list[Any]:
    data = _wycheproof(name)
    if data is None:  # fail at run time, with a message, rather than at collection
        return [pytest.param(None, None, False, id=f"{prefix}-missing")]
    params = []
    for group in data["testGroups"]:
        all_invalid = all(t["result"] == "invalid" for t in group["tests"])
        jwk = _group_jwk(group)
        for t in group["tests"]:
            params.append(_param(f"{prefix}-tc{t['tcId']}", jwk, t, all_invalid))
    return params


def _check_signature_case(
    jwk: dict[str, Any] | None,
    case: dict[str, Any] | None,
    invalid_key_group: bool,
    alg: str,
    source: str,
    backend: Backend | None = None,
) -> None:
    if jwk is None or case is None:
        _missing(source)
        return
    try:
        key = PublicKey.from_jwk(jwk)
    except InvalidKey:
        assert invalid_key_group, "from_jwk refused the key of a group with valid cases"
        return
    assert key.alg == alg
    verdict = key.is_valid(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]), backend=backend)
    if case["result"] == "acceptable":
        assert isinstance(verdict, bool)
    else:
        assert verdict is (case["result"] == "valid"), case["comment"]


@pytest.mark.parametrize("backend", ["cryptography", "nacl"])
@pytest.mark.parametrize(
    ("jwk", "case", "invalid_key_group"), _signature_params("ed25519_test.json", "ed25519")
)
def test_wycheproof_ed25519(
    jwk: dict[str, Any] | None,
    case: dict[str, Any] | None,
    invalid_key_group: bool,
    backend: Backend,
) -> None:
    """Both Ed25519 backends (OpenSSL and libsodium) give Wycheproof's verdict on every case."""
    _check_signature_case(jwk, case, invalid_key_group, "EdDSA", "ed25519_test.json", backend)


@pytest.mark.parametrize(
    ("jwk", "case", "invalid_key_group"),
    _signature_params("ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa-p256"),
)
def test_wycheproof_ecdsa_p256_p1363(
    jwk: dict[str, Any] | None, case: dict[str, Any] | None, invalid_key_group: bool
) -> None:
    """PublicKey.verify gives Wycheproof's verdict on every P-256 raw r||s (JWS ES256) case."""
    _check_signature_case(
        jwk, case, invalid_key_group, "ES256", "ecdsa_secp256r1_sha256_p1363_test.json"
    )


@pytest.mark.parametrize("name", ["ed25519_test.json", "ecdsa_secp256r1_sha256_p1363_test.json"])
def test_wycheproof_every_case_is_collected(name: str) -> None:
    """Every case the file announces (numberOfTests) becomes one parametrized test."""
    data = _wycheproof(name)
    if data is None:
        _missing(name)
        return
    assert len(_signature_params(name, "x")) == data["numberOfTests"]


def _jws_group_is_ours(group: dict[str, Any]) -> bool:
    """Groups whose verification key is one our algorithms use (Ed25519 or P-256)."""
    jwk = group.get("public", {})
    return (jwk.get("kty"), jwk.get("crv")) in {("OKP", "Ed25519"), ("EC", "P-256")}


# Wycheproof's JWS file gives only valid/invalid; the code delegation must give for each
# invalid case is stated here, by what the case attacks (reviewed case by case).
_JWS_SIGNATURE_CASES = {19, 22, 25, *range(379, 402)}
WYCHEPROOF_JWS_CODES: dict[int, str] = {
    **dict.fromkeys(_JWS_SIGNATURE_CASES, "bad_signature"),  # bits changed or r/s out of range
    20: "malformed",  # header.payload. : an empty part is not a compact JWS
    21: "malformed",  # header.payload: no signature part
    23: "malformed",  # header..signature: empty payload
    24: "malformed",  # header..signature minus a separator
    26: "malformed",  # missing header: empty JSON
    27: "malformed",
    28: "malformed",
    29: "malformed",
    30: "malformed",  # the empty string
    31: "alg_not_allowed",  # HS256 with the EC key as an HMAC secret
    32: "bad_header",  # attacker-provided embedded jwk
    354: "invalid_key",  # an encryption key (use=enc) is refused when loaded
    356: "invalid_key",  # key_ops without verify
}


def _jws_params() -> list[Any]:
    data = _wycheproof("json_web_signature_test.json")
    if data is None:
        return [pytest.param(None, None, None, id="jws-missing")]
    return [
        _param(
            f"jws-tc{t['tcId']}",
            {k: v for k, v in g["public"].items() if k != "kid"},
            g["public"].get("kid"),
            t,
        )
        for g in data["testGroups"]
        if _jws_group_is_ours(g)
        for t in g["tests"]
    ]


@pytest.mark.parametrize(("jwk", "kid_label", "case"), _jws_params())
def test_wycheproof_jws(
    jwk: dict[str, Any] | None, kid_label: str | None, case: dict[str, Any] | None
) -> None:
    """Compact JWS cases for P-256/Ed25519 keys get Wycheproof's verdict from the verifier's
    own parsing, header and signature checks; each invalid case with its exact code."""
    if case is None:
        _missing("json_web_signature_test.json")
        return
    expected = WYCHEPROOF_JWS_CODES.get(case["tcId"])
    assert (expected is None) is (case["result"] == "valid"), "WYCHEPROOF_JWS_CODES is stale"
    if expected == "invalid_key":  # the key itself is refused before any JWS is read
        with pytest.raises(InvalidKey) as refused:
            PublicKey.from_jwk(jwk)
        assert refused.value.code == expected
        return
    key = PublicKey.from_jwk(jwk)
    if expected is None:
        check_compact_jws(case["jws"], key, kid_label=kid_label)
        return
    with pytest.raises(DelegationError) as excinfo:
        check_compact_jws(case["jws"], key, kid_label=kid_label)
    assert excinfo.value.code == expected, excinfo.value.message


def test_wycheproof_jws_filter_keeps_our_groups() -> None:
    """The JWS group filter keeps the ES256 groups and drops HMAC/RSA/P-521 ones."""
    data = _wycheproof("json_web_signature_test.json")
    if data is None:
        _missing("json_web_signature_test.json")
        return
    groups = data["testGroups"]
    kept = {g["comment"] for g in groups if _jws_group_is_ours(g)}
    assert {"es256", "SpecialCaseEs256", "ec_key_for_encryption"} <= kept
    assert not kept & {"hs256", "rs256", "ps256", "base64"}


# --- our chains --- #


def _chain_verifier() -> Verifier:
    return Verifier(
        registry=Registry.from_json(CHAINS["registry"]),
        audience=CHAINS["audience"],
        policy=ChainGrantsOnly(),
        clock=FixedClock(CHAINS["now"]),
    )


@pytest.mark.parametrize("case", [_param(f"chain-{c['id']}", c) for c in CHAINS["cases"]])
@pytest.mark.parametrize("backend", ["cryptography", "nacl"])
def test_chain_vectors(
    case: dict[str, Any], backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stored chain, proof and request is allowed, or refused with its exact code and hop,
    with either Ed25519 backend."""
    monkeypatch.setattr("delegation.keys.ED25519_BACKEND", backend)
    verifier = _chain_verifier()
    chain = "~".join(case["chain"])
    request = Request(**case["request"])
    if case["result"] == "valid":
        verified = verifier.verify(chain, case["proof"], request)
        assert isinstance(verified, VerifiedChain)
        assert verified.holder == case["holder"]
        assert verified.depth == case["depth"]
        assert verified.chain == Chain(case["chain"])
        return
    with pytest.raises(DelegationError) as excinfo:
        verifier.verify(chain, case["proof"], request)
    assert (excinfo.value.code, excinfo.value.hop) == (case["expected_code"], case["expected_hop"])


def test_chain_vectors_file_shape() -> None:
    """chains.json has a source, unique ids, both verdicts and every required attack."""
    assert CHAINS["source"]
    assert CHAINS["comment"]
    ids = [c["id"] for c in CHAINS["cases"]]
    assert len(ids) == len(set(ids)) >= 25
    for c in CHAINS["cases"]:
        assert c["comment"]
        assert c["result"] in ("valid", "invalid")
        assert ("expected_code" in c) is (c["result"] == "invalid")
    required = {
        "valid-eddsa-1hop", "valid-eddsa-2hop", "valid-eddsa-3hop", "valid-es256-1hop",
        "valid-es256-2hop", "valid-es256-3hop", "tampered-payload", "swapped-signature",
        "dropped-middle-hop", "reordered-hops", "truncated-head", "widened-scope",
        "widened-resource", "dropped-constraint", "depth-cheat", "child-outliving-parent",
        "expired-hop", "future-iat", "wrong-proof-audience", "proof-for-another-request",
        "proof-for-another-chain", "proof-signed-by-ancestor", "untrusted-root",
        "unregistered-key", "alg-none", "alg-hs256", "typ-swap-proof-typ", "header-jwk",
        "header-crit", "duplicate-json-key-payload", "non-canonical-base64",
    }  # fmt: skip
    assert required <= set(ids)


def test_chain_vectors_registry_round_trips() -> None:
    """The stored registry reads back to the same JSON (so the vectors use the file format)."""
    assert Registry.from_json(CHAINS["registry"]).to_json() == CHAINS["registry"]
