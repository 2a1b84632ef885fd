"""Reading a rules file (YAML or JSON) into a :class:`PolicyDocument`, with the line and
field of every error: duplicate keys, aliases and YAML 1.1's ambiguous scalars refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .._jose import STRICT_JSON
from ..errors import InvalidPolicy, MalformedError
from ._rules_model import PolicyDocument

__all__ = ["parse_document", "validate_document"]


def parse_document(text: str, source: str) -> PolicyDocument:
    """Parse and validate policy text, YAML or JSON (sniffed)."""
    if _is_json(text, source):
        data, node = _parse_json(text, source)
    else:
        data, node = _compose_yaml(text, source)
    return validate_document(data, node, source)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and aliases (no billion laughs)."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(
                None, None, "aliases are not allowed in a policy file", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "unhashable key",
                    key_node.start_mark,
                ) from None
            if duplicate:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(exc: yaml.YAMLError, source: str) -> InvalidPolicy:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    line = f"{mark.line + 1}:" if mark is not None else ""
    return InvalidPolicy(f"{source}:{line} {problem}")


def _walk(node: Node, path: str) -> Iterator[tuple[str, Node, MappingNode | None]]:
    """Every node in document order with its field path; a mapping key comes with its
    mapping (the third item), before its value."""
    yield path, node, None
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            here = f"{path}.{key_node.value}" if path else str(key_node.value)
            yield here, key_node, node
            yield from _walk(value_node, here)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk(item, f"{path}[{i}]")


def _find_duplicate(node: Node, path: str) -> tuple[str, Node] | None:
    """The path and key node of the first duplicate mapping key, in document order."""
    seen: dict[int, set[tuple[str, str]]] = {}
    for here, item, mapping in _walk(node, path):
        if mapping is not None and isinstance(item, ScalarNode):
            keys = seen.setdefault(id(mapping), set())
            if (item.tag, item.value) in keys:
                return here, item
            keys.add((item.tag, item.value))
    return None


#: Plain scalars YAML 1.1 reads as something other than a string, and the spellings of
#: each that mean the same in YAML 1.2 and JSON. Anything else (``no``, ``on``, ``010``,
#: ``0x1F``, ``1_000``, ``18:00``, ``.inf``, ``~``, ``2026-01-01``) must be quoted.
_PLAIN_OK: dict[str, re.Pattern[str]] = {
    "tag:yaml.org,2002:bool": re.compile(r"true|false"),
    "tag:yaml.org,2002:int": re.compile(r"-?(?:0|[1-9][0-9]*)"),
    "tag:yaml.org,2002:float": re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?"),
    "tag:yaml.org,2002:null": re.compile(r"null|"),
    "tag:yaml.org,2002:timestamp": re.compile(r"(?!)"),
}

_KIND = {
    "bool": "a boolean",
    "int": "a number",
    "float": "a number",
    "null": "null",
    "timestamp": "a date",
}


def _find_ambiguous(node: Node, path: str) -> tuple[str, ScalarNode] | None:
    """The path and node of the first plain scalar whose meaning YAML 1.1 changes."""
    for here, item, _ in _walk(node, path):
        if isinstance(item, ScalarNode) and item.style is None:
            ok = _PLAIN_OK.get(item.tag)
            if ok is not None and not ok.fullmatch(item.value):
                return here, item
    return None


def _compose_yaml(text: str, source: str, *, plain: bool = True) -> tuple[Any, Node | None]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InvalidPolicy(f"{source}:1: the policy is empty")
        duplicate = _find_duplicate(node, "")
        if duplicate is not None:
            path, key_node = duplicate
            line = key_node.start_mark.line + 1
            raise InvalidPolicy(f"{source}:{line}: {path}: duplicate key", claim=path)
        ambiguous = _find_ambiguous(node, "") if plain else None
        if ambiguous is not None:
            path, scalar = ambiguous
            value = scalar.value
            if scalar.tag.endswith(":int") and ":" in value:
                why = f'write times as quoted "HH:MM" strings (YAML 1.1 reads {value} as a number)'
            else:
                kind = _KIND[scalar.tag.rpartition(":")[2]]
                why = f"unquoted {value!r} is read by YAML 1.1 as {kind}, not a string"
            raise InvalidPolicy(
                f'{source}:{scalar.start_mark.line + 1}: {path}: {why}; quote it ("{value}")'
                " or write the value as in JSON",
                claim=path or None,
            )
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except RecursionError:
        raise InvalidPolicy(f"{source}: the policy is nested too deeply") from None
    finally:
        loader.dispose()
    return data, node


def _parse_json(text: str, source: str) -> tuple[Any, Node | None]:
    try:
        data = STRICT_JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidPolicy(f"{source}:{exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise InvalidPolicy(f"{source}: the policy is nested too deeply") from None
    except MalformedError as exc:  # a repeated member or a NaN
        # YAML reads JSON well enough to say which line holds the duplicate.
        try:
            _compose_yaml(text.replace("\t", " "), source, plain=False)
        except InvalidPolicy as located:
            raise located from None
        raise InvalidPolicy(f"{source}: {exc.message}") from None
    # JSON numbers and escapes are not all YAML 1.1: the data comes from json, and the
    # YAML node tree serves only to find lines. YAML refuses tabs where JSON allows
    # them; spaces in their place keep every line where it was.
    try:
        _, node = _compose_yaml(text.replace("\t", " "), source, plain=False)
    except InvalidPolicy:
        node = None
    return data, node


def _is_json(text: str, source: str) -> bool:
    suffix = Path(source).suffix.lower()
    if suffix == ".json":
        return True
    if suffix in (".yaml", ".yml"):
        return False
    # No telling suffix: JSON when it reads as JSON (a YAML flow mapping also starts "{").
    if not text.lstrip().startswith("{"):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _locate(
    data: Any, node: Node | None, loc: Sequence[int | str], missing: bool
) -> tuple[str, int | None]:
    """The field path (``rules[2].when.max_depth``) and 1-based line of an error location."""
    path = ""
    line = node.start_mark.line + 1 if node is not None else None
    for i, part in enumerate(loc):
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
            path += f"[{part}]"
            node = node.value[part] if isinstance(node, SequenceNode) else None
        elif isinstance(data, dict) and part in data:
            data = data[part]
            path += f".{part}" if path else str(part)
            value_node: Node | None = None
            if isinstance(node, MappingNode):
                for key_node, v in node.value:
                    if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                        value_node = v
                        break
            node = value_node
        elif isinstance(data, dict) and missing and i == len(loc) - 1:
            path += f".{part}" if path else str(part)
            break
        else:
            # Union members and validator names: not part of the document's shape.
            continue
        if node is not None:
            line = node.start_mark.line + 1
    return path, line


def _invalid(
    source: str,
    data: Any,
    node: Node | None,
    errors: Sequence[tuple[Sequence[int | str], str, bool]],
) -> InvalidPolicy:
    loc, msg, missing = errors[0]
    path, line = _locate(data, node, loc, missing)
    where = f"{source}:{line}:" if line is not None else f"{source}:"
    text = f"{where} {path}: {msg}" if path else f"{where} {msg}"
    # A union (a number is an int or a float) reports one error per member: count fields.
    others = {_locate(data, node, e[0], e[2])[0] for e in errors[1:]} - {path}
    if others:
        text += f" (and {len(others)} more)"
    return InvalidPolicy(text, claim=path or None)


def validate_document(data: Any, node: Node | None, source: str) -> PolicyDocument:
    if not isinstance(data, dict):
        raise _invalid(source, data, node, [((), "a policy must be a mapping", False)])
    try:
        doc = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        errors = [
            (
                e["loc"],
                str(e["msg"]).removeprefix("Value error, "),
                e["type"] == "missing",
            )
            for e in exc.errors(include_url=False)
        ]
        raise _invalid(source, data, node, errors) from None
    first: dict[str, int] = {}
    for i, rule in enumerate(doc.rules):
        if rule.id in first:
            msg = f"duplicate rule id {rule.id!r} (first used by rules[{first[rule.id]}])"
            raise _invalid(source, data, node, [(("rules", i, "id"), msg, False)])
        first[rule.id] = i
    return doc
