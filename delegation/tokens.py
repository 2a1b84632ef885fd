"""Wire format: claim models (frozen, closed, strict), chains, and unverified parsing.

Three compact-JWS token types share one lean parser (split, canonical base64url, one
strict JSON decode per part, one pydantic validation):

* ``deleg+jwt``: one delegation hop (:class:`DelegationClaims`);
* ``deleg-proof+jwt``: proof of possession for one request (:class:`ProofClaims`);
* ``deleg-receipt+jwt``: an agent's signed acceptance of a hop (:class:`ReceiptClaims`).

Nothing here checks a signature. :func:`parse_unverified` says so in its name and is for
inspection and graphs only; :class:`delegation.Verifier` is the way to trust a chain.
"""

from __future__ import annotations

import binascii
import contextlib
import functools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Generic, Literal, NamedTuple, NotRequired, Protocol

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict, TypeVar

from ._ids import check_agent_id
from ._jose import (
    b64url_decode,
    b64url_encode,
    json_object,
    plain_json,
    split_compact,
    token_id_of,
)
from .capabilities import Capability
from .errors import DelegationError, MalformedError, OversizedError

__all__ = [
    "PROOF_TYP",
    "RECEIPT_TYP",
    "TOKEN_TYP",
    "Act",
    "Chain",
    "DelegationClaims",
    "ProofClaims",
    "ProofRequest",
    "ReceiptClaims",
    "UnverifiedToken",
    "act_path",
    "check_agent_id",
    "encode_jws",
    "parse_jws",
    "parse_unverified",
]

TOKEN_TYP = "deleg+jwt"  # noqa: S105 - a media type, not a secret
PROOF_TYP = "deleg-proof+jwt"
RECEIPT_TYP = "deleg-receipt+jwt"

# Hard ceilings for parsing anything at all; a Verifier's Limits are usually tighter.
_MAX_CHAIN_TOKENS = 256
_MAX_TOKEN_BYTES = 64 * 1024

_B64_ID = re.compile(r"[A-Za-z0-9_-]{16,86}")
_orjson_dumps = orjson.dumps


class Signer(Protocol):
    """What signs a token: an :class:`~delegation.AgentKey` (its ``alg``, ``kid``, ``sign``)."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


# Patterns are checked by pydantic-core's Rust regex engine: no Python call per claim.
# Lengths are bounded separately: counted repetition makes the regex automaton large.
AgentId = Annotated[
    StrictStr,
    StringConstraints(max_length=512, pattern=r"^[A-Za-z][A-Za-z0-9+.\-]*:[\x21-\x7e]+$"),
]
B64Id = Annotated[
    StrictStr, StringConstraints(min_length=16, max_length=86, pattern=r"^[A-Za-z0-9_-]+$")
]
# No control or format characters (C0, C1, bidi overrides, zero-width joiners...).
Label = Annotated[StrictStr, StringConstraints(max_length=256, pattern=r"^[^\p{Cc}\p{Cf}]+$")]
NumericDate = Annotated[StrictInt, Field(ge=0, le=2**53)]


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)


@with_config(ConfigDict(extra="forbid", strict=True))
class Act(TypedDict):
    """RFC 8693 actor claim: the current actor, and (nested) the one before it.

    A plain dict on purpose (validated, closed): it is parsed on every verification.
    """

    sub: AgentId
    act: NotRequired[Act]


def act_path(act: Act) -> list[str]:
    """The actors of an ``act`` claim, oldest first.

    >>> act_path({"sub": "x:b", "act": {"sub": "x:a"}})
    ['x:a', 'x:b']
    """
    out: list[str] = []
    node: Act | None = act
    while node is not None:
        out.append(node["sub"])
        node = node.get("act")
    return out[::-1]


class Confirmation(_Closed):
    """RFC 7800 ``cnf``: the key that alone may sign the next hop or a proof."""

    jwk: dict[StrictStr, StrictStr]


class DelegationClaims(_Closed):
    """Claims of one delegation hop (docs/wire-format.md)."""

    iss: AgentId
    sub: AgentId
    aud: AgentId
    iat: NumericDate
    nbf: NumericDate | None = None
    exp: NumericDate
    jti: B64Id
    cnf: Confirmation
    prf: B64Id | None = None
    task: Label
    obo: Label | None = None
    # A tuple (lists arrive from JSON): parsed tokens are cached and must stay immutable.
    caps: tuple[Capability, ...] = Field(min_length=1, max_length=256, strict=False)
    dpth: Annotated[StrictInt, Field(ge=0, le=64)]
    act: Act
    pur: Annotated[StrictStr, Field(max_length=1024)] | None = None
    rcpt: StrictStr | None = None

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload (absent optional claims left out; capabilities explicit)."""
        out = self.model_dump(exclude_none=True, exclude={"caps"})
        out["caps"] = [c.to_wire() for c in self.caps]
        return out


class ProofRequest(_Closed):
    """``req`` of a proof: the one request it authorizes."""

    tool: StrictStr
    resource: StrictStr
    args: B64Id


class ProofClaims(_Closed):
    """Claims of a proof of possession (docs/wire-format.md)."""

    iss: AgentId
    aud: AgentId
    iat: NumericDate
    exp: NumericDate
    jti: B64Id
    chn: B64Id
    req: ProofRequest


class ReceiptClaims(_Closed):
    """Claims of a receipt: the accepting agent's signed ``allow`` of a parent token."""

    par: B64Id
    pol: StrictStr
    dec: Literal["allow"]
    iat: NumericDate


# The claims a parsed token holds: ``parse_jws(raw, ProofClaims)`` gives an
# ``UnverifiedToken[ProofClaims]``; a bare ``UnverifiedToken`` holds any of the three.
ClaimsT = TypeVar("ClaimsT", bound=_Closed, default=Any)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    if len(where) > 80:  # a hostile, deeply nested claim must not flood messages and logs
        where = f"{where[:40]}...{where[-37:]}"
    return where, str(err["msg"]).removeprefix("Value error, ")


class UnverifiedToken(NamedTuple, Generic[ClaimsT]):
    """A parsed compact JWS whose signature and claims have **not** been checked.

    ``token_id`` is base64url(SHA-256(``header.payload``)), the name used in ``prf``,
    revocation and the graph.
    """

    raw: str
    header: dict[str, Any]
    claims: ClaimsT
    signing_input: bytes
    signature: bytes
    token_id: str


def parse_jws(
    raw: str, model: type[ClaimsT], *, what: str = "token", max_bytes: int = _MAX_TOKEN_BYTES
) -> UnverifiedToken[ClaimsT]:
    """Split, decode and validate one compact JWS against ``model`` (no signature check).

    Raises ``OversizedError`` or ``MalformedError`` (with ``claim`` naming the field).
    """
    if not isinstance(raw, str):
        raise MalformedError(f"{what} is not a string")
    if len(raw) > max_bytes:
        raise OversizedError(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    if not raw.isascii():
        raise MalformedError(f"{what} has non-ASCII characters")
    h64, p64, s64 = split_compact(raw, what=what)
    header = _header(h64, what)
    part = "payload"
    try:  # messages are built only on failure: this is the verification hot path
        payload = json_object(b64url_decode(p64))
        part = "signature"
        signature = b64url_decode(s64)
        if model is DelegationClaims:
            _known_caps(payload)
        claims = model.model_validate(payload)
    except MalformedError as exc:
        raise MalformedError(f"{what} {part}: {exc.message}") from None
    except ValidationError as exc:
        where, msg = _first_error(exc)
        raise MalformedError(f"{what} claim {where or '?'}: {msg}", claim=where or None) from None
    signing_input = raw[: len(h64) + len(p64) + 1].encode("ascii")
    return UnverifiedToken(
        raw=raw,
        header=header,
        claims=claims,
        signing_input=signing_input,
        signature=signature,
        token_id=token_id_of(signing_input),
    )


@functools.lru_cache(maxsize=1024)
def _capability(wire: bytes) -> Capability:
    # Raises ValidationError (not cached) for an invalid capability.
    return Capability.model_validate(orjson.loads(wire))


def _known_caps(payload: dict[str, Any]) -> None:
    """Swap each capability of ``payload`` for its validated object, memoised by its JSON.

    A deployment has few distinct capabilities, and validating one is a pure function of
    its JSON: equal orjson bytes are the same JSON value (``1``, ``1.0`` and ``true``
    spell differently). Capabilities are deeply immutable, so tokens may share them. One
    that does not validate is left as it is: the claims' validation reports it, with its
    place, exactly as without the memo.
    """
    caps = payload.get("caps")
    if type(caps) is not list or len(caps) > 256:
        return
    for i, cap in enumerate(caps):
        if type(cap) is dict:
            with contextlib.suppress(ValidationError, orjson.JSONEncodeError, TypeError):
                caps[i] = _capability(_orjson_dumps(cap))


@functools.lru_cache(maxsize=1024)
def _header_cached(h64: str) -> dict[str, Any]:
    return json_object(b64url_decode(h64, what="header"), what="header")


def _header(h64: str, what: str) -> dict[str, Any]:
    # A deployment has few distinct headers (one per signing key): parse each once.
    if len(h64) > 512:
        raise OversizedError(f"{what} header is over 512 bytes")
    try:
        return dict(_header_cached(h64))  # a copy: callers may not change the cached one
    except MalformedError as exc:
        raise MalformedError(f"{what} {exc.message}") from None


@functools.lru_cache(maxsize=256)
def _header_segment(alg: str, kid: str, typ: str) -> bytes:
    # Header keys sorted, compact, ASCII: byte for byte what pyjwt writes. One per key.
    header = {"alg": alg, "kid": kid, "typ": typ}
    return b64url_encode(
        json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    ).encode()


def _has_float(value: object) -> bool:
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            stack.extend(v.values())
        elif t is list or t is tuple:
            stack.extend(v)
        elif t is float:
            return True
    return False


# Capability objects are shared (tokens' capabilities are memoised by their JSON, callers
# reuse theirs): their wire forms by identity, each kept with its object (its id stays its).
_WIRES: dict[int, tuple[Capability, dict[str, Any], bool]] = {}
_MAX_WIRES = 4096


def cap_wire(cap: Capability) -> tuple[dict[str, Any], bool]:
    """``cap.to_wire()``, shared (read it, do not change it), and whether its constraints
    are plain JSON (str-keyed objects, lists, strings, ints, booleans, null: no float)."""
    hit = _WIRES.get(id(cap))
    if hit is not None and hit[0] is cap:
        return hit[1], hit[2]
    wire = cap.to_wire()
    plain = "constraints" not in wire or plain_json(wire["constraints"])
    if len(_WIRES) >= _MAX_WIRES:
        _WIRES.clear()
    _WIRES[id(cap)] = (cap, wire, plain)
    return wire, plain


def _payload_json(payload: dict[str, Any], float_free: bool = False) -> bytes:
    """Compact JSON exactly as ``json.dumps(separators=(",", ":"), ensure_ascii=True)``.

    orjson writes the same bytes for ASCII text without DEL, integers and containers;
    anything else (non-ASCII or DEL, which it does not escape; floats, which it may spell
    in another exponent form; integers past 64 bits) goes through ``json.dumps``. Of the
    claims this library signs only capabilities can carry a float, so only they are
    searched; a float elsewhere keeps its value, spelt as orjson spells it.
    """
    try:
        body: bytes = _orjson_dumps(payload)
    except (TypeError, orjson.JSONEncodeError):
        body = b"\x80"  # not ASCII: the stdlib path below
    if (
        not body.isascii()
        or b"\x7f" in body
        or (not float_free and _has_float(payload.get("caps")))
    ):
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return body


def encode_jws(key: Signer, typ: str, payload: dict[str, Any], *, float_free: bool = False) -> str:
    """Sign ``payload`` as a compact JWS with header ``{alg, kid, typ}``.

    The bytes are those pyjwt writes (sorted header keys, compact ASCII JSON); the
    interop tests decode every token we mint with pyjwt and joserfc. ``float_free``: the
    caller knows that the capabilities hold no float (``cap_wire`` said so).
    """
    body = _payload_json(payload, float_free)
    signing_input = _header_segment(key.alg, key.kid, typ) + b"." + _b64_bytes(body)
    return (signing_input + b"." + _b64_bytes(key.sign(signing_input))).decode("ascii")


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64_bytes(data: bytes) -> bytes:
    # base64.urlsafe_b64encode without its two Python frames: the same bytes.
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


class Chain:
    """An immutable chain of delegation tokens, root first.

    ``str(chain)`` is the wire form (tokens joined by ``~``, the ``Delegation-Chain``
    header); :meth:`parse` reads it, or a JSON list of tokens.

    >>> Chain.parse("a.b.c~d.e.f").tokens
    ('a.b.c', 'd.e.f')
    """

    __slots__ = ("_tokens",)
    _tokens: tuple[str, ...]

    def __init__(self, tokens: Iterable[str]) -> None:
        toks = tuple(tokens)
        if not toks:
            raise MalformedError("a chain needs at least one token")
        if len(toks) > _MAX_CHAIN_TOKENS:
            raise OversizedError(f"chain has {len(toks)} tokens, over {_MAX_CHAIN_TOKENS}")
        for i, t in enumerate(toks):
            # Shape only; parse_jws checks the characters when the token is read.
            if not isinstance(t, str) or t.count(".") != 2:
                raise MalformedError(
                    f"chain element {i} is not a compact JWS (header.payload.signature)", hop=i
                )
        object.__setattr__(self, "_tokens", toks)

    @classmethod
    def _of_minted(cls, tokens: tuple[str, ...]) -> Chain:
        # A Delegator's result: a chain it held (checked) and the compact JWS it just
        # encoded; within the ceiling, since minting refuses longer chains before signing.
        if not 0 < len(tokens) <= _MAX_CHAIN_TOKENS:
            return cls(tokens)
        chain = object.__new__(cls)
        object.__setattr__(chain, "_tokens", tokens)
        return chain

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Chain is immutable")

    @classmethod
    def parse(cls, text: str) -> Chain:
        """Read a chain from its ``~``-joined form or a JSON list of tokens.

        Raises ``MalformedError`` / ``OversizedError``.
        """
        if not isinstance(text, str):
            raise MalformedError("a chain must be text")
        if len(text) > _MAX_CHAIN_TOKENS * _MAX_TOKEN_BYTES:
            raise OversizedError("chain text is too large")
        text = text.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise MalformedError("chain is not valid JSON") from None
            if not isinstance(value, list):
                raise MalformedError("a JSON chain must be a list of token strings")
            return cls(value)
        if not text:
            raise MalformedError("the chain is empty")
        return cls(text.split("~"))

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def __str__(self) -> str:
        return "~".join(self._tokens)

    def __repr__(self) -> str:
        return f"Chain(<{len(self._tokens)} tokens>)"

    def __len__(self) -> int:
        return len(self._tokens)

    def __iter__(self) -> Iterator[str]:
        return iter(self._tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chain) and other._tokens == self._tokens

    def __hash__(self) -> int:
        return hash(self._tokens)

    def to_json(self) -> list[str]:
        """The JSON form: a list of compact tokens, root first."""
        return list(self._tokens)


def parse_unverified(chain: Chain | str) -> list[UnverifiedToken[DelegationClaims]]:
    """Parse every token of a chain **without verifying anything** (for inspection, graphs).

    Warning: nothing returned here may be used for an authorization decision; use
    :meth:`delegation.Verifier.verify`.

    >>> parse_unverified("not a chain")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    delegation.errors.MalformedError: chain element 0 is not a compact JWS ...
    """
    if isinstance(chain, str):
        chain = Chain.parse(chain)
    out = []
    for i, raw in enumerate(chain.tokens):
        try:
            out.append(parse_jws(raw, DelegationClaims, what=f"token {i}"))
        except DelegationError as exc:
            exc.hop = i
            raise
    return out
