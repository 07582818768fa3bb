"""The base class of the generated models, and checks for rules beyond types.

pydantic's lax mode reads the JSON string "1" as the number 1 for an integer
enum, which JSON Schema rejects. Strict mode for JSON input fixes that while
Python callers keep lax construction, so `Lead(role="buyer")` still works.

Some JSON Schema keywords (`not`, `uniqueItems`, `dependencies`,
`minProperties`...) have no pydantic type. A field or class whose schema uses
one is also checked against the bundled schema.json with jsonschema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, model_validator
from pydantic_core import PydanticCustomError, core_schema

if TYPE_CHECKING:
    from jsonschema import Draft7Validator


class JsonModel(BaseModel):
    """A model whose `model_validate_json` is strict unless `strict=False` is passed.

    `schema_rule` names the part of schema.json whose object-level rules
    (such as `minProperties` or `not`) the class checks on its input.
    """

    # JSON Schema patterns are searched, not anchored, with ECMA 262 escapes
    # such as \s; Python's re agrees with both, pydantic's default engine does
    # not (its \s misses the ASCII separators \x1c to \x1f).
    model_config = ConfigDict(regex_engine="python-re")

    schema_rule: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _check_schema_rule(cls, data: Any) -> Any:
        if cls.schema_rule is not None:
            check_schema_rule(cls.schema_rule, data)
        return data

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        **options: Any,
    ) -> Any:
        return super().model_validate_json(
            json_data, strict=True if strict is None else strict, **options
        )


# Keywords that the models' own types cannot express; fields and classes whose
# schema uses one are checked against schema.json with jsonschema as well.
_SCHEMA_FILE = Path(__file__).with_name("schema.json")


@cache
def _schema_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
    document.pop("$comment", None)
    return document


@cache
def _validator(pointer: str) -> Draft7Validator:
    # Imported on first use: importing jsonschema with its format extras takes
    # about a second, and most models never need it.
    from jsonschema import Draft7Validator

    return Draft7Validator({**_schema_document(), "$ref": "#" + pointer})


def _is_json(value: object) -> bool:
    """Tell whether a value is plain JSON data, as opposed to model objects."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    return value is None or isinstance(value, str | int | float | bool)


def check_schema_rule(pointer: str, value: object) -> None:
    """Raise a validation error if `value` breaks the schema at `pointer`.

    Values built in Python from model objects are not plain JSON and are left
    to the model's own checks.
    """
    if not _is_json(value):
        return
    from jsonschema.exceptions import best_match

    error = best_match(_validator(pointer).iter_errors(value))
    if error is not None:
        where = "".join(f"/{part}" for part in error.absolute_path) or "/"
        raise PydanticCustomError(
            "schema_rule",
            "Input breaks the schema's {keyword!r} rule at {where}",
            {"keyword": str(error.validator), "where": where},
        )


class SchemaRule:
    """Annotation that checks a field against the schema at a JSON pointer."""

    def __init__(self, pointer: str) -> None:
        self.pointer = pointer

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            self._check, handler(source)
        )

    def _check(self, value: object) -> object:
        check_schema_rule(self.pointer, value)
        return value
