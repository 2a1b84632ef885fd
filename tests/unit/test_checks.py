"""delegation.checks called directly: each refusal with its code, hop, claim and exact message.

The verification tests assert codes; these pin the rest of what a check returns (the
message names the hops and values involved, ``claim`` names the field), so a check that
starts describing the wrong hop or field is caught here.
"""

from __future__ import annotations

from typing import Any

import pytest

from delegation import Capability, DelegationError
from delegation.checks import (
    act_problem,
    attenuation_problems,
    first,
    header_problem,
    link_problems,
    root_problems,
    time_problems,
)
from delegation.tokens import TOKEN_TYP, DelegationClaims

ALGS = frozenset({"EdDSA", "ES256"})
NOT_ALLOWED = "alg '%s' is not allowed (allowed: ES256, EdDSA)"
NOT_ROOT = "the chain does not start at a root grant"
GOOD = {"alg": "EdDSA", "typ": TOKEN_TYP, "kid": "k1"}


def hop(**kw: Any) -> DelegationClaims:
    base: dict[str, Any] = {
        "iss": "x:a", "sub": "x:b", "aud": "x:b", "iat": 100, "exp": 200, "jti": "j" * 22,
        "cnf": {"jwk": {}}, "task": "T", "caps": [Capability(tool="crm.read")], "dpth": 2,
        "act": {"sub": "x:a"},
    }  # fmt: skip
    return DelegationClaims.model_validate({**base, **kw})


def facts(err: DelegationError | None) -> tuple[str, int | None, str | None, str]:
    assert err is not None
    return err.code, err.hop, err.claim, err.message


@pytest.mark.parametrize(
    ("header", "hop_", "expected"),
    [
        (
            {**GOOD, "alg": "none"},
            2,
            ("alg_not_allowed", 2, None, f"token 2: {NOT_ALLOWED % 'none'}"),
        ),
        (
            {**GOOD, "alg": "HS256"},
            None,
            ("alg_not_allowed", None, None, f"proof: {NOT_ALLOWED % 'HS256'}"),
        ),
        (
            {**GOOD, "crit": ["exp"]},
            2,
            ("bad_header", 2, "crit", "token 2: 'crit' header is not supported"),
        ),
        (
            {**GOOD, "jwk": {}, "x5u": "u"},
            2,
            (
                "bad_header", 2, None,
                "token 2: header member(s) ['jwk', 'x5u'] not allowed "
                "(keys are never taken from a token)",
            ),
        ),
        (
            {**GOOD, "typ": "JWT"},
            2,
            ("wrong_token_type", 2, None, "token 2: typ 'JWT', expected 'deleg+jwt'"),
        ),
        (
            {k: v for k, v in GOOD.items() if k != "kid"},
            2,
            ("bad_header", 2, "kid", "token 2: header needs a 'kid' string"),
        ),
    ],
)  # fmt: skip
def test_header_problem(
    header: dict[str, Any], hop_: int | None, expected: tuple[Any, ...]
) -> None:
    """Each header rule, with the hop (or "proof") and the offending value in the message."""
    assert header_problem(GOOD, TOKEN_TYP, hop=hop_, algorithms=ALGS) is None
    assert facts(header_problem(header, TOKEN_TYP, hop=hop_, algorithms=ALGS)) == expected


def test_root_problems() -> None:
    """A root naming a parent, or carrying a receipt, is refused at hop 0."""
    assert list(root_problems(hop(), receipt=False)) == []
    got = [facts(e) for e in root_problems(hop(prf="p" * 43), receipt=True)]
    assert got == [
        ("broken_link", 0, "prf", f"token 0 names a parent: {NOT_ROOT}"),
        ("bad_receipt", 0, "rcpt", "token 0 carries a receipt: a root grant accepts no parent"),
    ]  # fmt: skip


def test_link_problems() -> None:
    """prf, issuer and repeated jti, each naming the right hops."""
    parent = hop(sub="x:b")
    child = hop(iss="x:c", prf="q" * 43)
    seen = {"j" * 22}
    got = [facts(e) for e in link_problems(child, parent, "p" * 43, 3, seen_jti=seen)]
    assert got == [
        ("broken_link", 3, "prf", "token 3 does not name token 2 as its parent (prf)"),
        ("broken_link", 3, "iss", "token 3 is issued by x:c, but token 2 was delegated to x:b"),
        ("broken_link", 3, "jti", "token 3 repeats a jti of the chain"),
    ]


def test_time_problems_default_skew_is_zero() -> None:
    """Without ``skew`` the clock is exact: expired at exp, not yet valid one second early."""
    child = hop(iat=100, exp=200)
    assert first(time_problems(child, None, 1, max_lifetime=1000, now=199)) is None
    assert facts(first(time_problems(child, None, 1, max_lifetime=1000, now=200))) == (
        "expired", 1, "exp", "token 1 expired",
    )  # fmt: skip
    assert facts(first(time_problems(child, None, 1, max_lifetime=1000, now=99))) == (
        "not_yet_valid", 1, "iat", "token 1 was issued in the future (iat)",
    )  # fmt: skip


def test_attenuation_problems() -> None:
    """Scope, depth, task and principal, each naming the hop and the parent's hop."""
    parent = hop(dpth=2, caps=[Capability(tool="crm.read")], task="T", obo="user:a")
    child = hop(dpth=2, caps=[Capability(tool="crm.write")], task="U", obo="user:b")
    got = [facts(e) for e in attenuation_problems(child, parent, 3)]
    assert got == [
        (
            "scope_escalation", 3, "caps",
            f"token 3 grants {Capability(tool='crm.write')}, which token 2 does not cover",
        ),
        ("depth_exceeded", 3, "dpth", "token 3 has dpth 2; its parent allows at most 1"),
        ("task_mismatch", 3, "task", "token 3 changes the task"),
        ("principal_mismatch", 3, "obo", "token 3 changes the principal (obo)"),
    ]  # fmt: skip


def test_act_problem() -> None:
    """act must be {issuer, parent's act}; otherwise act_mismatch naming the hop."""
    parent = hop(act={"sub": "x:o"})
    good = hop(iss="x:a", act={"sub": "x:a", "act": {"sub": "x:o"}})
    assert act_problem(good, parent, 2) is None
    bad = hop(iss="x:a", act={"sub": "x:a"})
    assert facts(act_problem(bad, parent, 2)) == (
        "act_mismatch", 2, "act", "token 2: act does not mirror the chain's issuers",
    )  # fmt: skip


def test_time_problems_lifetime_edges_and_messages() -> None:
    """A lifetime of exactly the maximum is fine, one second more is not; each lifetime and
    validity refusal names the hop, the claim and the numbers."""
    assert first(time_problems(hop(iat=100, exp=200), None, 1, max_lifetime=100)) is None
    got = [facts(e) for e in time_problems(hop(iat=100, exp=201), None, 1, max_lifetime=100)]
    assert got == [
        ("lifetime_exceeded", 1, "exp", "token 1: lifetime 101s is over the 100s maximum")
    ]
    got = [facts(e) for e in time_problems(hop(iat=100, exp=100), None, 1, max_lifetime=100)]
    assert got == [("lifetime_exceeded", 1, "exp", "token 1: exp is not after iat")]
    child = hop(iat=100, exp=300, nbf=250)
    got = [facts(e) for e in time_problems(child, hop(exp=200), 1, max_lifetime=1000, now=150)]
    assert got == [
        ("not_yet_valid", 1, "nbf", "token 1 is not valid yet (nbf)"),
        ("lifetime_exceeded", 1, "exp", "token 1 outlives its parent"),
    ]
