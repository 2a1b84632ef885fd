"""Cedar adapter: a policy written in Cedar, evaluated by cedarpy (extra ``delegation[cedar]``).

The request a Cedar policy sees:

* ``principal`` = ``Agent::"<holder>"``;
* ``action`` = ``Action::"<tool>"`` for an invocation; for an offered delegation
  ``Delegation::Action::"accept"`` (its own namespace, so that no tool, not even one
  named ``accept``, can match it), evaluated once per offered capability (all must be
  allowed). A policy naming a bare ``Action::"accept"`` is refused as ambiguous (write
  ``Delegation::Action::"accept"``, or ``context.tool == "accept"`` for such a tool);
* ``resource`` = ``Resource::"<resource>"`` (for ``accept``: the capability's resource
  pattern);
* ``context`` = ``{action, tool, resource, depth, remaining_depth, root, task, path (set),
  delegator?, obo?, purpose?, labels (record), tool_labels (set), args (record),
  environment (record), time (int seconds), hour (UTC, int), weekday ("mon".."sun")}``;
  ``?`` marks attributes omitted when unknown, so guard them with ``context has obo``.

Cedar cannot name an entity's id in an expression, hence ``context.tool`` and
``context.resource`` (for ``like`` patterns). Cedar's ``like`` ``*`` crosses segment
separators, unlike the capability pattern grammar: ``"crm.*"`` also matches
``crm.a.b``.

Fail closed, beyond Cedar's own semantics:

* Cedar skips a policy whose evaluation fails; a skipped ``forbid`` could let a request
  through, so an ``Allow`` that came with evaluation errors is a deny here;
* values Cedar cannot hold (``null``, floats that are neither integral nor 4-place
  decimals, record keys starting with ``__``, which Cedar's JSON reads as entity or
  extension escapes) deny the request rather than being dropped or reinterpreted.

Policies, entities and schema are parsed once, at construction (cedarpy's
``PolicySet``, ``Entities`` and ``Schema`` handles); ``decide`` only builds the request.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import rfc8785

from .._files import read_text
from .._jose import b64url_encode
from ..errors import ConfigurationError, InternalError, InvalidPolicy
from . import NO_RULE, WEEKDAYS, Decision, PolicyContext
from ._explain import bounded

__all__ = ["CedarPolicy"]

_LONG = 2**63
_DECIMAL_MAX = Decimal(_LONG - 1) / 10_000
_ERROR_POLICY = re.compile(r"policy `([^`]+)`")
#: Acceptance has its own action namespace: tool calls are ``Action::"<tool>"``.
_ACCEPT = {"type": "Delegation::Action", "id": "accept"}


def _cedarpy() -> Any:
    try:
        import cedarpy
    except ImportError:
        raise ConfigurationError(
            "the Cedar policy engine needs cedarpy: pip install 'delegation[cedar]'"
        ) from None
    return cedarpy


class _Unrepresentable(ValueError):
    """A context value Cedar has no faithful form for."""


def _value(v: Any, where: str) -> Any:
    """One JSON value in Cedar's JSON form, or ``_Unrepresentable``."""
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        if not -_LONG <= v < _LONG:
            raise _Unrepresentable(f"{where} is outside Cedar's 64-bit integers")
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise _Unrepresentable(f"{where} is not a finite number")
        if v.is_integer() and -_LONG <= v < _LONG:
            return int(v)
        d = Decimal(repr(v))
        exponent = d.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -4 and abs(d) <= _DECIMAL_MAX:
            return {"__extn": {"fn": "decimal", "arg": str(d)}}
        raise _Unrepresentable(f"{where} = {v!r} is not a Cedar decimal (at most 4 places)")
    if isinstance(v, list | tuple | set | frozenset):
        return [_value(x, f"{where}[]") for x in v]
    if isinstance(v, Mapping):
        return _record(v, where)
    if v is None:
        raise _Unrepresentable(f"{where} is null, which Cedar cannot represent")
    raise _Unrepresentable(f"{where} is a {type(v).__name__}, not a JSON value")


def _record(m: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in m.items():
        if not isinstance(k, str) or k.startswith("__"):
            raise _Unrepresentable(f"{where} key {k!r} is reserved in Cedar's JSON")
        out[k] = _value(v, f"{where}.{k}")
    return out


def _names_bare_accept(node: Any) -> bool:
    """True when a policy (Cedar's JSON form) refers to the entity ``Action::"accept"``."""
    if isinstance(node, dict):
        if node.get("type") == "Action" and node.get("id") == "accept":
            return True
        return any(_names_bare_accept(v) for v in node.values())
    if isinstance(node, list):
        return any(_names_bare_accept(v) for v in node)
    return False


def _statements(text: str) -> list[tuple[int, str]]:
    """Split Cedar text at top-level ``;`` (outside strings and comments), with lines."""
    out: list[tuple[int, str]] = []
    start = i = 0
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            out.append((start, text[start : i + 1]))
            start = i + 1
        i += 1
    out.append((start, text[start:]))
    located: list[tuple[int, str]] = []
    for offset, chunk in out:
        for n, line in enumerate(chunk.split("\n")):
            stripped = line.strip()
            if stripped and not stripped.startswith("//"):
                located.append((text.count("\n", 0, offset) + n + 1, chunk))
                break
    return located


def _locate_parse_error(cedar: Any, text: str, source: str, exc: Exception) -> InvalidPolicy:
    """Re-parse statement by statement to say which line holds the invalid policy."""
    for line, chunk in _statements(text):
        try:
            cedar.PolicySet.from_str(chunk)
        except ValueError as inner:
            return InvalidPolicy(f"{source}:{line}: invalid Cedar policy: {inner}")
    return InvalidPolicy(f"{source}: invalid Cedar policies: {exc}")


class CedarPolicy:
    """A policy written in Cedar (see the module docstring for the request mapping).

    Raises ``InvalidPolicy`` (``invalid_policy``) when the policies, entities or schema
    do not parse or validate, and ``ConfigurationError`` when cedarpy is not installed.

    >>> policy = CedarPolicy('@id("reads") permit(principal, action, resource) '
    ...                      'when { context.tool == "crm.read" };')
    >>> policy.digest.startswith("cedar:"), policy.names
    (True, ('reads',))
    """

    digest: str

    def __init__(
        self,
        policies: str,
        *,
        entities: Sequence[Mapping[str, Any]] | None = None,
        schema: str | None = None,
        source: str = "<string>",
    ) -> None:
        cedar = _cedarpy()
        if not isinstance(policies, str):
            raise InvalidPolicy(f"{source}: Cedar policies must be text")
        self.source = source
        self._cedar = cedar
        try:
            self._policies = cedar.PolicySet.from_str(policies)
        except ValueError as exc:
            raise _locate_parse_error(cedar, policies, source, exc) from None
        self._names, self._permits = self._policy_names(cedar, policies, source)
        self._schema = self._parse_schema(cedar, policies, schema, source)
        if entities is not None and (
            not isinstance(entities, Sequence)
            or isinstance(entities, str)
            or not all(isinstance(e, Mapping) for e in entities)
        ):
            raise InvalidPolicy(f"{source}: Cedar entities must be a list of objects")
        entity_list = [dict(e) for e in entities or ()]
        try:
            entities_json = json.dumps(entity_list, allow_nan=False)
            canonical = rfc8785.dumps(
                {"entities": entity_list, "policies": policies, "schema": schema}
            )
        except (TypeError, ValueError, rfc8785.CanonicalizationError) as exc:
            raise InvalidPolicy(f"{source}: Cedar entities are not JSON: {exc}") from None
        try:
            self._entities = cedar.Entities.from_json_str(entities_json, self._schema)
        except ValueError as exc:
            raise InvalidPolicy(f"{source}: invalid Cedar entities: {exc}") from None
        sha = hashlib.sha256(canonical).digest()
        self.digest = "cedar:" + b64url_encode(sha)

    @staticmethod
    def _policy_names(
        cedar: Any, policies: str, source: str
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """Cedar policy id -> its ``@id`` annotation (or the id itself), ``@id``s unique;
        and the names of the ``permit`` policies (text order)."""
        est = json.loads(cedar.policies_to_json_str(policies))
        if _names_bare_accept(est):
            raise InvalidPolicy(
                f'{source}: Action::"accept" is ambiguous: acceptance of a delegation is '
                'Delegation::Action::"accept"; a tool named accept is Action::"accept" only '
                'in the request, so name it by context.tool == "accept"'
            )
        names: dict[str, str] = {}
        permits: list[str] = []
        for group in ("staticPolicies", "templates"):
            for pid, body in (est.get(group) or {}).items():
                names[pid] = (body.get("annotations") or {}).get("id", pid)
                if body.get("effect") == "permit":
                    permits.append(names[pid])
        seen: set[str] = set()
        for name in names.values():
            if name in seen:
                raise InvalidPolicy(f"{source}: two Cedar policies are named @id({name!r})")
            seen.add(name)
        return names, tuple(permits)

    @staticmethod
    def _parse_schema(cedar: Any, policies: str, schema: str | None, source: str) -> Any:
        if schema is None:
            return None
        try:
            if schema.lstrip().startswith("{"):
                handle = cedar.Schema.from_json_str(schema)
            else:
                handle = cedar.Schema.from_str(schema)
        except ValueError as exc:
            raise InvalidPolicy(f"{source}: invalid Cedar schema: {exc}") from None
        result = cedar.validate_policies(policies, handle)
        if not result.validation_passed:
            problems = "; ".join(str(e) for e in result.errors[:3])
            raise InvalidPolicy(f"{source}: Cedar policies do not match the schema: {problems}")
        return handle

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        entities_path: str | os.PathLike[str] | None = None,
        *,
        schema_path: str | os.PathLike[str] | None = None,
    ) -> CedarPolicy:
        """Read a ``.cedar`` file, optionally a JSON entities file and a schema file.

        Raises ``FileError`` when a file cannot be read, ``InvalidPolicy`` when one is
        malformed (the message names the file).
        """
        text = read_text(path, what="Cedar policy file")
        entities: list[dict[str, Any]] | None = None
        if entities_path is not None:
            raw = read_text(entities_path, what="Cedar entities file")
            where = os.fspath(entities_path)
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidPolicy(f"{where}:{exc.lineno}: {exc.msg}") from None
            if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
                raise InvalidPolicy(f"{where}:1: Cedar entities must be a list of objects")
            entities = value
        schema = None
        if schema_path is not None:
            schema = read_text(schema_path, what="Cedar schema file")
        return cls(text, entities=entities, schema=schema, source=os.fspath(path))

    @property
    def names(self) -> tuple[str, ...]:
        """The policies' names (``@id`` annotations, else Cedar's ids), in text order."""
        return tuple(self._names.values())

    def __repr__(self) -> str:
        return f"<CedarPolicy {self.source} {len(self._names)} policies {self.digest}>"

    # --- deciding --- #

    def _context(
        self, c: PolicyContext, tool: str, resource: str, args: Mapping[str, Any]
    ) -> dict[str, Any]:
        seconds = math.floor(c.time)
        utc = time.gmtime(seconds)
        ctx: dict[str, Any] = {
            "action": c.action,
            "tool": tool,
            "resource": resource,
            "depth": c.depth,
            "remaining_depth": c.remaining_depth,
            "root": c.root,
            "task": c.task,
            "path": list(c.path),
            "labels": _record(c.labels, "labels"),
            "tool_labels": sorted(c.tool_labels),
            "args": _record(args, "args"),
            "environment": _record(c.environment, "environment"),
            "time": seconds,
            "hour": utc.tm_hour,
            "weekday": WEEKDAYS[utc.tm_wday],
        }
        if c.obo is not None:
            ctx["obo"] = c.obo
        if c.purpose is not None:
            ctx["purpose"] = c.purpose
        if c.delegator is not None:
            ctx["delegator"] = c.delegator
        return ctx

    def _requests(self, c: PolicyContext) -> list[tuple[str, dict[str, Any]]]:
        principal = {"type": "Agent", "id": c.holder}
        if c.action == "accept":
            return [
                (
                    f"accepting {cap}",
                    {
                        "principal": principal,
                        "action": _ACCEPT,
                        "resource": {"type": "Resource", "id": cap.resource},
                        "context": self._context(c, cap.tool, cap.resource, {}),
                    },
                )
                for cap in c.capabilities
            ]
        request = c.request
        if request is None:
            return []
        return [
            (
                f"{request.tool} on {request.resource}",
                {
                    "principal": principal,
                    "action": {"type": "Action", "id": request.tool},
                    "resource": {"type": "Resource", "id": request.resource},
                    "context": self._context(c, request.tool, request.resource, request.args),
                },
            )
        ]

    def _name(self, pid: str) -> str:
        return self._names.get(pid, pid)

    def _named(self, error: str) -> str:
        """A Cedar error message with each policy id replaced by the policy's name."""
        return _ERROR_POLICY.sub(lambda m: f"policy `{self._name(m[1])}`", error)

    def decide(self, context: PolicyContext) -> Decision:
        """Ask Cedar (deny overrides allow; no permit = "no rule allows it").

        Raises ``InternalError`` when cedarpy itself fails (the verifier denies).

        >>> from delegation import Request
        >>> policy = CedarPolicy('@id("reads") permit (principal, action, resource) '
        ...                      'when { context.tool == "crm.read" && context.hour < 12 };')
        >>> context = PolicyContext(
        ...     holder="agent:b", request=Request(tool="crm.read", resource="customers/1"),
        ...     path=("agent:root", "agent:b"), root="agent:root", depth=1,
        ...     remaining_depth=0, task="T-1", obo=None, purpose=None, capabilities=(),
        ...     time=0.0)
        >>> policy.decide(context)
        Decision(effect='allow', rules=('reads',), reason='allowed by Cedar policy reads')
        """
        try:
            requests = self._requests(context)
        except _Unrepresentable as exc:
            return Decision("deny", (), f"cannot give Cedar this request: {exc}")
        except (OverflowError, OSError, ValueError) as exc:
            raise InternalError(f"cannot build the Cedar request: {exc}") from None
        if not requests:
            what = "capabilities offered" if context.action == "accept" else "request"
            return Decision("deny", (), f"no {what}")
        try:
            results = self._cedar.is_authorized_batch(
                [r for _, r in requests], self._policies, self._entities, self._schema
            )
        except Exception as exc:  # any failure inside cedarpy is ours, never an allow
            raise InternalError(f"Cedar evaluation failed: {type(exc).__name__}: {exc}") from None
        allowed: dict[str, None] = {}
        forbidden: dict[str, None] = {}
        unmatched = ""
        for (what, _), result in zip(requests, results, strict=True):
            reasons = [self._name(p) for p in result.diagnostics.reasons]
            errors = list(result.diagnostics.errors)
            if errors or result.decision.value == "NoDecision":
                # Cedar skips a policy that fails; a skipped forbid must not let this through.
                failed = (self._name(m) for e in errors for m in _ERROR_POLICY.findall(e))
                problem = errors[0] if errors else "no decision"
                explanation = [f"error: {self._named(e)}" for e in errors]
                explanation += [f"{n}: forbid matched" for n in reasons if not result.allowed]
                return Decision(
                    "deny",
                    tuple(dict.fromkeys(failed)),
                    f"Cedar could not decide {what}: {problem}",
                    bounded(explanation or [f"Cedar made no decision on {what}"]),
                )
            if result.allowed:
                allowed.update(dict.fromkeys(reasons))
            elif reasons:
                forbidden.update(dict.fromkeys(reasons))
            else:
                unmatched = unmatched or what
        if forbidden:
            names = tuple(forbidden)
            return Decision(
                "deny",
                names,
                f"denied by Cedar policy {names[0]}",
                bounded(f"{n}: forbid matched" for n in names),
            )
        if unmatched:
            reason = NO_RULE if len(requests) == 1 else f"{NO_RULE}: {unmatched}"
            tried = (f"{n}: permit did not apply to {unmatched}" for n in self._permits)
            return Decision(
                "deny", (), reason, bounded(tried) if self._permits else ("no permit policy",)
            )
        names = tuple(allowed)
        return Decision("allow", names, f"allowed by Cedar policy {', '.join(names)}")
