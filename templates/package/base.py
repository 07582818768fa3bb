"""The base class of the generated models: JSON input is validated strictly.

pydantic's lax mode reads the JSON string "1" as the number 1 for an integer
enum, which JSON Schema rejects. Strict mode for JSON input fixes that while
Python callers keep lax construction, so `Lead(role="buyer")` still works.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class JsonModel(BaseModel):
    """A model whose `model_validate_json` is strict unless told otherwise."""

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
