"""Generate the pydantic v2 models module with datamodel-code-generator.

The options below make the models agree with JSON Schema rather than with
pydantic's defaults: strict scalar types (no "3" for 3), unknown properties kept
where the schema allows them (JSON Schema allows them unless it says otherwise,
so the step makes that explicit before the library sees the schema), and
pydantic's MISSING sentinel for optional fields, so an
absent field is omissible while an explicit null is still rejected unless the
schema allows null.

The library runs in-process. Its memory grows with the number of schemas in
one call (1.4 GiB for the 5,000-message spec from bench/synth.py), so a spec
with more than `BATCH_SIZE` schemas in `$defs` is generated in batches, each
with the schemas it refers to, and the modules are merged class by class. A
spec under that size, like the Realtor spec, gets exactly one call.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from datamodel_code_generator import InputFileType, PythonVersion, generate
from datamodel_code_generator.enums import DataModelType

from .errors import Diagnostic, InputError
from .naming import pascal_case, unique
from .normalize import Document
from .resolve import escape_pointer_token
from .schemas import RESERVED_CLASS_NAMES

_T = TypeVar("_T")
_R = TypeVar("_R")

_OPTIONS: dict[str, Any] = {
    "input_file_type": InputFileType.JsonSchema,
    "output_model_type": DataModelType.PydanticV2BaseModel,
    "target_python_version": PythonVersion.PY_311,
    "disable_timestamp": True,
    "strict_types": ["str", "int", "float", "bool", "bytes"],
    "enum_field_as_literal": "one",
    "use_annotated": True,
    "field_constraints": True,
    "use_union_operator": True,
    "use_standard_collections": True,
    "use_schema_description": True,
    "use_field_description": True,
    "snake_case_field": True,
    "use_double_quotes": True,
    "use_missing_sentinel": True,
    "skip_root_model": True,
    "formatters": [],
}


def generate_models(document: Document) -> str:
    """Return the source of the models module for every payload in the document."""
    schema = document.schema_document
    if not schema["$defs"]:
        return '"""This spec has no message payloads, so there are no models."""\n'
    prepared, origins = _library_call(prepare_schema, schema)
    modules = [
        _finished(_library_call(_library_module, batch), schema, origins)
        for batch in _batches(prepared, origins)
    ]
    try:
        code = merge_modules(modules)
    except _Clash:
        # Two batches made different classes of one name: a name that the
        # library chose itself, for a schema that the hoisting step left
        # inline. Only one call for everything names such classes apart.
        modules = [_finished(_library_call(_library_module, prepared), schema, origins)]
        code = modules[0]
    _check_class_names(modules, document)
    return code + _unions(document)


def _library_call(function: Callable[[_T], _R], argument: _T) -> _R:
    with warnings.catch_warnings():
        # The library warns about options it considers experimental; the output
        # is checked by the generated contract tests instead.
        warnings.simplefilter("ignore")
        try:
            return function(argument)
        except InputError:
            raise
        except Exception as error:  # the library has no single base error
            raise InputError(
                [
                    Diagnostic(
                        "datamodel-code-generator failed on the payload "
                        f"schemas: {_one_line(error)}; check that each payload is a "
                        "valid JSON Schema"
                    )
                ]
            ) from error


def _library_module(schema: dict[str, Any]) -> str:
    code = generate(json.dumps(schema), **_OPTIONS)
    if not isinstance(code, str):
        raise InputError(
            [Diagnostic("datamodel-code-generator returned no single module")]
        )
    return code


def _finished(code: str, schema: dict[str, Any], origins: dict[str, str]) -> str:
    """Apply this step's edits to one module from the library.

    Each edit works class by class, so a class comes out the same in every
    batch that contains it.
    """
    code = _escaped_strings(_strip_banner(code))
    code = code.replace(_EXPERIMENTAL_MISSING, _MISSING)
    code = _kept_formats(_with_alias_imports(code))
    return _schema_rules(code, schema, origins)


# Top-level schemas per call of the library. Each batch also carries every
# schema that its own schemas refer to, so shared schemas are generated again
# in each batch that uses them, and the merge keeps one copy. The syntax tree
# passes above also run per batch: a tree of the whole module of a
# 5,000-message spec takes hundreds of MiB.
BATCH_SIZE = 250


def _batches(
    prepared: dict[str, Any], origins: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """Yield the schema documents to give the library, one call each."""
    definitions: dict[str, Any] = prepared["$defs"]
    # A schema of the spec's own is at "/$defs/<name>". The hoisting step's
    # classes are deeper, and go with the batch of the schema they came from.
    roots = [name for name in definitions if origins[name].count("/") == 2]
    if len(roots) <= BATCH_SIZE:
        yield prepared
        return
    for start in range(0, len(roots), BATCH_SIZE):
        needed = _referenced(roots[start : start + BATCH_SIZE], definitions)
        batch = {name: schema for name, schema in definitions.items() if name in needed}
        yield {**prepared, "$defs": batch}


def _refs(schema: Any, found: set[str]) -> None:
    if isinstance(schema, list):
        for item in schema:
            _refs(item, found)
    elif isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            # A ref into a schema brings the whole schema along.
            token = ref.removeprefix("#/$defs/").split("/")[0]
            found.add(token.replace("~1", "/").replace("~0", "~"))
        for key, value in schema.items():
            if key not in _DATA_KEYWORDS:
                _refs(value, found)


def _referenced(names: list[str], definitions: dict[str, Any]) -> set[str]:
    """Return `names` with every schema that they refer to, directly or not."""
    needed: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in needed or name not in definitions:
            continue
        needed.add(name)
        found: set[str] = set()
        _refs(definitions[name], found)
        pending.extend(found - needed)
    return needed


class _Clash(Exception):
    """Two batches define one class name differently."""


def merge_modules(modules: list[str]) -> str:
    """Merge modules from the library into one, keeping one copy of each class.

    Imports are gathered (the render step sorts them and drops unused ones),
    classes and aliases keep the order in which they first appear, and the
    statements after them (`model_rebuild()` calls) come last, once each.
    Raises `_Clash` when a name is defined differently in two modules.
    """
    if len(modules) == 1:
        return modules[0]
    imports: dict[str, None] = {}
    definitions: dict[str, str] = {}
    trailing: dict[str, None] = {}
    for code in modules:
        lines = _lines(code)
        for node in ast.parse(code).body:
            first = min(
                [node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]
            )
            # The last statement of a module may lack its line break.
            text = "".join(lines[first - 1 : node.end_lineno]).rstrip("\n")
            if isinstance(node, ast.Import | ast.ImportFrom):
                imports[text] = None
                continue
            name = _defined_name(node)
            if name is None:
                trailing[text] = None
            elif definitions.setdefault(name, text) != text:
                raise _Clash(name)
    parts = ["\n".join(imports), *definitions.values(), *trailing]
    return "\n\n\n".join(parts) + "\n"


def _defined_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ClassDef):
        return node.name
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return node.targets[0].id
    return None


def _one_line(error: Exception, limit: int = 400) -> str:
    # TODO: validate payload schemas against the JSON Schema metaschema first,
    # so these errors point at the line in the spec instead of at `$defs`.
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_DATA_KEYWORDS = frozenset({"const", "enum", "example", "examples"})
# Keywords whose value is one subschema or a mapping or list of them, where the
# library would make a class of its own for an inline object or enum.
_NESTED_ONE = ("items", "additionalProperties")
_NESTED_MANY = ("anyOf", "oneOf")


def prepare_schema(
    document: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return a copy of the schema document shaped for the model generator.

    - Each object schema states `additionalProperties`: left unstated, the
      library drops unknown properties (pydantic's default), while JSON Schema
      accepts them.
    - `default` goes: in JSON Schema it is an annotation that changes no
      verdict, while the library would type the field as nullable and fill
      the value in, so explicit nulls would pass and dumps would grow.
    - Control and invisible format characters in descriptions and titles
      become spaces, since they end up in docstrings.
    - Inline objects and enums move into `$defs` under names chosen here, so
      the library never invents a name that clashes with a schema's own.

    Also returns, for each class, the JSON pointer of its schema in the
    original document, where the rules beyond types are looked up.
    """
    definitions = {name: _prepare(schema) for name, schema in document["$defs"].items()}
    hoister = _Hoister(definitions)
    for name in list(definitions):
        hoister.origins[name] = f"/$defs/{escape_pointer_token(name)}"
        definitions[name] = hoister.hoist_children(
            definitions[name], name, hoister.origins[name]
        )
    return {**document, "$defs": definitions}, hoister.origins


def _prepare(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_prepare(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        # `$id` only moves the base of refs, which the resolve step already
        # followed; the library would make such a schema a nullable model.
        if key in ("default", "$id"):
            continue
        if key in ("items", "additionalItems") and isinstance(value, list | bool):
            # Positional items have no pydantic type that leaves the rest open;
            # the list stays a list of anything and the schema checks it.
            continue
        if key in _DATA_KEYWORDS:
            result[key] = value
        elif key in ("description", "title") and isinstance(value, str):
            result[key] = _visible(value)
        else:
            result[key] = _prepare(value)
    is_object = result.get("type") == "object" or "properties" in result
    all_of = result.get("allOf")
    parts: list[Any] = all_of if isinstance(all_of, list) else []
    closed_part = any(
        isinstance(part, dict) and part.get("additionalProperties") is False
        for part in parts
    )
    if (is_object or (parts and not closed_part)) and (
        "additionalProperties" not in result
    ):
        result["additionalProperties"] = True
    # The library types patternProperties as a mapping whose every key must
    # match; JSON Schema lets other keys through, so the field is left open and
    # the pattern rules are checked against the schema instead.
    result.pop("patternProperties", None)
    return result


def _visible(text: str) -> str:
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" else ch
        for ch in text
    )


class _Hoister:
    """Moves inline objects and enums into `$defs` with unclashing names."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.taken = set(definitions) | RESERVED_CLASS_NAMES
        self.origins: dict[str, str] = {}

    def hoist_children(self, schema: Any, owner: str, path: str) -> Any:
        if not isinstance(schema, dict):
            return schema
        result = dict(schema)
        properties = result.get("properties")
        if isinstance(properties, dict):
            result["properties"] = {
                key: self._child(value, owner, key, _join(path, "properties", key))
                for key, value in properties.items()
            }
        for keyword in _NESTED_ONE:
            if isinstance(result.get(keyword), dict):
                here = _join(path, keyword)
                result[keyword] = self._child(result[keyword], owner, "Item", here)
        for keyword in _NESTED_MANY:
            if isinstance(result.get(keyword), list):
                result[keyword] = [
                    self._child(
                        item, owner, f"Option{index + 1}", _join(path, keyword, index)
                    )
                    for index, item in enumerate(result[keyword])
                ]
        if isinstance(result.get("allOf"), list):
            result["allOf"] = [
                self.hoist_children(item, owner, _join(path, "allOf", index))
                for index, item in enumerate(result["allOf"])
            ]
        return result

    def _child(self, schema: Any, owner: str, key: str, path: str) -> Any:
        if not isinstance(schema, dict) or "$ref" in schema:
            return schema
        enum = schema.get("enum")
        named = "properties" in schema or (isinstance(enum, list) and len(enum) > 1)
        if not named:
            return self.hoist_children(schema, owner, path)
        # The owner's name is part of the class name, so that adding or renaming
        # an unrelated schema never renames this class.
        name = unique(owner + pascal_case(key), self.taken)
        self.taken.add(name)
        self.origins[name] = path
        self.definitions[name] = {}
        self.definitions[name] = self.hoist_children(schema, name, path)
        return {"$ref": f"#/$defs/{name}"}


def _join(path: str, *tokens: str | int) -> str:
    return path + "".join(f"/{escape_pointer_token(str(t))}" for t in tokens)


_FUTURE = "from __future__ import annotations\n"
_EXPERIMENTAL_MISSING = "from pydantic.experimental.missing_sentinel import MISSING"
_MISSING = "from pydantic import MISSING"
# pydantic types that the library uses for string formats, and the type from
# the generated `formats` module that replaces each. The pydantic types accept
# more than the format allows (a datetime from a Unix time) and rewrite what
# they accept (`+00:00` dumps as `Z`); the replacements check the format and
# keep the sender's text.
_FORMAT_TYPES = {
    "AwareDatetime": "DateTimeString",
    "NaiveDatetime": "DateTimeString",
    "datetime": "DateTimeString",
    "date": "DateString",
    "time": "TimeString",
    "timedelta": "DurationString",
    "EmailStr": "EmailString",
    "NameEmail": "EmailString",
    "AnyUrl": "UriString",
    "AnyHttpUrl": "UriString",
    "HttpUrl": "UriString",
    "UUID": "UuidString",
    "IPv4Address": "IPv4String",
    "IPv6Address": "IPv6String",
}
_IMPORT_MODULES = ("datetime", "pydantic", "uuid", "ipaddress")


def _format_names(node: ast.expr, names: dict[str, str]) -> list[ast.Name]:
    """Return the format type names in an annotation, outside `Literal`.

    `names` maps each local name to the imported name, since the library
    imports `date as date_aliased` when a field is itself called `date`.
    """
    if isinstance(node, ast.Name):
        return [node] if names.get(node.id) in _FORMAT_TYPES else []
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return []
        return _format_names(node.value, names) + _format_names(node.slice, names)
    if isinstance(node, ast.Tuple | ast.List):
        return [found for item in node.elts for found in _format_names(item, names)]
    if isinstance(node, ast.BinOp):
        return _format_names(node.left, names) + _format_names(node.right, names)
    return []


def _kept_formats(code: str) -> str:
    """Replace pydantic's format types with the generated `formats` types.

    The syntax tree finds each format type used in an annotation or a base
    class, and only those spots of the source change, so field names, enum
    values and docstrings that merely contain "date" stay as they are.
    """
    tree = ast.parse(code)
    imported = {
        alias.asname or alias.name: alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module in _IMPORT_MODULES
        for alias in node.names
    }
    found: list[ast.Name] = []
    bases: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            found.extend(_format_names(node.annotation, imported))
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                found.extend(_format_names(base, imported))
                if isinstance(base, ast.Name) and base.id == "BaseModel":
                    bases.append(base)
    if not found and not bases:
        return code
    lines = _lines(code)
    spots = {(n.lineno, n.col_offset, n.end_col_offset or 0, n.id) for n in found}
    # Model classes derive from the generated JsonModel, whose JSON input is
    # validated strictly: lax mode reads "1" as 1 for an integer enum.
    spots |= {
        (n.lineno, n.col_offset, n.end_col_offset or 0, "BaseModel") for n in bases
    }
    used = set()
    for line, start, end, name in sorted(spots, reverse=True):
        if name == "BaseModel":
            replacement = "JsonModel"
        else:
            replacement = _FORMAT_TYPES[imported[name]]
            used.add(replacement)
        text = lines[line - 1]
        lines[line - 1] = text[:start] + replacement + text[end:]
    last_import = max(
        (
            node.end_lineno or node.lineno
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ),
        default=0,
    )
    imports = "from .base import JsonModel\n" if bases else ""
    if used:
        imports += f"from .formats import {', '.join(sorted(used))}\n"
    return "".join(lines[:last_import]) + imports + "".join(lines[last_import:])


_PYTHON_RE = 'model_config = ConfigDict(regex_engine="python-re")'
# JSON Schema keywords that no pydantic type expresses.
_RULE_KEYWORDS = frozenset(
    {
        "not",
        "uniqueItems",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "contains",
        "if",
        "propertyNames",
        "oneOf",
        "patternProperties",
        "additionalItems",
    }
)


def _has_rule(schema: Any) -> bool:
    """Tell whether a schema uses a keyword from `_RULE_KEYWORDS`.

    Refs are not followed: a referenced class checks its own rules.
    """
    if isinstance(schema, list):
        return any(_has_rule(item) for item in schema)
    if not isinstance(schema, dict) or "$ref" in schema:
        return False
    if _RULE_KEYWORDS & schema.keys() or isinstance(schema.get("items"), list):
        return True
    for key, value in schema.items():
        if key in _DATA_KEYWORDS:
            continue
        if key in ("properties", "patternProperties", "definitions", "$defs"):
            children = value.values() if isinstance(value, dict) else []
            if any(_has_rule(child) for child in children):
                return True
        elif _has_rule(value):
            return True
    return False


def _lookup(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for token in pointer.split("/")[1:]:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _property_name(node: ast.AnnAssign) -> str | None:
    """Return the JSON name of a field: its alias, else its attribute name."""
    if not isinstance(node.target, ast.Name):
        return None
    for call in ast.walk(node.annotation):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Field":
            for keyword in call.keywords:
                value = keyword.value
                if keyword.arg == "alias" and isinstance(value, ast.Constant):
                    return str(value.value)
    return node.target.id


def _schema_rules(code: str, document: dict[str, Any], origins: dict[str, str]) -> str:
    """Add jsonschema checks for the rules that the field types cannot express.

    A field whose schema uses such a rule gets a `SchemaRule` annotation; a
    class whose own schema does (beside its properties) names its schema in
    `schema_rule`. Both point into schema.json by JSON pointer.
    """
    tree = ast.parse(code)
    edits: list[tuple[int, int, int, int, str]] = []
    class_rules: list[tuple[int, str]] = []
    root_models = 0
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Subscript)
            and getattr(base.value, "id", None) == "RootModel"
            for base in node.bases
        ):
            # Root models do not derive from JsonModel, so they get its regex
            # engine here (see base.py for why patterns need Python's re).
            class_rules.append((node.end_lineno or node.lineno, _PYTHON_RE))
            root_models += 1
        if not isinstance(node, ast.ClassDef) or node.name not in origins:
            continue
        pointer = origins[node.name]
        schema = _lookup(document, pointer)
        if not isinstance(schema, dict):
            continue
        own = {k: v for k, v in schema.items() if k != "properties"}
        root_model = any(
            isinstance(base, ast.Subscript)
            and getattr(base.value, "id", None) == "RootModel"
            for base in node.bases
        )
        if _RULE_KEYWORDS & own.keys() and not root_model:
            line = f"schema_rule = {pointer!r}"
            class_rules.append((node.end_lineno or node.lineno, line))
        properties = schema.get("properties") or {}
        for item in node.body:
            if not isinstance(item, ast.AnnAssign):
                continue
            name = _property_name(item)
            if root_model and name == "root":
                # A root model's rules apply to its one value.
                if not _has_rule(schema):
                    continue
                rule = pointer
            elif name is None or not _has_rule(properties.get(name)):
                continue
            else:
                rule = _join(pointer, "properties", name)
            annotation = ast.get_source_segment(code, item.annotation)
            edits.append(
                (
                    item.annotation.lineno,
                    item.annotation.col_offset,
                    item.annotation.end_lineno or item.annotation.lineno,
                    item.annotation.end_col_offset or 0,
                    f"Annotated[{annotation}, SchemaRule({rule!r})]",
                )
            )
    if not edits and not class_rules:
        return code
    lines = [row + "\n" for row in code.removesuffix("\n").split("\n")]
    for after, statement in sorted(class_rules, reverse=True):
        lines.insert(after, f"    {statement}\n")
    # Class lines were inserted below each class, after its fields, so field
    # positions stay valid; apply the field edits from the end backwards.
    offsets = _inserted_before(class_rules)
    for start_line, start, end_line, end, text in sorted(edits, reverse=True):
        first = start_line - 1 + offsets(start_line)
        last = end_line - 1 + offsets(end_line)
        merged = "".join(lines[first : last + 1])
        head = merged[:start]
        tail_offset = len("".join(lines[first:last])) + end
        lines[first : last + 1] = [head + text + merged[tail_offset:]]
    imports = "from .base import SchemaRule\n" if edits else ""
    if root_models:
        imports += "from pydantic import ConfigDict\n"
    text = "".join(lines)
    future = "from __future__ import annotations\n"
    return text.replace(future, future + imports, 1) if imports else text


def _inserted_before(class_rules: list[tuple[int, str]]) -> Any:
    rows = sorted(line for line, _ in class_rules)

    def count(line: int) -> int:
        return sum(1 for row in rows if row < line)

    return count


def _check_class_names(modules: list[str], document: Document) -> None:
    """Fail loudly if the library renamed a class that the templates refer to.

    A route bound to a renamed class would validate against the wrong model,
    so this is an error rather than a warning.
    """
    classes = [
        node
        for code in modules
        for node in ast.parse(code).body
        if isinstance(node, ast.ClassDef)
    ]
    defined = {node.name for node in classes}
    # The library names a class of its own for some inline schemas (a
    # constrained scalar under an array's items or a oneOf option, an allOf
    # of an enum) after the property. It may take the name of a schema of the
    # spec, which is then renamed: an object schema whose class lacks its
    # properties lost its name that way.
    definitions = document.schema_document["$defs"]
    lost_names = sorted(
        node.name
        for node in classes
        if _is_object(definitions.get(node.name))
        and not _has_fields(node, definitions[node.name]["properties"])
    )
    if lost_names:
        raise InputError(
            [
                Diagnostic(
                    f"datamodel-code-generator gave the name {name!r} to an inline "
                    f"schema, so schema {name!r} would get another class; give the "
                    "inline schema (an array's items, a map's values, an allOf or a "
                    "oneOf/anyOf option) a name of its own under "
                    "components/schemas and refer to it with $ref, or rename "
                    f"schema {name!r}",
                    document.schema_sources.get(name),
                )
                for name in lost_names
            ]
        )
    missing = sorted(
        {m.payload_class for m in document.messages if m.payload_class} - defined
    )
    if missing:
        raise InputError(
            [
                Diagnostic(
                    "datamodel-code-generator named the payload classes differently "
                    f"than expected ({', '.join(missing)} missing); rename the schemas "
                    "so that their names do not clash with other schemas or "
                    "properties",
                    document.schema_sources.get(missing[0]),
                )
            ]
        )


def _has_fields(node: ast.ClassDef, properties: Any) -> bool:
    """Tell whether a class has a field for each property of its schema."""
    fields = {
        _property_name(item) for item in node.body if isinstance(item, ast.AnnAssign)
    }
    return isinstance(properties, dict) and set(properties) <= fields


def _is_object(schema: Any) -> bool:
    """Tell whether the library makes a model with fields of `schema`.

    An object schema that combines others (oneOf, anyOf, allOf) may become a
    root model of a union, so only plain ones count.
    """
    return (
        isinstance(schema, dict)
        and "properties" in schema
        and not {"oneOf", "anyOf", "allOf"} & schema.keys()
    )


# Characters that the library leaves raw inside string literals but that must
# not be: str.splitlines() and editors break lines at some of them, while the
# Python tokenizer does not, and ruff rejects raw control characters.
_UNSAFE_IN_LITERALS = frozenset(
    [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]
    + [chr(0x7F)]
    + [chr(code) for code in range(0x80, 0xA0)]
    + ["\u2028", "\u2029"]
)


def _lines(code: str) -> list[str]:
    """Split code after each "\\n" only, as the tokenizer and `ast` count lines."""
    rows = code.split("\n")
    return [row + "\n" for row in rows[:-1]] + ([rows[-1]] if rows[-1] else [])


def _escaped_strings(code: str) -> str:
    """Rewrite each string literal that contains an unsafe character with escapes.

    The later steps edit the code by line and column, so a literal must not
    contain a character that some line splitter counts as a line break.
    """
    edits: list[tuple[int, int, str]] = []
    starts = [0]
    for line in code.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    for token in tokens:
        if token.type != tokenize.STRING:
            continue
        if not any(character in _UNSAFE_IN_LITERALS for character in token.string):
            continue
        value = ast.literal_eval(token.string)
        if not isinstance(value, str):
            continue
        start = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        edits.append((start, end, repr(value)))
    for start, end, text in reversed(edits):
        code = code[:start] + text + code[end:]
    return code


def _strip_banner(code: str) -> str:
    """Drop the library's own banner; the render step writes ours."""
    lines = _lines(code)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "".join(lines)


def _with_alias_imports(code: str) -> str:
    """Add the imports the union aliases may need; the formatter drops unused ones."""
    imports = "from typing import Annotated, TypeAlias\nfrom pydantic import Field\n"
    if _FUTURE in code:
        return code.replace(_FUTURE, _FUTURE + imports, 1)
    return imports + code


def _unions(document: Document) -> str:
    """Return type aliases for the union of each multi-message operation."""
    parts = []
    for operation in document.operations:
        if not operation.union_name:
            continue
        classes = [m.payload_class for m in operation.messages if m.payload_class]
        members = " | ".join(dict.fromkeys(classes))
        if operation.discriminator:
            tag = operation.discriminator
            annotation = f"Annotated[{members}, Field(discriminator={tag!r})]"
        else:
            annotation = members
        parts.append(f"\n\n{operation.union_name}: TypeAlias = {annotation}\n")
    return "".join(parts)
