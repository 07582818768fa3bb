"""Collect the schemas that models are built from, under stable class names.

Every schema reached from a message payload goes into one JSON Schema document.
A schema that a `$ref` points at becomes an entry of `$defs` named after where it
lives (`#/components/schemas/LeadContact` is `LeadContact`), and each ref is
rewritten to `#/$defs/<Name>`. Refs are never inlined, so recursive schemas stay
recursive classes. Inline payloads are named `<MessageName>Payload`.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .avro import AVRO_FORMAT_PREFIX, AvroTranslator
from .errors import Diagnostic, SourceLocation
from .load import plain
from .naming import is_identifier, pascal_case, unique
from .resolve import DATA_KEYWORDS, Resolver, Target, is_ref, join_pointer

OPENAPI_FORMAT_PREFIX = "application/vnd.oai.openapi"
JSON_SCHEMA_FORMAT_PREFIXES = (
    "application/vnd.aai.asyncapi",
    "application/schema+json",
    "application/schema+yaml",
    OPENAPI_FORMAT_PREFIX,
)


# Names the generated modules import or define themselves, and keywords that
# look like class names: a schema that wants one of them gets a number.
RESERVED_CLASS_NAMES = frozenset(
    list(keyword.kwlist)
    + [
        "Annotated",
        "Any",
        "AnyUrl",
        "Awaitable",
        "AwareDatetime",
        "BaseModel",
        "BeforeValidator",
        "Callable",
        "ConfigDict",
        "DateText",
        "DateTimeText",
        "Decimal",
        "DurationText",
        "EmailStr",
        "Enum",
        "Field",
        "Handler",
        "IntEnum",
        "Json",
        "JsonModel",
        "JsonValue",
        "Literal",
        "MISSING",
        "MessageSpec",
        "SchemaRule",
        "NaiveDatetime",
        "Optional",
        "Path",
        "Protocol",
        "PydanticCustomError",
        "RootModel",
        "RouteSpec",
        "SecuritySchemeSpec",
        "Settings",
        "Starlette",
        "StrEnum",
        "StrictBool",
        "StrictBytes",
        "StrictFloat",
        "StrictInt",
        "StrictStr",
        "TimeText",
        "TypeAdapter",
        "TypeAlias",
        "TypeVar",
        "UUID",
        "Union",
        "ValidationError",
    ]
)


@dataclass
class SchemaRegistry:
    """The named schemas of a document, as one JSON Schema `$defs` mapping."""

    resolver: Resolver
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, Target] = field(default_factory=dict)
    unsupported: list[Diagnostic] = field(default_factory=list)
    renamed: list[Diagnostic] = field(default_factory=list)
    """Warnings for schemas whose class names had to change to stay unique."""
    """The source of each definition, for diagnostics."""
    _names: dict[Target, str] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=lambda: set(RESERVED_CLASS_NAMES))
    _problems: list[Diagnostic] = field(default_factory=list)

    def add_payload(
        self,
        schema: Any,
        base: Target,
        *,
        inline_name: str,
        schema_format: str | None,
        where: SourceLocation,
    ) -> str | None:
        """Register a message payload and return the class name that models it.

        A payload in a schema format the tool cannot read gets no class; it is
        recorded in `unsupported`, which `validate` reports as a warning and
        `generate` as an error.
        """
        if schema_format and schema_format.startswith(AVRO_FORMAT_PREFIX):
            return self._add_avro(plain(schema), base, inline_name, where)
        if schema_format and not schema_format.startswith(JSON_SCHEMA_FORMAT_PREFIXES):
            self.unsupported.append(
                Diagnostic(
                    f"unsupported schema format {schema_format!r} for the payload "
                    f"of message {inline_name.removesuffix('Payload')!r}; "
                    "asyncapi-gen generates models from AsyncAPI, JSON Schema, "
                    "OpenAPI 3.0 and Avro schemas only, so this payload is not "
                    "checked",
                    where,
                )
            )
            return None
        openapi = bool(
            schema_format and schema_format.startswith(OPENAPI_FORMAT_PREFIX)
        )
        if is_ref(schema):
            resolved = self.resolver.follow(schema, base)
            return self._name_target(resolved.target, resolved.node, openapi=openapi)
        name = self.claim(inline_name)
        self.sources[name] = base
        self.definitions[name] = self._convert(schema, base, openapi=openapi)
        return name

    def _add_avro(
        self, schema: Any, base: Target, inline_name: str, where: SourceLocation
    ) -> str:
        translator = AvroTranslator(where, self.definitions, self.claim)
        translated = translator.translate(schema)
        for name in translator.names.values():
            self.sources.setdefault(name, base)
        reference = translated.get("$ref", "")
        if reference.startswith("#/$defs/") and len(translated) == 1:
            return str(reference.removeprefix("#/$defs/"))
        name = self.claim(inline_name)
        self.sources[name] = base
        self.definitions[name] = translated
        return name

    def _name_target(self, target: Target, node: Any, *, openapi: bool) -> str:
        known = self._names.get(target)
        if known is not None:
            return known
        wanted = preferred_name(target, node)
        name = self.claim(wanted)
        if name != wanted:
            self.renamed.append(
                Diagnostic(
                    f"schema {target.pointer.rsplit('/', 1)[-1]!r} becomes class "
                    f"{name!r} because another schema already has the class name "
                    f"{wanted!r}; rename one of them to choose the names",
                    self.resolver.location(target),
                    severity="warning",
                )
            )
        self._names[target] = name
        self.sources[name] = target
        # Register the name before converting, so a recursive schema finds it.
        self.definitions[name] = {}
        self.definitions[name] = self._convert(node, target, openapi=openapi)
        return name

    def claim(self, name: str) -> str:
        """Return `name`, or `name` with a number, unused by any other class."""
        return unique(name, self._taken)

    def _convert(self, node: Any, base: Target, *, openapi: bool) -> Any:
        """Copy a schema into plain dicts, rewriting refs to `#/$defs/<Name>`."""
        if isinstance(node, dict):
            if is_ref(node):
                resolved = self.resolver.follow(node, base)
                name = self._name_target(
                    resolved.target, resolved.node, openapi=openapi
                )
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                reference: dict[str, Any] = {"$ref": f"#/$defs/{name}"}
                if not siblings:
                    return reference
                converted = self._convert(siblings, base, openapi=openapi)
                return {"allOf": [reference], **converted}
            result: dict[str, Any] = {}
            for key, value in node.items():
                here = Target(base.file, join_pointer(base.pointer, key))
                if key in DATA_KEYWORDS:
                    result[key] = plain(value)
                elif key in ("properties", "patternProperties", "definitions", "$defs"):
                    result[key] = (
                        {
                            k: self._convert(
                                v,
                                Target(here.file, join_pointer(here.pointer, k)),
                                openapi=openapi,
                            )
                            for k, v in value.items()
                        }
                        if isinstance(value, dict)
                        else plain(value)
                    )
                else:
                    result[key] = self._convert(value, here, openapi=openapi)
            if openapi:
                _openapi_nullable_to_type_list(result)
            return result
        if isinstance(node, list):
            return [
                self._convert(
                    item,
                    Target(base.file, join_pointer(base.pointer, i)),
                    openapi=openapi,
                )
                for i, item in enumerate(node)
            ]
        return node

    def document(self) -> dict[str, Any]:
        """Return the JSON Schema document handed to datamodel-code-generator."""
        return {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "$defs": dict(self.definitions),
        }


def preferred_name(target: Target, node: Any) -> str:
    """Name a schema after its pointer's last token, its title or its file."""
    tokens = [t for t in target.pointer.split("/") if t]
    if tokens:
        raw = tokens[-1].replace("~1", "/").replace("~0", "~")
    elif isinstance(node, dict) and isinstance(node.get("title"), str):
        raw = node["title"]
    else:
        raw = PurePosixPath(target.file.name).stem
    return raw if is_identifier(raw) and raw[:1].isupper() else pascal_case(raw)


def _openapi_nullable_to_type_list(schema: dict[str, Any]) -> None:
    """Rewrite OpenAPI 3.0 `nullable: true` as the JSON Schema type list it means."""
    if schema.pop("nullable", False) is not True:
        return
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    elif any(k in schema for k in ("allOf", "oneOf", "anyOf", "$ref")):
        branch = {k: schema.pop(k) for k in ("allOf", "oneOf", "anyOf") if k in schema}
        schema["anyOf"] = [branch or {}, {"type": "null"}]
