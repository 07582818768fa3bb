"""Build the payloads that the generated contract tests send.

For each message the generator needs payloads the schema accepts and payloads it
rejects, each tied to the place it breaks. Examples from the spec come first;
where a message has none, a minimal payload (required properties only) and a
maximal one (every property) are synthesized from its schema. Invalid payloads
are derived from a valid one, one broken constraint at a time.

Every payload is checked with `jsonschema` before it is kept: a synthesized
valid payload the schema rejects, or a broken one it still accepts, is dropped,
so the generated tests never assert something the schema does not say.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._jsonschema import jsonschema

# Values that satisfy each string format the receiver checks; jsonschema
# confirms them below, so an unusual format at worst loses its sample.
_FORMAT_SAMPLES = {
    "email": "lead@example.com",
    "idn-email": "lead@example.com",
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00Z",
    "uri": "https://example.com/listing/1",
    "iri": "https://example.com/listing/1",
    "uri-reference": "https://example.com/listing/1",
    "url": "https://example.com/listing/1",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}
_BROKEN_FORMATS = {
    "email": "not-an-email-address",
    "idn-email": "not-an-email-address",
    "ipv4": "999.0.0.1",
    "ipv6": "not-an-address",
    "uuid": "not-a-uuid",
}
_MAX_DEPTH = 6
# MAX_JSON_DEPTH of the generated receiver (templates/package/runtime/body.py):
# it rejects bodies that nest arrays and objects deeper than this.
RECEIVER_MAX_DEPTH = 64


def nesting_depth(value: Any) -> int:
    """Return how deep arrays and objects nest in a JSON value; a scalar is 0."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            pending.extend((child, depth + 1) for child in children)
    return deepest


@dataclass(frozen=True)
class Sample:
    """A payload for one message and the verdict the receiver must give."""

    message: str
    case: str
    payload: Any
    valid: bool
    pointer: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers of the spec's example, sent along with the payload."""

    @property
    def test_id(self) -> str:
        return f"{self.message}-{self.case}"


class Samples:
    """Valid and invalid payloads for the payload classes of one schema document."""

    def __init__(self, schema_document: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema_document.get("$defs", {})
        self.root = schema_document

    def validator(self, class_name: str) -> jsonschema.protocols.Validator:
        schema = {**self.root, "$ref": f"#/$defs/{class_name}"}
        cls = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
        return cls(schema, format_checker=cls.FORMAT_CHECKER)

    def valid(
        self,
        message: str,
        class_name: str,
        examples: tuple[Any, ...],
        example_headers: tuple[dict[str, str], ...] = (),
    ) -> list[Sample]:
        """Return the spec's examples, or a minimal and a maximal payload.

        The examples are the message's, with their headers, then those of its
        payload schema.
        """
        validator = self.validator(class_name)
        schema = self.defs[class_name]
        schema_examples = schema.get("examples") if isinstance(schema, dict) else None
        candidates = [
            (
                f"example_{i + 1}",
                e,
                example_headers[i] if i < len(example_headers) else {},
            )
            for i, e in enumerate(examples)
        ]
        if isinstance(schema_examples, list):
            candidates += [
                (f"schema_example_{i + 1}", e, {})
                for i, e in enumerate(schema_examples)
            ]
        found = [
            Sample(message, case, example, True, headers=dict(headers))
            for case, example, headers in candidates
            if validator.is_valid(example)
        ]
        if found:
            return found
        for case, full in (("minimal", False), ("maximal", True)):
            payload = self._build(schema, full=full, depth=0)
            if payload is not _UNBUILDABLE and validator.is_valid(payload):
                if not any(s.payload == payload for s in found):
                    found.append(Sample(message, case, payload, True))
        return found

    def invalid(self, message: str, class_name: str, base: Any) -> list[Sample]:
        """Return payloads that each break one constraint of a valid `base`."""
        validator = self.validator(class_name)
        result: list[Sample] = []
        seen: set[str] = set()
        for case, pointer, payload in self._breakages(self.defs[class_name], base, ""):
            if case in seen or validator.is_valid(payload):
                continue
            seen.add(case)
            result.append(Sample(message, case, payload, False, pointer))
        return result

    # --- synthesis -----------------------------------------------------------

    def _deref(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.defs.get(name, {})
            seen += 1
            if seen > 50:
                return {}
        return schema

    def _build(self, schema: Any, *, full: bool, depth: int) -> Any:
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return None if schema is not False else _UNBUILDABLE
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return copy.deepcopy(schema["enum"][0])
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return copy.deepcopy(schema["examples"][0])
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        for keyword in ("oneOf", "anyOf"):
            if isinstance(schema.get(keyword), list) and schema[keyword]:
                return self._build(schema[keyword][0], full=full, depth=depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self._build(part, full=full, depth=depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            own = self._build(rest, full=full, depth=depth + 1) if rest else {}
            if isinstance(own, dict):
                merged.update(own)
            return merged
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None and "properties" in schema:
            kind = "object"
        builders = {
            "object": self._object,
            "array": self._array,
            "string": _string,
            "integer": _integer,
            "number": _number,
        }
        if kind in builders:
            return builders[kind](schema, full=full, depth=depth)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return "value"

    def _object(self, schema: dict[str, Any], *, full: bool, depth: int) -> Any:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        result: dict[str, Any] = {}
        for name, subschema in properties.items():
            if name not in required and not (full and depth < _MAX_DEPTH):
                continue
            value = self._build(subschema, full=full, depth=depth + 1)
            if value is _UNBUILDABLE:
                if name in required:
                    return _UNBUILDABLE
                continue
            result[name] = value
        for name in sorted(required - set(result)):
            result[name] = "value"
        return result

    def _array(self, schema: dict[str, Any], *, full: bool, depth: int) -> Any:
        count = int(schema.get("minItems") or 0)
        if full and depth < _MAX_DEPTH:
            count = max(count, 1)
        items = schema.get("items", {})
        if isinstance(items, list):
            return [self._build(item, full=full, depth=depth + 1) for item in items]
        value = self._build(items, full=full, depth=depth + 1)
        if value is _UNBUILDABLE:
            return [] if count == 0 else _UNBUILDABLE
        if schema.get("uniqueItems") and count > 1:
            return _UNBUILDABLE
        return [copy.deepcopy(value) for _ in range(count)]

    # --- breakage --------------------------------------------------------------

    def _breakages(
        self, schema: Any, value: Any, pointer: str
    ) -> Iterator[tuple[str, str, Any]]:
        """Yield (case name, pointer, whole payload) for each constraint broken."""
        yield from self._break_at(schema, value, pointer, lambda v: v)

    def _break_at(
        self, schema: Any, value: Any, pointer: str, wrap: Any
    ) -> Iterator[tuple[str, str, Any]]:
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return
        label = _label(pointer)
        enum = schema.get("enum") if isinstance(schema.get("enum"), list) else None
        if "const" in schema:
            enum = [schema["const"]]
        if enum is not None:
            yield f"{label}_not_allowed", pointer, wrap(_not_in(enum))
        if value is not None:
            yield f"{label}_null", pointer, wrap(None)
        if isinstance(schema.get("not"), dict):
            forbidden = self._build(schema["not"], full=False, depth=0)
            if forbidden is not _UNBUILDABLE:
                yield f"{label}_matches_not", pointer, wrap(forbidden)
        if isinstance(value, bool):
            yield f"{label}_wrong_type", pointer, wrap("true" if value else "false")
        elif isinstance(value, int | float):
            yield f"{label}_wrong_type", pointer, wrap(str(value))
            if "minimum" in schema:
                yield f"{label}_below_minimum", pointer, wrap(schema["minimum"] - 1)
            if "maximum" in schema:
                yield f"{label}_above_maximum", pointer, wrap(schema["maximum"] + 1)
            for key in ("exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(schema.get(key), int | float) and not isinstance(
                    schema[key], bool
                ):
                    yield f"{label}_breaks_{_snake(key)}", pointer, wrap(schema[key])
            step = schema.get("multipleOf")
            if isinstance(step, int | float) and not isinstance(step, bool):
                off = value + (1 if isinstance(step, int) and step > 1 else step / 2)
                yield f"{label}_not_multiple", pointer, wrap(off)
        elif isinstance(value, str):
            yield f"{label}_wrong_type", pointer, wrap(12345)
            fmt = schema.get("format")
            if isinstance(fmt, str) and fmt in _BROKEN_FORMATS:
                yield f"{label}_bad_{_snake(fmt)}", pointer, wrap(_BROKEN_FORMATS[fmt])
            if isinstance(schema.get("maxLength"), int):
                yield (
                    f"{label}_too_long",
                    pointer,
                    wrap("x" * (schema["maxLength"] + 1)),
                )
            if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
                yield f"{label}_too_short", pointer, wrap("")
            if isinstance(schema.get("pattern"), str):
                yield f"{label}_breaks_pattern", pointer, wrap(value + "\n!")
        elif isinstance(value, list):
            if pointer:
                yield f"{label}_wrong_type", pointer, wrap({})
            if isinstance(schema.get("minItems"), int) and schema["minItems"] > 0:
                yield f"{label}_too_few_items", pointer, wrap([])
            if value and isinstance(schema.get("maxItems"), int):
                many = [value[0]] * (schema["maxItems"] + 1)
                yield f"{label}_too_many_items", pointer, wrap(many)
            if value and schema.get("uniqueItems") is True:
                yield f"{label}_repeats_items", pointer, wrap([value[0], *value])
            items = schema.get("items")
            if value and isinstance(items, dict):
                yield from self._break_at(
                    items,
                    value[0],
                    _join(pointer, "0"),
                    _rewrap_item(wrap, value),
                )
        elif isinstance(value, dict):
            if pointer:
                yield f"{label}_wrong_type", pointer, wrap([])
            properties = schema.get("properties") or {}
            for name in schema.get("required") or []:
                if name in value:
                    child = _join(pointer, name)
                    remaining = {k: v for k, v in value.items() if k != name}
                    yield f"missing_{_label(child)}", child, wrap(remaining)
            if schema.get("additionalProperties") is False:
                extra = _join(pointer, "unexpected_property")
                yield "extra_property", extra, wrap({**value, "unexpected_property": 1})
            yield from self._break_object_size(schema, value, pointer, wrap)
            dependencies = schema.get("dependencies")
            for trigger, needed in (dependencies or {}).items():
                if trigger in value and isinstance(needed, list):
                    for name in needed:
                        if name in value:
                            child = _join(pointer, name)
                            remaining = {k: v for k, v in value.items() if k != name}
                            case = (
                                f"missing_{_label(child)}_needed_by_{_snake(trigger)}"
                            )
                            yield case, child, wrap(remaining)
            for regex in schema.get("patternProperties") or {}:
                matching = _key_matching(regex)
                if matching is not None:
                    key = matching
                    child = _join(pointer, key)
                    yield (
                        f"{_label(child)}_breaks_pattern_property",
                        child,
                        wrap({**value, key: [[]]}),
                    )
            for name, child_value in value.items():
                if name not in properties:
                    continue
                yield from self._break_at(
                    properties[name],
                    child_value,
                    _join(pointer, name),
                    _rewrap(wrap, value, name),
                )

    def _break_object_size(
        self, schema: dict[str, Any], value: dict[str, Any], pointer: str, wrap: Any
    ) -> Iterator[tuple[str, str, Any]]:
        label = _label(pointer)
        if isinstance(schema.get("minProperties"), int) and schema["minProperties"]:
            yield f"{label}_too_few_properties", pointer, wrap({})
        if isinstance(schema.get("maxProperties"), int):
            extra = {f"extra{i}": 1 for i in range(schema["maxProperties"] + 1)}
            yield f"{label}_too_many_properties", pointer, wrap({**value, **extra})


_UNBUILDABLE: Any = object()


def _key_matching(regex: str) -> str | None:
    """Return a short property name that the pattern matches, if one is easy."""
    try:
        compiled = re.compile(regex)
    except re.error:
        return None
    literal = re.sub(r"[\\^$.*+?()\[\]{}|]", "", regex)
    for candidate in (literal, literal + "a", "a", "x-a", "0", "A", "_"):
        if candidate and compiled.search(candidate):
            return candidate
    return None


def _string(schema: dict[str, Any], *, full: bool, depth: int) -> Any:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_SAMPLES:
        text = _FORMAT_SAMPLES[fmt]
    elif "pattern" in schema:
        return _UNBUILDABLE
    else:
        text = "sample text"
    low = int(schema.get("minLength") or 0)
    high = schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[:high]
    return text


def _number(schema: dict[str, Any], *, full: bool, depth: int) -> Any:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if isinstance(low, int | float) and isinstance(high, int | float):
        return (low + high) / 2
    if isinstance(low, int | float):
        return low + 1
    if isinstance(high, int | float):
        return high - 1
    return 1.5


def _integer(schema: dict[str, Any], *, full: bool, depth: int) -> Any:
    low = schema.get("minimum")
    if not isinstance(low, int):
        low = schema.get("exclusiveMinimum")
        low = low + 1 if isinstance(low, int) else None
    high = schema.get("maximum")
    if not isinstance(high, int):
        high = schema.get("exclusiveMaximum")
        high = high - 1 if isinstance(high, int) else None
    if low is not None:
        return low
    if high is not None:
        return min(high, 1)
    return 1


def _not_in(allowed: list[str]) -> str:
    candidate = "not-an-allowed-value"
    while candidate in allowed:
        candidate += "-x"
    return candidate


REMOVED = object()
"""The value `changed_node` gives for a property that `changed` leaves out."""


def changed_node(base: Any, changed: Any) -> tuple[str, Any]:
    """Return the JSON pointer and value of the one node where `changed` differs.

    Replacing that node of `base` with the value, or removing it when the value
    is `REMOVED`, gives `changed` back. The node is the deepest one that covers
    every difference. Values compare with their types, so `1`, `1.0` and `true`
    differ.
    """
    pointer = ""
    while True:
        if isinstance(base, dict) and isinstance(changed, dict):
            if list(base) == list(changed):
                keys = [key for key in base if not _same(base[key], changed[key])]
                if len(keys) == 1:
                    pointer = _join(pointer, keys[0])
                    base, changed = base[keys[0]], changed[keys[0]]
                    continue
            missing = [key for key in base if key not in changed]
            if len(missing) == 1 and _same(
                {k: v for k, v in base.items() if k != missing[0]}, changed
            ):
                return _join(pointer, missing[0]), REMOVED
        elif (
            isinstance(base, list)
            and isinstance(changed, list)
            and len(base) == len(changed)
        ):
            indexes = [i for i, item in enumerate(base) if not _same(item, changed[i])]
            if len(indexes) == 1:
                pointer = _join(pointer, str(indexes[0]))
                base, changed = base[indexes[0]], changed[indexes[0]]
                continue
        return pointer, changed


def _same(first: Any, second: Any) -> bool:
    if first is second:
        return True
    if type(first) is not type(second):
        return False
    if isinstance(first, dict):
        return list(first) == list(second) and all(
            _same(value, second[key]) for key, value in first.items()
        )
    if isinstance(first, list):
        return len(first) == len(second) and all(map(_same, first, second))
    return bool(first == second)


def _rewrap(wrap: Any, container: dict[str, Any], name: str) -> Any:
    def rebuild(replacement: Any) -> Any:
        return wrap({**container, name: replacement})

    return rebuild


def _rewrap_item(wrap: Any, container: list[Any]) -> Any:
    def rebuild(replacement: Any) -> Any:
        return wrap([replacement, *container[1:]])

    return rebuild


def _join(pointer: str, name: str) -> str:
    return f"{pointer}/{name.replace('~', '~0').replace('/', '~1')}"


def _label(pointer: str) -> str:
    parts = [_snake(p) for p in pointer.split("/") if p]
    return "_".join(parts) or "payload"


def _snake(text: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char.isupper() and index and text[index - 1].islower():
            out.append("_")
        out.append(char.lower() if char.isalnum() else "_")
    return "".join(out).strip("_") or "value"
