"""Generate ``tests/vectors/chains.json``: delegation chains with fixed keys and times.

Run once from the repository root, and commit the result::

    python tests/vectors/make_chains.py

Keys are fixed (Ed25519 from fixed 32-byte seeds, P-256 from fixed scalars), and every
token is minted on a :class:`~delegation.FixedClock`, so the file never goes stale.
``jti`` values and ES256 signatures are random, so a rerun rewrites the tokens; the
cases and their expected results stay the same. Tokens that a :class:`~delegation.Delegator`
refuses to produce (widening, ``alg: none``, duplicate JSON members...) are forged by
hand: the header and payload JSON are written out, base64url-encoded, and the signing
input is signed with the right private key through :meth:`AgentKey.sign`.

After writing, the script verifies every case with the library and lists any case whose
outcome differs from the expected one; the file keeps the *expected* outcome (the spec),
so such a difference is a bug for the test suite to show.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from delegation import (
    AgentKey,
    Capability,
    Chain,
    ChainGrantsOnly,
    DelegationError,
    Delegator,
    FixedClock,
    Registry,
    Request,
    Verifier,
)

OUT = Path(__file__).resolve().parent / "chains.json"

NOW = 1_800_000_000  # the verifier's "now" (2027-01-15T08:00:00Z)
ORG = "spiffe://acme.example"
AUDIENCE = f"{ORG}/tool/crm"
REQUEST: dict[str, Any] = {
    "tool": "crm.read",
    "resource": "customers/eu/42",
    "args": {"max_rows": 10},
}
P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)

ROOT_CAP = Capability(
    tool="crm.read", resource="customers/**", constraints={"max_rows": {"max": 100}}
)
HOP_CAP = Capability(
    tool="crm.read", resource="customers/eu/**", constraints={"max_rows": {"max": 50}}
)
LEAF_CAP = Capability(
    tool="crm.read", resource="customers/eu/*", constraints={"max_rows": {"max": 20}}
)


# --- fixed keys --- #


def ed_key(agent: str, seed: int) -> AgentKey:
    """An Ed25519 agent key from the fixed 32-byte seed ``bytes([seed]) * 32``."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    return AgentKey._from_private(agent, private)


def p256_key(agent: str, seed: int) -> AgentKey:
    """A P-256 agent key whose private scalar is ``bytes([seed]) * 32`` read big-endian."""
    private = ec.derive_private_key(int.from_bytes(bytes([seed]) * 32, "big"), ec.SECP256R1())
    return AgentKey._from_private(agent, private)


ORCH = ed_key(f"{ORG}/orchestrator", 1)
ORCH_P256 = p256_key(f"{ORG}/orchestrator", 2)  # the same root, with a second (P-256) key
A0 = ed_key(f"{ORG}/agent/a0", 10)
A1 = ed_key(f"{ORG}/agent/a1", 11)
A2 = ed_key(f"{ORG}/agent/a2", 12)
E0 = p256_key(f"{ORG}/agent/e0", 20)
E1 = p256_key(f"{ORG}/agent/e1", 21)
E2 = p256_key(f"{ORG}/agent/e2", 22)
# Never registered:
EVIL_ROOT = ed_key("spiffe://evil.example/orchestrator", 90)
ROGUE_ROOT = ed_key(f"{ORG}/orchestrator", 91)  # a trusted root's id with a stranger's key
ROGUE_A1 = ed_key(f"{ORG}/agent/a1", 92)  # a registered agent's id with a stranger's key
GHOST = ed_key(f"{ORG}/agent/ghost", 93)  # an agent the registry does not know at all


def registry() -> Registry:
    reg = Registry()
    reg.add_root(ORCH.agent, ORCH.public_jwk())
    reg.add_root(ORCH_P256.agent, ORCH_P256.public_jwk())
    for key in (A0, A1, A2, E0, E1, E2):
        reg.add_agent(key.agent, key.public_jwk(), role="worker", baseline=[ROOT_CAP])
    return reg


# --- JOSE by hand --- #


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def forge(
    key: AgentKey,
    payload: dict[str, Any] | str,
    *,
    header: dict[str, Any] | str | None = None,
    typ: str = "deleg+jwt",
) -> str:
    """A compact JWS over hand-written JSON, signed with ``key`` (header defaults to ours)."""
    if header is None:
        header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    h = header if isinstance(header, str) else compact_json(header)
    p = payload if isinstance(payload, str) else compact_json(payload)
    signing_input = f"{b64(h.encode())}.{b64(p.encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode('ascii')))}"


def claims(token: str) -> dict[str, Any]:
    """The payload of a compact token (no verification)."""
    value: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return value


def header_of(token: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(unb64(token.split(".")[0]))
    return value


def token_id(token: str) -> str:
    """DESIGN: base64url(SHA-256(header.payload)), the name children use in ``prf``."""
    h, p, _ = token.split(".")
    return b64(hashlib.sha256(f"{h}.{p}".encode("ascii")).digest())


def with_signature(token: str, signature: bytes | str) -> str:
    h, p, _ = token.split(".")
    sig = signature if isinstance(signature, str) else b64(signature)
    return f"{h}.{p}.{sig}"


def with_payload(token: str, payload: dict[str, Any]) -> str:
    """Replace the payload and keep the old signature (a tampered token)."""
    h, _, s = token.split(".")
    return f"{h}.{b64(compact_json(payload).encode())}.{s}"


# --- minting with the library --- #


def delegator(key: AgentKey, at: int = NOW - 60) -> Delegator:
    return Delegator(key, clock=FixedClock(at))


def mint(
    to: AgentKey,
    *,
    root: AgentKey = ORCH,
    at: int = NOW - 60,
    ttl: int = 600,
    depth: int = 3,
    caps: list[Capability] | None = None,
) -> Chain:
    return delegator(root, at).mint(
        to=to.agent,
        to_key=to.public_jwk(),
        caps=caps or [ROOT_CAP],
        ttl=ttl,
        depth=depth,
        task="T-42",
        obo="user:alice",
        purpose="quarterly EU churn report",
    )


def delegate(
    chain: Chain, by: AgentKey, to: AgentKey, *, ttl: int, cap: Capability, at: int = NOW - 60
) -> Chain:
    return delegator(by, at).delegate(
        chain, to=to.agent, to_key=to.public_jwk(), caps=[cap], ttl=ttl
    )


def prove(
    chain: Chain | list[str],
    holder: AgentKey,
    *,
    at: int = NOW - 5,
    aud: str = AUDIENCE,
    request: dict[str, Any] | None = None,
) -> str:
    req = request or REQUEST
    return delegator(holder, at).prove(
        chain if isinstance(chain, Chain) else Chain(chain),
        aud=aud,
        tool=req["tool"],
        resource=req["resource"],
        args=req["args"],
    )


def resign_child(parent_holder: AgentKey, child: str, **changes: Any) -> str:
    """The child token with changed claims, properly signed by its issuer's key."""
    payload = {**claims(child), **changes}
    return forge(parent_holder, payload)


def cap_claim(tool: str, resource: str, *, max_rows: int | None = None) -> dict[str, Any]:
    """A capability as a token's ``caps`` entry holds it; ``max_rows`` its one constraint."""
    constraints = {} if max_rows is None else {"max_rows": {"max": max_rows}}
    return Capability(tool=tool, resource=resource, constraints=constraints).to_wire()


def forge_proof(key: AgentKey, proof: str, **changes: Any) -> str:
    """A proof with changed claims (or header), signed by ``key``."""
    payload = {**claims(proof), **changes}
    return forge(key, payload, typ="deleg-proof+jwt")


def build_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []

    def case(
        id: str,
        comment: str,
        chain: Chain | list[str],
        proof: str,
        *,
        code: str | None = None,
        hop: int | None = None,
        request: dict[str, Any] | None = None,
        holder: AgentKey | None = None,
    ) -> None:
        tokens = list(chain.tokens if isinstance(chain, Chain) else chain)
        entry: dict[str, Any] = {"id": id, "comment": comment}
        if code is None:
            assert holder is not None
            entry.update(result="valid", holder=holder.agent, depth=len(tokens))
        else:
            entry.update(result="invalid", expected_code=code, expected_hop=hop)
        entry.update(chain=tokens, proof=proof, request=request or REQUEST)
        cases.append(entry)

    # Valid chains, EdDSA / ES256 / mixed, 1 to 3 hops.
    ed1 = mint(A0)
    ed2 = delegate(ed1, A0, A1, ttl=500, cap=HOP_CAP)
    ed3 = delegate(ed2, A1, A2, ttl=400, cap=LEAF_CAP)
    es1 = mint(E0, root=ORCH_P256)
    es2 = delegate(es1, E0, E1, ttl=500, cap=HOP_CAP)
    es3 = delegate(es2, E1, E2, ttl=400, cap=LEAF_CAP)
    mixed = delegate(
        delegate(mint(E0), E0, A1, ttl=500, cap=HOP_CAP), A1, E2, ttl=400, cap=LEAF_CAP
    )
    p_ed2 = prove(ed2, A1)
    case("valid-eddsa-1hop", "root grant to a0, proof by a0", ed1, prove(ed1, A0), holder=A0)
    case("valid-eddsa-2hop", "orchestrator -> a0 -> a1", ed2, p_ed2, holder=A1)
    case(
        "valid-eddsa-3hop",
        "orchestrator -> a0 -> a1 -> a2, narrowing each hop",
        ed3,
        prove(ed3, A2),
        holder=A2,
    )
    case("valid-es256-1hop", "P-256 root key, P-256 agent", es1, prove(es1, E0), holder=E0)
    case("valid-es256-2hop", "orchestrator(P-256) -> e0 -> e1", es2, prove(es2, E1), holder=E1)
    case(
        "valid-es256-3hop", "orchestrator(P-256) -> e0 -> e1 -> e2", es3, prove(es3, E2), holder=E2
    )
    case(
        "valid-mixed-algorithms",
        "Ed25519 root -> P-256 e0 -> Ed25519 a1 -> P-256 e2",
        mixed,
        prove(mixed, E2),
        holder=E2,
    )

    # DESIGN: the token id excludes the signature because an ECDSA signature has a
    # high-S twin that verifies too. The twin is a valid token with the same id.
    raw = unb64(es1.tokens[0].split(".")[2])
    s_int = int.from_bytes(raw[32:], "big")
    twin = with_signature(es1.tokens[0], raw[:32] + (P256_ORDER - s_int).to_bytes(32, "big"))
    assert token_id(twin) == token_id(es1.tokens[0])
    case(
        "valid-es256-high-s-twin",
        "root signature replaced by its high-S twin (n - s): "
        "ECDSA accepts it and the token id, which excludes the signature, is unchanged",
        [twin],
        prove(es1, E0),
        holder=E0,
    )

    # Lifetimes near the edges: within the 30 s default clock skew.
    late = mint(A0, at=NOW - 600, ttl=590)  # exp = NOW - 10, within the skew
    case(
        "valid-expired-within-skew",
        "root expired 10 s ago; the default skew is 30 s",
        late,
        prove(late, A0),
        holder=A0,
    )

    # --- signatures --- #
    t0, t1 = ed2.tokens

    def resigned(**changes: Any) -> list[str]:
        """ed2 with its hop 1 re-signed by a0 with ``changes`` to its claims."""
        return [t0, resign_child(A0, t1, **changes)]

    def refused(
        id: str,
        comment: str,
        code: str,
        chain: Chain | list[str],
        *,
        holder: AgentKey = A1,
        hop: int = 1,
    ) -> None:
        """A chain refused at ``hop`` with ``code``, presented with its holder's proof."""
        case(id, comment, chain, prove(chain, holder), code=code, hop=hop)

    tampered = claims(t1)
    tampered["caps"][0]["constraints"]["max_rows"]["max"] = 100
    refused(
        "tampered-payload",
        "hop 1 payload edited (max_rows 50 -> 100), old signature kept",
        "bad_signature",
        [t0, with_payload(t1, tampered)],
    )

    other = delegate(ed1, A0, A1, ttl=450, cap=HOP_CAP)  # a sibling: same signer, other jti
    refused(
        "swapped-signature",
        "hop 1 carries the signature of a sibling token by the same key",
        "bad_signature",
        [t0, with_signature(t1, other.tokens[1].split(".")[2])],
    )

    flipped = bytearray(unb64(t1.split(".")[2]))
    flipped[0] ^= 0x01
    case(
        "flipped-signature-bit",
        "one bit of hop 1's signature flipped",
        [t0, with_signature(t1, bytes(flipped))],
        p_ed2,
        code="bad_signature",
        hop=1,
    )

    e_root = es1.tokens[0]
    r_s = unb64(e_root.split(".")[2])
    der = encode_dss_signature(int.from_bytes(r_s[:32], "big"), int.from_bytes(r_s[32:], "big"))
    case(
        "es256-der-signature",
        "ES256 signature in DER (X.509 style) instead of raw r||s",
        [with_signature(e_root, der)],
        prove(es1, E0),
        code="bad_signature",
        hop=0,
    )
    case(
        "es256-zero-signature",
        "ES256 signature r = 0, s = 0",
        [with_signature(e_root, bytes(64))],
        prove(es1, E0),
        code="bad_signature",
        hop=0,
    )
    case(
        "header-kid-of-another-key",
        "root header names a0's kid (signature by the root)",
        [
            forge(
                ORCH,
                claims(ed1.tokens[0]),
                header={"alg": "EdDSA", "typ": "deleg+jwt", "kid": A0.kid},
            )
        ],
        prove(ed1, A0),
        code="untrusted_root",
        hop=0,
    )

    # --- chain structure --- #
    a, b, c = ed3.tokens
    p_ed3 = prove(ed3, A2)
    case(
        "dropped-middle-hop",
        "3-hop chain with hop 1 removed",
        [a, c],
        p_ed3,
        code="broken_link",
        hop=1,
    )
    case(
        "reordered-hops",
        "hops 1 and 2 swapped",
        [a, c, b],
        prove([a, c, b], A1),
        code="broken_link",
        hop=1,
    )
    case(
        "truncated-head",
        "chain starts at hop 1 (a non-root token naming a parent)",
        [b, c],
        p_ed3,
        code="broken_link",
        hop=0,
    )
    case(
        "chain-too-long",
        "17 tokens, over the default limit of 16",
        [ed1.tokens[0]] * 17,
        prove(ed1, A0),
        code="oversized",
        hop=None,
    )
    refused(
        "issuer-not-parent-subject",
        "hop 1 claims to be issued by a2 (signed by a0's key)",
        "broken_link",
        resigned(iss=A2.agent),
    )
    refused(
        "duplicate-jti",
        "hop 1 reuses the root's jti",
        "broken_link",
        resigned(jti=claims(t0)["jti"]),
    )

    # --- attenuation --- #
    refused(
        "widened-scope",
        "hop 1 grants crm.* under a parent granting crm.read",
        "scope_escalation",
        resigned(caps=[cap_claim("crm.*", "customers/eu/**", max_rows=50)]),
    )
    wide_res = [
        a,
        b,
        resign_child(
            A1,
            c,
            caps=[cap_claim("crm.read", "customers/**", max_rows=20)],
        ),
    ]
    case(
        "widened-resource",
        "hop 2 grants customers/** under a parent granting customers/eu/**",
        wide_res,
        prove(wide_res, A2),
        code="scope_escalation",
        hop=2,
    )
    refused(
        "dropped-constraint",
        "hop 1 drops the parent's max_rows constraint",
        "scope_escalation",
        resigned(caps=[cap_claim("crm.read", "customers/eu/**")]),
    )
    refused(
        "loosened-constraint",
        "hop 1 raises max_rows to 500 under a parent's 100",
        "scope_escalation",
        resigned(caps=[cap_claim("crm.read", "customers/eu/**", max_rows=500)]),
    )
    refused(
        "added-capability",
        "hop 1 adds crm.delete next to its covered grant",
        "scope_escalation",
        resigned(caps=[claims(t1)["caps"][0], cap_claim("crm.delete", "**")]),
    )
    refused(
        "depth-cheat",
        "hop 1 keeps its parent's dpth instead of decreasing it",
        "depth_exceeded",
        resigned(dpth=claims(t0)["dpth"]),
    )
    leaf_root = mint(A0, depth=0)
    refused(
        "delegation-below-leaf",
        "the root allows no further hop (dpth 0), a0 delegates anyway",
        "depth_exceeded",
        [
            leaf_root.tokens[0],
            resign_child(A0, t1, prf=token_id(leaf_root.tokens[0]), dpth=0),
        ],
    )
    refused(
        "task-changed",
        "hop 1 moves the chain to another task",
        "task_mismatch",
        resigned(task="T-99"),
    )
    refused(
        "principal-changed",
        "hop 1 acts for another principal (obo)",
        "principal_mismatch",
        resigned(obo="user:mallory"),
    )
    refused(
        "act-forged",
        "hop 1's act names a2 instead of a0 as the current actor",
        "act_mismatch",
        resigned(act={"sub": A2.agent, "act": {"sub": ORCH.agent}}),
    )

    # --- time --- #
    refused(
        "child-outliving-parent",
        "hop 1 expires 60 s after its parent",
        "lifetime_exceeded",
        resigned(exp=claims(t0)["exp"] + 60),
    )
    refused(
        "lifetime-over-maximum",
        "root lifetime 2 h, over the 1 h maximum",
        "lifetime_exceeded",
        [forge(ORCH, {**claims(t0), "exp": claims(t0)["iat"] + 7200})],
        holder=A0,
        hop=0,
    )
    young_root = mint(A0, at=NOW - 400, ttl=1200)
    refused(
        "expired-hop",
        "root valid, hop 1 expired 100 s ago (beyond the 30 s skew)",
        "expired",
        delegate(young_root, A0, A1, ttl=300, cap=HOP_CAP, at=NOW - 400),
    )
    refused(
        "future-iat",
        "root issued 10 min in the future",
        "not_yet_valid",
        mint(A0, at=NOW + 600),
        holder=A0,
        hop=0,
    )
    refused(
        "future-nbf",
        "root not valid before 5 min from now",
        "not_yet_valid",
        [forge(ORCH, {**claims(t0), "nbf": NOW + 300})],
        holder=A0,
        hop=0,
    )
    case(
        "proof-expired",
        "proof issued 5 min ago with a 60 s lifetime",
        ed2,
        prove(ed2, A1, at=NOW - 300),
        code="expired",
        hop=None,
    )
    case(
        "proof-from-the-future",
        "proof issued 5 min in the future",
        ed2,
        prove(ed2, A1, at=NOW + 300),
        code="not_yet_valid",
        hop=None,
    )

    # --- proof of possession --- #
    case(
        "wrong-proof-audience",
        "proof addressed to the billing tool",
        ed2,
        prove(ed2, A1, aud=f"{ORG}/tool/billing"),
        code="audience_mismatch",
        hop=None,
    )
    case(
        "proof-for-another-request",
        "proof for customers/eu/7, request for customers/eu/42",
        ed2,
        prove(ed2, A1, request={**REQUEST, "resource": "customers/eu/7"}),
        code="proof_mismatch",
        hop=None,
    )
    case(
        "proof-for-other-arguments",
        "proof for max_rows 20, request with max_rows 10",
        ed2,
        prove(ed2, A1, request={**REQUEST, "args": {"max_rows": 20}}),
        code="proof_mismatch",
        hop=None,
    )
    case(
        "proof-for-another-chain",
        "proof over a sibling chain held by the same key",
        ed2,
        prove(other, A1),
        code="proof_mismatch",
        hop=None,
    )
    case(
        "proof-signed-by-ancestor",
        "proof claiming to be a1's, signed by a0 (hop 0's holder)",
        ed2,
        forge_proof(A0, p_ed2),
        code="bad_signature",
        hop=None,
    )
    case(
        "proof-issuer-not-holder",
        "proof signed by the holder's key but naming a0 as issuer",
        ed2,
        forge_proof(A1, p_ed2, iss=A0.agent),
        code="holder_mismatch",
        hop=None,
    )
    write_req = {"tool": "crm.write", "resource": "customers/eu/42", "args": {"max_rows": 10}}
    case(
        "proof-action-not-granted",
        "a well-formed proof for crm.write, which no hop grants",
        ed2,
        forge_proof(A1, p_ed2, req={**claims(p_ed2)["req"], "tool": "crm.write"}),
        code="action_not_granted",
        hop=None,
        request=write_req,
    )
    case(
        "proof-typ-token",
        "proof with typ deleg+jwt",
        ed2,
        forge(A1, claims(p_ed2)),
        code="wrong_token_type",
        hop=None,
    )
    case(
        "token-presented-as-proof",
        "the leaf token sent as the proof",
        ed2,
        t1,
        code="malformed",
        hop=None,
    )

    # --- keys and roots --- #
    for id, comment, root in (
        ("untrusted-root", "root grant from spiffe://evil.example/orchestrator", EVIL_ROOT),
        (
            "root-key-not-registered",
            "the trusted root's id, signed with an unregistered key",
            ROGUE_ROOT,
        ),
    ):
        refused(id, comment, "untrusted_root", mint(A0, root=root), holder=A0, hop=0)
    for id, comment, receiver in (
        ("unregistered-key", "hop 1 binds a key that is not registered for a1", ROGUE_A1),
        ("unregistered-agent", "hop 1 delegates to an agent the registry does not know", GHOST),
    ):
        hop1 = delegate(ed1, A0, receiver, ttl=500, cap=HOP_CAP)
        refused(id, comment, "key_not_registered", hop1, holder=receiver)
    ed448_pub = ed448.Ed448PrivateKey.from_private_bytes(bytes([94]) * 57).public_key()
    ed448_jwk = {"kty": "OKP", "crv": "Ed448", "x": b64(ed448_pub.public_bytes_raw())}
    bad_cnf = [t0, resign_child(A0, t1, cnf={"jwk": ed448_jwk})]
    case(
        "cnf-ed448",
        "hop 1 binds an Ed448 key (EdDSA means Ed25519 only)",
        bad_cnf,
        p_ed2,
        code="malformed",
        hop=1,
    )

    # --- headers and algorithms --- #
    root_claims = claims(t0)
    std = {"alg": "EdDSA", "typ": "deleg+jwt", "kid": ORCH.kid}
    p_ed1 = prove(ed1, A0)
    h_none = b64(compact_json({**std, "alg": "none"}).encode())
    p64 = t0.split(".")[1]
    case(
        "alg-none-unsigned",
        "alg none with an empty signature",
        [f"{h_none}.{p64}."],
        p_ed1,
        code="malformed",
        hop=0,
    )
    case(
        "alg-none",
        "alg none, the original signature kept",
        [f"{h_none}.{p64}.{t0.split('.')[2]}"],
        p_ed1,
        code="alg_not_allowed",
        hop=0,
    )
    hs_input = f"{b64(compact_json({**std, 'alg': 'HS256'}).encode())}.{p64}"
    mac = hmac.new(unb64(ORCH.public.jwk["x"]), hs_input.encode(), hashlib.sha256).digest()
    case(
        "alg-hs256",
        "HS256 keyed with the root's public key bytes (key confusion)",
        [f"{hs_input}.{b64(mac)}"],
        p_ed1,
        code="alg_not_allowed",
        hop=0,
    )
    # One root token, re-headed: each must be refused at hop 0 before any signature counts.
    for id, comment, token, code in [
        (
            "alg-es256-on-ed25519-key",
            "header says ES256, the root key is Ed25519",
            forge(ORCH, root_claims, header={**std, "alg": "ES256"}),
            "alg_not_allowed",
        ),
        (
            "alg-ed25519-fully-specified",
            "RFC 9864 alg name Ed25519 (we pin EdDSA)",
            forge(ORCH, root_claims, header={**std, "alg": "Ed25519"}),
            "alg_not_allowed",
        ),
        (
            "typ-swap-proof-typ",
            "a delegation token with typ deleg-proof+jwt",
            forge(ORCH, root_claims, typ="deleg-proof+jwt"),
            "wrong_token_type",
        ),
        (
            "typ-jwt",
            "typ JWT (what generic JWT libraries write)",
            forge(ORCH, root_claims, typ="JWT"),
            "wrong_token_type",
        ),
        (
            "typ-missing",
            "no typ header",
            forge(ORCH, root_claims, header={"alg": "EdDSA", "kid": ORCH.kid}),
            "wrong_token_type",
        ),
        ("proof-presented-as-token", "the proof sent as a one-token chain", p_ed1, "malformed"),
        (
            "alg-not-a-string",
            'header alg is a JSON list ["EdDSA"], not a string',
            forge(ORCH, root_claims, header={**std, "alg": ["EdDSA"]}),
            "alg_not_allowed",
        ),
    ]:
        case(id, comment, [token], p_ed1, code=code, hop=0)
    case(
        "proof-alg-not-a-string",
        "proof header alg is a JSON object, not a string",
        ed1,
        forge(
            A0,
            claims(p_ed1),
            header={"alg": {"name": "EdDSA"}, "typ": "deleg-proof+jwt", "kid": A0.kid},
        ),
        code="alg_not_allowed",
        hop=None,
    )
    for id, comment, extra in [
        ("header-jwk", "header embeds the signer's JWK", {"jwk": ORCH.public.jwk}),
        ("header-jku", "header points at a key URL", {"jku": "https://evil.example/jwks"}),
        ("header-crit", "header marks exp as critical", {"crit": ["exp"]}),
    ]:
        token = forge(ORCH, root_claims, header={**std, **extra})
        case(id, comment, [token], p_ed1, code="bad_header", hop=0)
    case(
        "header-kid-missing",
        "header without kid",
        [forge(ORCH, root_claims, header={"alg": "EdDSA", "typ": "deleg+jwt"})],
        p_ed1,
        code="bad_header",
        hop=0,
    )

    # --- encoding and claim shape --- #
    body = compact_json(root_claims)
    dup_payload = body[:-1] + f',"sub":"{A2.agent}"}}'
    case(
        "duplicate-json-key-payload",
        "payload names sub twice (a0, then a2)",
        [forge(ORCH, dup_payload)],
        p_ed1,
        code="malformed",
        hop=0,
    )
    dup_header = compact_json(std)[:-1] + ',"alg":"none"}'
    case(
        "duplicate-json-key-header",
        "header names alg twice (EdDSA, then none)",
        [forge(ORCH, root_claims, header=dup_header)],
        p_ed1,
        code="malformed",
        hop=0,
    )
    sig64 = t0.split(".")[2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig64[-1])
    # 64 bytes are 86 characters: the last one carries 2 bits and 4 unused (zero) bits.
    noncanonical = sig64[:-1] + alphabet[last | 0b0001]
    assert unb64(noncanonical) == unb64(sig64)
    assert noncanonical != sig64
    case(
        "non-canonical-base64",
        "signature's last character has a non-zero unused bit (decodes to the same bytes)",
        [with_signature(t0, noncanonical)],
        p_ed1,
        code="malformed",
        hop=0,
    )
    case(
        "padded-base64",
        "signature segment padded with '=='",
        [f"{t0}=="],
        p_ed1,
        code="malformed",
        hop=0,
    )
    case(
        "aud-not-subject",
        "root aud names another agent than sub",
        [forge(ORCH, {**root_claims, "aud": A1.agent})],
        p_ed1,
        code="malformed",
        hop=0,
    )
    case(
        "aud-as-list",
        "aud is a list (DESIGN: one string)",
        [forge(ORCH, {**root_claims, "aud": [A0.agent]})],
        p_ed1,
        code="malformed",
        hop=0,
    )
    case(
        "unknown-claim",
        "root carries an unknown claim adm: true",
        [forge(ORCH, {**root_claims, "adm": True})],
        p_ed1,
        code="malformed",
        hop=0,
    )
    no_exp = {k: v for k, v in root_claims.items() if k != "exp"}
    case("missing-exp", "root without exp", [forge(ORCH, no_exp)], p_ed1, code="malformed", hop=0)
    many = [{"tool": f"crm.read{i}", "resource": "customers/eu/**"} for i in range(120)]
    big = forge(ORCH, {**root_claims, "caps": many})
    assert len(big) > 8 * 1024
    case(
        "oversized-token",
        "root token over the default 8 KiB limit",
        [big],
        p_ed1,
        code="oversized",
        hop=0,
    )
    return cases


def check(data: dict[str, Any]) -> list[str]:
    """Verify every case with the library; describe each outcome that is not the expected one."""
    problems = []
    reg = Registry.from_json(data["registry"])
    for c in data["cases"]:
        verifier = Verifier(
            registry=reg,
            audience=data["audience"],
            policy=ChainGrantsOnly(),
            clock=FixedClock(data["now"]),
        )
        try:
            verifier.verify("~".join(c["chain"]), c["proof"], Request(**c["request"]))
            got: tuple[str, int | None] = ("valid", None)
        except DelegationError as exc:
            got = (exc.code, exc.hop)
        want = (
            ("valid", None) if c["result"] == "valid" else (c["expected_code"], c["expected_hop"])
        )
        if got != want:
            problems.append(f"{c['id']}: expected {want}, got {got}")
    return problems


def main() -> int:
    cases = build_cases()
    data: dict[str, Any] = {
        "source": "delegation project: generated by tests/vectors/make_chains.py "
        "(fixed Ed25519 seeds and P-256 scalars, FixedClock times)",
        "comment": "Delegation chains, proofs and requests for one verifier (audience, now, "
        "registry below) per DESIGN.md 'Wire format' and 'Verification'. Each case is "
        "verified with a fresh Verifier(registry, audience, ChainGrantsOnly(), "
        "FixedClock(now)); invalid cases name the first failing check's code and its hop "
        "(null: the proof or the chain as a whole).",
        "audience": AUDIENCE,
        "now": NOW,
        "registry": registry().to_json(),
        "cases": cases,
    }
    text = json.dumps(data, indent=1) + "\n"
    OUT.write_text(text)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    print(f"wrote {len(ids)} cases to {OUT}")
    for line in check(data):
        print(f"MISMATCH (a library bug, or a wrong expectation) {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
