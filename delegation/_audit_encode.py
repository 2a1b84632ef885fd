"""The bytes of an audit record (glue for ``audit.JsonlAudit``, not API).

A record line is ``json.dumps(record, separators=(",", ":"))`` (ASCII, non-ASCII
escaped) of ``{"v", "seq", "ts", "event", ...the event's fields..., "prev"}``, where the
event's fields are ``model_dump(mode="json", exclude_none=True)``. Writing that through
pydantic and the stdlib costs more than the verification it records, so the common case
goes a faster way to the same bytes: the event's fields are read from the model as they
are (strings, integers, booleans, nested facts, capabilities in their wire form, plain
JSON labels) and written by orjson, which writes exactly what ``json.dumps`` writes for
such values as long as the output is ASCII without DEL. Anything else (a float outside
``ts``, non-ASCII text, a value of another type) goes the reference way. A test holds
both ways to the same bytes for every event type.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from pydantic import BaseModel

from ._jose import plain_json
from .capabilities import Capability
from .errors import ConfigurationError
from .tokens import cap_wire

__all__ = ["event_json", "line_bytes", "reference_fields", "remember_plain"]

_dumps = orjson.dumps
_JSON_ERRORS = (TypeError, orjson.JSONEncodeError)


def reference_fields(event: object) -> dict[str, Any]:
    """The event's members as the schema defines them: ``event`` first, then the rest."""
    if not isinstance(event, BaseModel) or not hasattr(event, "event"):
        raise ConfigurationError("audit sinks take a typed event (delegation.audit.*Event)")
    fields = event.model_dump(mode="json", exclude_none=True)
    return {"event": fields.pop("event"), **fields}


_SIMPLE = frozenset({str, int, bool})


def _cap_wire(cap: Capability) -> dict[str, Any] | None:
    """The capability's wire form if it is plain JSON, else None."""
    wire, plain = cap_wire(cap)
    return wire if plain else None


# Facts whose plain form their builder already knew (``TokenFacts.of_token``): by identity,
# each kept with its object; a verification encodes its facts right after building them.
_KNOWN: dict[int, tuple[BaseModel, dict[str, Any]]] = {}
_MAX_KNOWN = 256


def remember_plain(model: BaseModel, values: dict[str, Any]) -> None:
    """Note the plain form of ``model`` built from ``values`` (its fields, in order, of
    the types ``of_token`` gives: strings, ints, bools, None, capabilities)."""
    out = {name: value for name, value in values.items() if value is not None}
    caps = out.get("caps")
    if caps is not None:
        wires = [_cap_wire(c) if isinstance(c, Capability) else None for c in caps]
        if any(w is None for w in wires):
            return
        out["caps"] = wires
    if len(_KNOWN) >= _MAX_KNOWN:
        _KNOWN.clear()
    _KNOWN[id(model)] = (model, out)


def _plain(model: BaseModel) -> dict[str, Any] | None:
    """``model_dump(mode="json", exclude_none=True)`` for plain values, else None."""
    known = _KNOWN.get(id(model))
    if known is not None and known[0] is model:
        return known[1]
    out = {name: value for name, value in model.__dict__.items() if value is not None}
    for name in [name for name, value in out.items() if type(value) not in _SIMPLE]:
        value = out[name]
        t = type(value)
        if t is tuple:
            items: list[Any] = []
            for x in value:
                if type(x) is str:
                    items.append(x)
                elif isinstance(x, Capability):
                    wire = _cap_wire(x)
                    if wire is None:
                        return None
                    items.append(wire)
                elif isinstance(x, BaseModel):
                    facts = _plain(x)
                    if facts is None:
                        return None
                    items.append(facts)
                else:
                    return None
            out[name] = items
        elif isinstance(value, BaseModel):
            facts = _plain(value)
            if facts is None:
                return None
            out[name] = facts
        elif t is not dict or not plain_json(value):
            return None  # floats (spelt alike only in part), anything unusual: the reference way
    return out


def event_json(event: object) -> bytes:
    """The event's members as JSON text without the braces: ``"event":"verify",...``.

    Raises ``ConfigurationError`` for anything but a typed event.
    """
    if not isinstance(event, BaseModel) or not hasattr(event, "event"):
        raise ConfigurationError("audit sinks take a typed event (delegation.audit.*Event)")
    fields = _plain(event)
    if fields is not None:
        try:
            kind = fields.pop("event")
            text = _dumps({"event": kind, **fields})
        except (KeyError, *_JSON_ERRORS):
            text = b"\x80"
        if text.isascii() and b"\x7f" not in text:
            return text[1:-1]
    return json.dumps(reference_fields(event), separators=(",", ":")).encode("ascii")[1:-1]


def _number(value: object) -> bytes:
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value).encode("ascii")  # what json.dumps writes for a float
    if type(value) is int:
        return int.__repr__(value).encode("ascii")
    return json.dumps(value).encode("ascii")


def line_bytes(version: int, seq: int, ts: object, fields: bytes, prev: str) -> bytes:
    """``json.dumps({"v", "seq", "ts", **fields, "prev"}, separators=(",", ":"))``."""
    return b"".join(
        (
            b'{"v":',
            _number(version),
            b',"seq":',
            _number(seq),
            b',"ts":',
            _number(ts),
            b",",
            fields,
            b',"prev":"',
            prev.encode("ascii"),  # hex digits: nothing to escape
            b'"}',
        )
    )
