"""The built-in rules engine: a policy file (YAML or JSON) of allow and deny rules.

A file, version 1::

    version: 1
    rules:
      - id: allow-crm-eu              # unique
        effect: allow                 # allow | deny
        actions: [invoke]             # invoke | accept (default [invoke])
        tool: "crm.*"                 # capability pattern grammar (default "**")
        resource: "customers/eu/**"   # (default "**")
        reason: "EU CRM reads"        # optional, becomes Decision.reason
        when:                         # every condition present must hold
          max_depth: 3
          labels: {sensitivity: [low, medium]}
          time: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", tz: UTC}

Semantics. For ``invoke``, a rule applies when its tool and resource patterns match the
request and its conditions hold. For ``accept`` (a delegation offered), an allow rule
applies when it covers every offered capability's patterns; a deny rule applies when
its patterns overlap any offered capability's (some concrete value matches both); a
rule with ``args`` never applies to ``accept``. Deny overrides allow; when no rule
applies the answer is deny ("no rule allows it").

A deny explains itself (``Decision.explanation``): the deny rules that matched, or each
allow rule with the first condition that did not hold (``office-hours: time 21:04
outside 09:00-18:00 Europe/Berlin``), the rules whose patterns fit the request first.

An ``args`` condition that cannot be evaluated (the argument is missing, or of the wrong
type for ``min``/``max``/``prefix``) counts as matched in a deny rule and as not matched
in an allow rule: both fail closed, as Cedar does on the evaluation error. Arguments come
from the requester; labels and environment come from the verifier's own caller, and an
absent one is simply not matched.

The file is parsed and validated once; ``decide`` runs precompiled checks. A malformed
file raises :class:`~delegation.errors.InvalidPolicy` naming the file, the line and the
field (``policy.yaml:12: rules[2].when.max_depth: Input should be a valid integer``).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import rfc8785

from .._files import read_text
from .._jose import b64url_encode
from ..capabilities import Capability
from ..errors import InvalidPolicy
from ..patterns import overlaps, pattern_covers
from . import NO_RULE, Decision, PolicyContext
from ._explain import bounded, show
from ._rules_compile import Compiled, compile_rule, wire
from ._rules_load import parse_document, validate_document
from ._rules_model import Conditions, PolicyDocument, Rule, TimeWindow

__all__ = ["Conditions", "PolicyDocument", "Rule", "RulesPolicy", "TimeWindow"]

Candidates = tuple[tuple[Compiled, ...], tuple[Compiled, ...]]


class RulesPolicy:
    """A policy read from a rules file: deny overrides allow, no applicable rule denies.

    Build it with :meth:`load`, :meth:`from_text` or :meth:`from_dict`; each raises
    ``InvalidPolicy`` (code ``invalid_policy``) naming the line and field at fault.

    >>> policy = RulesPolicy.from_text('''
    ... version: 1
    ... rules:
    ...   - {id: read-crm, effect: allow, tool: crm.read, resource: "customers/**"}
    ... ''')
    >>> policy.digest.startswith("rules:"), [r.id for r in policy.document.rules]
    (True, ['read-crm'])
    """

    digest: str

    def __init__(self, document: PolicyDocument, *, source: str = "<policy>") -> None:
        ids = [r.id for r in document.rules]
        if len(set(ids)) != len(ids):
            raise InvalidPolicy(f"{source}: rule ids must be unique")
        self.document = document
        self.source = source
        sha = hashlib.sha256(rfc8785.dumps(wire(document))).digest()
        self.digest = "rules:" + b64url_encode(sha)
        compiled = tuple(compile_rule(r) for r in document.rules)
        self._invoke = tuple(r for r in compiled if r.invoke)
        self._accept = tuple(r for r in compiled if r.accept)
        # Per instance, bounded: which rules' patterns fit a (tool, resource) or an offer.
        self._invoke_candidates = functools.lru_cache(maxsize=4096)(self._select_invoke)
        self._accept_candidates = functools.lru_cache(maxsize=1024)(self._select_accept)

    # --- construction --- #

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RulesPolicy:
        """Read a policy file (``.json``, ``.yaml``/``.yml``, or sniffed from its content).

        Raises ``FileError`` when the file cannot be read, ``InvalidPolicy`` when it is
        malformed.
        """
        source = os.fspath(path)
        return cls.from_text(read_text(path, what="policy file"), source=source)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<string>") -> RulesPolicy:
        """Parse policy text (YAML or JSON); ``source`` names it in error messages.

        >>> RulesPolicy.from_text('{"version": 1, "rules": [{"id": "x"}]}')
        Traceback (most recent call last):
        ...
        delegation.errors.InvalidPolicy: <string>:1: rules[0].effect: Field required
        """
        return cls(parse_document(text, source), source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> RulesPolicy:
        """Build a policy from already-parsed data (errors name fields, not lines).

        >>> RulesPolicy.from_dict({"version": 1, "rules": [{"id": "a", "effect": "deny"}]})
        ... # doctest: +ELLIPSIS
        <RulesPolicy <dict> 1 rules rules:...>
        """
        return cls(validate_document(dict(data), None, source), source=source)

    def __repr__(self) -> str:
        return f"<RulesPolicy {self.source} {len(self.document.rules)} rules {self.digest}>"

    # --- deciding --- #

    def _select_invoke(self, tool: str, resource: str) -> Candidates:
        t = tuple(tool.split("."))
        r = tuple(resource.split("/"))
        hits = [x for x in self._invoke if x.tool.matches(t) and x.resource.matches(r)]
        return tuple(x for x in hits if x.deny), tuple(x for x in hits if not x.deny)

    def _select_accept(self, offered: tuple[tuple[str, str], ...]) -> Candidates:
        deny = tuple(
            x
            for x in self._accept
            if x.deny
            and any(
                overlaps(x.tool.text, t, ".") and overlaps(x.resource.text, r, "/")
                for t, r in offered
            )
        )
        allow = tuple(
            x
            for x in self._accept
            if not x.deny
            and all(
                pattern_covers(x.tool.text, t, ".") and pattern_covers(x.resource.text, r, "/")
                for t, r in offered
            )
        )
        return deny, allow

    def decide(self, context: PolicyContext) -> Decision:
        """Decide on one request or one offered delegation (deny overrides allow).

        ``Decision.rules`` names the applicable deny rules when there are any, else the
        applicable allow rules; with neither the decision is deny, "no rule allows it".

        >>> from delegation import Request
        >>> policy = RulesPolicy.from_text(
        ...     "{version: 1, rules: [{id: reads, effect: allow, tool: crm.read}]}")
        >>> context = PolicyContext(
        ...     holder="agent:b", request=Request(tool="crm.read", resource="customers/1"),
        ...     path=("agent:root", "agent:b"), root="agent:root", depth=1,
        ...     remaining_depth=0, task="T-1", obo=None, purpose=None, capabilities=(),
        ...     time=0.0)
        >>> policy.decide(context)
        Decision(effect='allow', rules=('reads',), reason='allowed by rule reads')
        """
        if context.action == "accept":
            caps: tuple[Capability, ...] = context.capabilities
            if not caps:
                return Decision("deny", (), "no capabilities offered")
            deny, allow = self._accept_candidates(tuple((c.tool, c.resource) for c in caps))
        else:
            request = context.request
            if request is None:
                return Decision("deny", (), "an invocation without a request")
            deny, allow = self._invoke_candidates(request.tool, request.resource)
        denied = [x for x in deny if x.holds(context)]
        if denied:
            lines = (
                f"{x.id}: deny rule matched" + (f": {x.note}" if x.note else "") for x in denied
            )
            return Decision("deny", tuple(x.id for x in denied), denied[0].reason, bounded(lines))
        allowed = [x for x in allow if x.holds(context)]
        if allowed:
            return Decision("allow", tuple(x.id for x in allowed), allowed[0].reason)
        return Decision("deny", (), NO_RULE, bounded(self._misses(context, allow)))

    def _misses(self, context: PolicyContext, tried: tuple[Compiled, ...]) -> Iterator[str]:
        """Why no allow rule applies: first the rules whose patterns fit, each with the
        condition that did not hold, then the others (file order, both)."""
        for x in tried:
            yield f"{x.id}: {x.why_not(context)}"
        rules = self._accept if context.action == "accept" else self._invoke
        seen = {id(x) for x in tried}
        others = [x for x in rules if not x.deny and id(x) not in seen]
        if not tried and not others:
            yield f"no allow rule is about {context.action}"
        for x in others:
            if context.request is None or context.action == "accept":
                yield f"{x.id}: {x.tool.text} on {x.resource.text} does not cover the offer"
            elif not x.tool.matches(tuple(context.request.tool.split("."))):
                yield f"{x.id}: tool {x.tool.text} does not match {show(context.request.tool)}"
            else:
                yield (
                    f"{x.id}: resource {x.resource.text} does not match "
                    f"{show(context.request.resource)}"
                )
