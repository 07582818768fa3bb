"""Translate Apache Avro schemas into the JSON Schema that models are built from.

AsyncAPI lets a message describe its payload in Avro
(`schemaFormat: application/vnd.apache.avro;version=1.9.0`). The receiver gets
the payload as JSON, so the translation follows how such payloads look as
plain JSON: a record is an object, a union of `null` and one type is that type
or null, and an enum is a string enum. Named types (records, enums, fixed)
become `$defs` entries that refer to each other, so recursive records work.

Not covered: Avro's own JSON encoding, which wraps each union value in an
object keyed by its branch type; senders of JSON webhooks do not use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import Diagnostic, InputError, SourceLocation

AVRO_FORMAT_PREFIX = "application/vnd.apache.avro"

_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
_PRIMITIVES: dict[str, dict[str, Any]] = {
    "null": {"type": "null"},
    "boolean": {"type": "boolean"},
    "int": _INT32,
    "long": _INT64,
    "float": {"type": "number"},
    "double": {"type": "number"},
    "bytes": {"type": "string"},
    "string": {"type": "string"},
}
# Other logical types keep their underlying JSON type: a `timestamp-millis`
# is a number of milliseconds in JSON, not a date-time string.
_LOGICAL_FORMATS = {"uuid": "uuid"}


class AvroTranslator:
    """Translate one Avro schema; named types go into `definitions`."""

    def __init__(
        self,
        where: SourceLocation,
        definitions: dict[str, Any],
        claim: Callable[[str], str],
    ) -> None:
        self.where = where
        self.definitions = definitions
        self.claim = claim
        self.names: dict[str, str] = {}

    def translate(self, schema: Any, namespace: str = "") -> dict[str, Any]:
        """Return the JSON Schema for an Avro schema (a name, list or object)."""
        if isinstance(schema, str):
            return self._named_or_primitive(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, namespace)
        if not isinstance(schema, dict) or "type" not in schema:
            raise self._error(f"invalid Avro schema {schema!r}: expected a type")
        kind = schema["type"]
        if kind == "record" or kind == "error":
            return self._record(schema, namespace)
        if kind == "enum":
            return self._enum(schema, namespace)
        if kind == "array":
            items = self.translate(schema.get("items"), namespace)
            return {"type": "array", "items": items}
        if kind == "map":
            values = self.translate(schema.get("values"), namespace)
            return {"type": "object", "additionalProperties": values}
        if kind == "fixed":
            return self._fixed(schema, namespace)
        result = dict(self.translate(kind, namespace))
        logical = schema.get("logicalType")
        if logical in _LOGICAL_FORMATS:
            result["format"] = _LOGICAL_FORMATS[logical]
        return result

    def _named_or_primitive(self, name: str, namespace: str) -> dict[str, Any]:
        if name in _PRIMITIVES:
            return dict(_PRIMITIVES[name])
        full = name if "." in name else f"{namespace}.{name}".lstrip(".")
        for candidate in (full, name):
            if candidate in self.names:
                return {"$ref": f"#/$defs/{self.names[candidate]}"}
        raise self._error(
            f"Avro type {name!r} is not defined before it is used; define the "
            "named type first, as Avro requires"
        )

    def _union(self, branches: list[Any], namespace: str) -> dict[str, Any]:
        options = [self.translate(branch, namespace) for branch in branches]
        if len(options) == 1:
            return options[0]
        return {"anyOf": options}

    def _register(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        name = schema.get("name")
        if not isinstance(name, str) or not name:
            raise self._error("an Avro record, enum or fixed type needs a `name`")
        space = schema.get("namespace", namespace)
        space = space if isinstance(space, str) else namespace
        full = name if "." in name else f"{space}.{name}".lstrip(".")
        short = full.rsplit(".", 1)[-1]
        class_name = self.claim(short)
        self.names[full] = class_name
        self.names.setdefault(short, class_name)
        self.definitions[class_name] = {}
        return class_name, full.rsplit(".", 1)[0] if "." in full else ""

    def _record(self, schema: dict[str, Any], namespace: str) -> dict[str, Any]:
        class_name, space = self._register(schema, namespace)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in schema.get("fields") or []:
            if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                raise self._error("each Avro record field needs a `name` and a `type`")
            prop = self.translate(field.get("type"), space)
            if isinstance(field.get("doc"), str):
                prop = {**prop, "description": field["doc"]}
            properties[field["name"]] = prop
            if "default" not in field:
                required.append(field["name"])
        definition: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            definition["required"] = required
        if isinstance(schema.get("doc"), str):
            definition["description"] = schema["doc"]
        self.definitions[class_name] = definition
        return {"$ref": f"#/$defs/{class_name}"}

    def _enum(self, schema: dict[str, Any], namespace: str) -> dict[str, Any]:
        class_name, _ = self._register(schema, namespace)
        symbols = schema.get("symbols")
        if not isinstance(symbols, list) or not all(
            isinstance(s, str) for s in symbols
        ):
            raise self._error("an Avro enum needs `symbols`, a list of strings")
        self.definitions[class_name] = {"type": "string", "enum": list(symbols)}
        return {"$ref": f"#/$defs/{class_name}"}

    def _fixed(self, schema: dict[str, Any], namespace: str) -> dict[str, Any]:
        class_name, _ = self._register(schema, namespace)
        self.definitions[class_name] = {"type": "string"}
        return {"$ref": f"#/$defs/{class_name}"}

    def _error(self, message: str) -> InputError:
        return InputError([Diagnostic(message, self.where)])
