"""Generate the pydantic v2 models module with datamodel-code-generator.

The options below make the models agree with JSON Schema rather than with
pydantic's defaults: strict scalar types (no "3" for 3), unknown properties kept
where the schema allows them (JSON Schema allows them unless it says otherwise,
so the step makes that explicit before the library sees the schema), and
pydantic's MISSING sentinel for optional fields, so an
absent field is omissible while an explicit null is still rejected unless the
schema allows null. The library runs in-process, once for the whole document.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

from datamodel_code_generator import InputFileType, PythonVersion, generate
from datamodel_code_generator.enums import DataModelType

from .errors import Diagnostic, InputError
from .normalize import Document

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
    with warnings.catch_warnings():
        # The library warns about options it considers experimental; the output
        # is checked by the generated contract tests instead.
        warnings.simplefilter("ignore")
        try:
            code = generate(json.dumps(_open_objects(schema)), **_OPTIONS)
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
    if not isinstance(code, str):
        raise InputError(
            [Diagnostic("datamodel-code-generator returned no single module")]
        )
    code = _strip_banner(code).replace(_EXPERIMENTAL_MISSING, _MISSING)
    return _text_only_temporals(_with_alias_imports(code)) + _unions(document)


def _one_line(error: Exception, limit: int = 400) -> str:
    # TODO: validate payload schemas against the JSON Schema metaschema first,
    # so these errors point at the line in the spec instead of at `$defs`.
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_DATA_KEYWORDS = frozenset({"const", "default", "enum", "example", "examples"})


def _open_objects(schema: Any) -> Any:
    """Return a copy where each object schema states `additionalProperties`.

    Left unstated, the library drops unknown properties (pydantic's default),
    while JSON Schema accepts them; stating `true` makes it keep them.
    """
    if isinstance(schema, list):
        return [_open_objects(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {
        key: value if key in _DATA_KEYWORDS else _open_objects(value)
        for key, value in schema.items()
    }
    is_object = result.get("type") == "object" or "properties" in result
    if is_object and "additionalProperties" not in result:
        result["additionalProperties"] = True
    return result


_FUTURE = "from __future__ import annotations\n"
_EXPERIMENTAL_MISSING = "from pydantic.experimental.missing_sentinel import MISSING"
_MISSING = "from pydantic import MISSING"
# Types that pydantic also builds from JSON numbers (as Unix times or seconds),
# while JSON Schema's date and time formats apply to strings only.
_TEMPORAL_TYPES = (
    "AwareDatetime",
    "NaiveDatetime",
    "datetime",
    "date",
    "time",
    "timedelta",
)
_TEXT_ONLY = '''

_T = TypeVar("_T")


def _reject_numbers(value: object) -> object:
    """Reject a JSON number where the schema wants a date or time string."""
    if isinstance(value, int | float):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


TextOnly = Annotated[_T, BeforeValidator(_reject_numbers)]
"""A date or time type that accepts only strings, as the JSON Schema formats do."""
'''


def _text_only_temporals(code: str) -> str:
    """Wrap date and time annotations so that numbers are rejected."""
    head, separator, body = code.partition("\n\nclass ")
    if not separator:
        return code
    names = "|".join(_TEMPORAL_TYPES)
    pattern = re.compile(r"(?<![\w.\[])(" + names + r")\b(?!\()")
    new_body, count = pattern.subn(r"TextOnly[\1]", separator + body)
    if not count:
        return code
    imports = (
        "from typing import TypeVar\n"
        "from pydantic import BeforeValidator\n"
        "from pydantic_core import PydanticCustomError\n"
    )
    return head.replace(_FUTURE, _FUTURE + imports, 1) + _TEXT_ONLY + new_body


def _strip_banner(code: str) -> str:
    """Drop the library's own banner; the render step writes ours."""
    lines = code.splitlines(keepends=True)
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
