"""Agent keys: Ed25519 (EdDSA, RFC 8037) by default, P-256 (ES256) allowed.

A key file is one private JWK with ``kid`` = its RFC 7638 thumbprint and an extra
member ``"agent"`` naming the workload; the public file is the same without private
members. The algorithm is a property of the key, never of a token: ``EdDSA`` means
Ed25519 only (Ed448 is refused), ``ES256`` means P-256 only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ._files import read_json_object, write_json
from ._ids import check_agent_id
from ._jose import b64url_decode, b64url_encode
from .errors import BadSignature, ConfigurationError, InvalidInput, InvalidKey, MalformedError

__all__ = ["ED25519_BACKEND", "AgentKey", "Alg", "Backend", "PublicKey", "thumbprint"]

Alg = Literal["EdDSA", "ES256"]
Backend = Literal["cryptography", "nacl"]

_nacl_open: Callable[[bytes, bytes], bytes] | None
_nacl_sign: Callable[[bytes, bytes], bytes] | None
_nacl_seed_keypair: Callable[[bytes], tuple[bytes, bytes]] | None
_NACL_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError)
try:  # libsodium verifies Ed25519 about 1.5x faster than OpenSSL here, and signs 1.4x
    from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
    from nacl.exceptions import CryptoError

    _nacl_open, _nacl_sign, _nacl_seed_keypair = (
        crypto_sign_open,
        crypto_sign,
        crypto_sign_seed_keypair,
    )
    _NACL_ERRORS = (CryptoError, ValueError, TypeError)
except ImportError:  # pragma: no cover - PyNaCl is a dependency; this is a fallback
    _nacl_open = _nacl_sign = _nacl_seed_keypair = None

#: The Ed25519 verification backend in use: "nacl" when PyNaCl is installed.
ED25519_BACKEND: Backend = "nacl" if _nacl_open is not None else "cryptography"

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (its required members only).

    >>> thumbprint({"kty": "OKP", "crv": "Ed25519",
    ...             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
    """
    kty = jwk.get("kty")
    members: tuple[str, ...]
    if kty == "OKP":
        members = ("crv", "kty", "x")
    elif kty == "EC":
        members = ("crv", "kty", "x", "y")
    else:
        raise InvalidKey(f"unsupported key type {kty!r} (expected OKP or EC)")
    try:
        required = {m: jwk[m] for m in members}
    except KeyError as exc:
        raise InvalidKey(f"JWK is missing member {exc.args[0]!r}") from None
    if not all(isinstance(v, str) for v in required.values()):
        raise InvalidKey("JWK members must be strings")
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii", "replace")).digest())


def _coord(jwk: dict[str, Any], name: str, size: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"JWK member {name!r} is missing or not a string")
    try:
        raw = b64url_decode(value, what=f"JWK member {name!r}")
    except MalformedError as exc:
        raise InvalidKey(str(exc)) from None
    if len(raw) != size:
        raise InvalidKey(f"JWK member {name!r} must be {size} bytes, not {len(raw)}")
    return raw


def _load_public(
    kty: str, crv: str, x: str, y: str | None
) -> tuple[Alg, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey]:
    jwk = {"kty": kty, "crv": crv, "x": x, "y": y}
    if kty == "OKP":
        if crv != "Ed25519":
            raise InvalidKey(f"unsupported OKP curve {crv!r} (only Ed25519; Ed448 is refused)")
        return "EdDSA", ed25519.Ed25519PublicKey.from_public_bytes(_coord(jwk, "x", 32))
    if kty == "EC":
        if crv != "P-256":
            raise InvalidKey(f"unsupported EC curve {crv!r} (only P-256)")
        point = b"\x04" + _coord(jwk, "x", 32) + _coord(jwk, "y", 32)
        try:
            return "ES256", ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except ValueError:
            raise InvalidKey("JWK point is not on the P-256 curve") from None
    raise InvalidKey(f"unsupported key type {kty!r} (expected OKP or EC)")


def _check_alg_member(jwk: dict[str, Any], alg: Alg) -> None:
    if "alg" in jwk and jwk["alg"] != alg:
        raise InvalidKey(f"JWK says alg {jwk['alg']!r} but the key is an {alg} key")
    if "use" in jwk and jwk["use"] != "sig":
        raise InvalidKey(f"JWK use must be 'sig', not {jwk['use']!r}")
    ops = jwk.get("key_ops", ["verify"])
    if not isinstance(ops, list) or not {"verify", "sign"} & set(map(str, ops)):
        raise InvalidKey(f"JWK key_ops {ops!r} do not allow signatures")


@dataclass(frozen=True, eq=False)
class PublicKey:
    """A verified public key: its algorithm, RFC 7638 ``kid``, and the primitive.

    >>> k = AgentKey.generate("spiffe://acme.example/agent/a").public
    >>> PublicKey.from_jwk(k.jwk).kid == k.kid
    True
    """

    alg: Alg
    kid: str
    jwk: dict[str, str]
    _key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
    _raw: bytes = b""  # the raw Ed25519 public key, for the nacl backend

    @classmethod
    def from_jwk(cls, jwk: object) -> PublicKey:
        """Read a public JWK; private members, unknown types and Ed448 are refused.

        Raises ``InvalidKey`` (code ``invalid_key``).
        """
        if not isinstance(jwk, dict):
            raise InvalidKey("a JWK must be a JSON object")
        items = tuple(sorted(jwk.items()))
        try:
            return _public_from_items(items)
        except TypeError:  # unhashable member values (lists...): not memoised
            return _public_from_jwk(jwk)

    def verify(
        self, signature: bytes, data: bytes, *, backend: Backend | None = None
    ) -> Literal[True]:
        """Check ``signature`` over ``data``: raise ``BadSignature`` unless it is valid.

        Raising is the convention of ``cryptography`` (and python-ecdsa's ``True`` or an
        exception): a call whose result is ignored still refuses a forgery. For a plain
        verdict use :meth:`is_valid`.

        >>> key = AgentKey.generate("spiffe://acme.example/agent/a")
        >>> key.public.verify(key.sign(b"m"), b"m")
        True
        >>> key.public.verify(key.sign(b"m"), b"other")
        Traceback (most recent call last):
        ...
        delegation.errors.BadSignature: the signature does not verify under key ...
        """
        if not self.is_valid(signature, data, backend=backend):
            raise BadSignature(f"the signature does not verify under key {self.kid}")
        return True

    def is_valid(self, signature: bytes, data: bytes, *, backend: Backend | None = None) -> bool:
        """True when ``signature`` (JWS form: raw Ed25519, or raw r||s for ES256) is valid.

        Ed25519 goes through libsodium (PyNaCl, a dependency: about 1.5x faster here)
        and falls back to OpenSSL (``cryptography``) where PyNaCl cannot be imported; both
        give the same verdicts on every Wycheproof and chain vector. ``backend`` forces
        one (for tests and benchmarks).

        >>> key = AgentKey.generate("spiffe://acme.example/agent/a")
        >>> key.public.is_valid(key.sign(b"m"), b"m"), key.public.is_valid(b"x" * 64, b"m")
        (True, False)
        """
        if isinstance(self._key, ed25519.Ed25519PublicKey):
            if (backend or ED25519_BACKEND) == "nacl":
                return _nacl_verify(self._raw, signature, data)
            try:
                self._key.verify(signature, data)
            except InvalidSignature:
                return False
            return True
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        try:
            self._key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


def _nacl_verify(public: bytes, signature: bytes, data: bytes) -> bool:
    if _nacl_open is None:
        raise ConfigurationError("the nacl backend needs PyNaCl: pip install pynacl")
    if len(signature) != 64:
        return False
    try:
        _nacl_open(signature + data, public)
    except _NACL_ERRORS:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _public_from_items(items: tuple[tuple[str, Any], ...]) -> PublicKey:
    # Memoised: verifiers meet the same cnf keys on every call.
    return _public_from_jwk(dict(items))


def _public_from_jwk(jwk: dict[str, Any]) -> PublicKey:
    private = _PRIVATE_MEMBERS & jwk.keys()
    if private:
        raise InvalidKey(f"public JWK carries private member(s) {sorted(private)}")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if not isinstance(kty, str) or not isinstance(crv, str):
        raise InvalidKey("JWK needs string members 'kty' and 'crv'")
    x = jwk.get("x")
    y = jwk.get("y") if kty == "EC" else None
    if not isinstance(x, str) or (kty == "EC" and not isinstance(y, str)):
        raise InvalidKey("JWK coordinates are missing or not strings")
    alg, key = _load_public(kty, crv, x, cast("str | None", y))
    _check_alg_member(jwk, alg)
    minimal = {"kty": kty, "crv": crv, "x": x}
    if y is not None:
        minimal["y"] = cast(str, y)
    kid = thumbprint(minimal)
    if "kid" in jwk and jwk["kid"] != kid:
        raise InvalidKey("JWK kid is not its RFC 7638 thumbprint")
    raw = key.public_bytes_raw() if isinstance(key, ed25519.Ed25519PublicKey) else b""
    return PublicKey(alg=alg, kid=kid, jwk={**minimal, "kid": kid}, _key=key, _raw=raw)


@dataclass(frozen=True, eq=False)
class AgentKey:
    """An agent's private key, named by its agent id.

    >>> key = AgentKey.generate("spiffe://acme.example/agent/planner")
    >>> key.alg, key.public_jwk()["kid"] == key.kid
    ('EdDSA', True)
    """

    agent: str
    public: PublicKey
    _private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    # libsodium's form of an Ed25519 key (seed || public key), for signing; b"" otherwise
    _nacl_sk: bytes = field(default=b"", repr=False)

    @property
    def alg(self) -> Alg:
        return self.public.alg

    @property
    def kid(self) -> str:
        return self.public.kid

    @property
    def private_key(self) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey:
        """The cryptography private key object (what pyjwt signs with)."""
        return self._private

    @classmethod
    def generate(cls, agent: str, alg: Alg = "EdDSA") -> AgentKey:
        """A fresh key pair for ``agent`` (``alg="ES256"`` for P-256).

        Raises ``InvalidInput`` when ``agent`` is not an ASCII URI, ``InvalidKey`` for an
        unsupported ``alg``.
        """
        check_agent_id(agent, what="agent id", error=InvalidInput)
        private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            raise InvalidKey(f"unsupported algorithm {alg!r} (EdDSA or ES256)")
        return cls._from_private(agent, private)

    @classmethod
    def _from_private(
        cls, agent: str, private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    ) -> AgentKey:
        pub = private.public_key()
        nacl_sk = b""
        if isinstance(pub, ed25519.Ed25519PublicKey):
            raw = pub.public_bytes_raw()
            jwk: dict[str, str] = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
            if _nacl_seed_keypair is not None and isinstance(private, ed25519.Ed25519PrivateKey):
                nacl_pk, nacl_sk = _nacl_seed_keypair(private.private_bytes_raw())
                if nacl_pk != raw:  # pragma: no cover - the same key in two libraries
                    raise InvalidKey("libsodium derived another public key from this seed")
        else:
            nums = pub.public_numbers()
            jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url_encode(nums.x.to_bytes(32, "big")),
                "y": b64url_encode(nums.y.to_bytes(32, "big")),
            }
        return cls(agent=agent, public=PublicKey.from_jwk(jwk), _private=private, _nacl_sk=nacl_sk)

    @classmethod
    def from_jwk(cls, jwk: object, agent: str | None = None) -> AgentKey:
        """Read a private JWK (the key-file format); ``agent`` defaults to its ``agent`` member.

        Raises ``InvalidKey`` when the JWK is malformed, public-only, or does not match.
        """
        if not isinstance(jwk, dict):
            raise InvalidKey("a key file must hold one JSON object (a private JWK)")
        agent = agent if agent is not None else jwk.get("agent")
        if not isinstance(agent, str):
            raise InvalidKey("private JWK has no 'agent' member naming its agent id")
        check_agent_id(agent, what="key file agent id", error=InvalidKey)
        if not isinstance(jwk.get("d"), str):
            raise InvalidKey("JWK has no private member 'd' (is this a public key file?)")
        public = PublicKey.from_jwk({k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS})
        private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        try:
            if public.alg == "EdDSA":
                private = ed25519.Ed25519PrivateKey.from_private_bytes(_coord(jwk, "d", 32))
            else:
                d = int.from_bytes(_coord(jwk, "d", 32), "big")
                if not 0 < d < _P256_ORDER:
                    raise InvalidKey("EC private scalar out of range")
                private = ec.derive_private_key(d, ec.SECP256R1())
        except ValueError as exc:
            raise InvalidKey(f"invalid private key: {exc}") from None
        key = cls._from_private(agent, private)
        if key.kid != public.kid:
            raise InvalidKey("private member 'd' does not match the public key in the JWK")
        return key

    def public_jwk(self) -> dict[str, str]:
        """The public JWK with ``kid`` and ``agent`` (the public key-file format)."""
        return {**self.public.jwk, "agent": self.agent}

    def private_jwk(self) -> dict[str, str]:
        """The private JWK with ``kid`` and ``agent`` (the key-file format).

        Warning: this is secret material; store it with restrictive permissions.
        """
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            d = self._private.private_bytes_raw()
        else:
            d = self._private.private_numbers().private_value.to_bytes(32, "big")
        return {**self.public.jwk, "d": b64url_encode(d), "agent": self.agent}

    def sign(self, data: bytes, *, backend: Backend | None = None) -> bytes:
        """Raw JWS signature over ``data`` (Ed25519 bytes, or r||s for ES256).

        Ed25519 signs through libsodium (PyNaCl) when it is installed, else OpenSSL
        (``cryptography``); Ed25519 is deterministic, so both give the same bytes.
        ``backend`` forces one (tests, benchmarks).
        """
        if backend is None and self._nacl_sk and _nacl_sign is not None:  # the usual way
            return _nacl_sign(data, self._nacl_sk)[:64]
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            if (backend or ED25519_BACKEND) == "nacl":
                if _nacl_sign is None or not self._nacl_sk:
                    raise ConfigurationError("the nacl backend needs PyNaCl: pip install pynacl")
                return _nacl_sign(data, self._nacl_sk)[:64]
            return self._private.sign(data)
        r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AgentKey:
        """Read a private key file. Raises ``FileError`` or ``InvalidKey``."""
        return cls.from_jwk(read_json_object(path, what="key file", error=InvalidKey))

    def save(
        self, path: str | os.PathLike[str], *, public_path: str | os.PathLike[str] | None = None
    ) -> None:
        """Write the private key file (mode 0600) and, optionally, the public one."""
        write_json(path, self.private_jwk(), private=True)
        if public_path is not None:
            write_json(public_path, self.public_jwk())
