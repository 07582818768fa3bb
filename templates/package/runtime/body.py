"""Request body intake: content type check, size-limited read and strict JSON parse."""

from __future__ import annotations

import json
import re
from typing import Any, Final, NoReturn

from starlette.requests import Request

# RFC 6838 restricted-name characters, for structured "+json" media types.
_JSON_SUFFIX_MEDIA_TYPE: Final = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\+json"
)
_UTF8_CHARSETS: Final = frozenset({"utf-8", "utf8"})


class BodyTooLargeError(Exception):
    """The request body is larger than the configured maximum."""


class InvalidContentLengthError(Exception):
    """The Content-Length header is not a non-negative integer."""


class MalformedJsonError(Exception):
    """The body is not a UTF-8 JSON text. The message contains no body content."""


def is_json_content_type(header_value: str | None) -> bool:
    """Return whether the header is application/json or a */*+json media type.

    A charset parameter, when present, must be UTF-8, as RFC 8259 requires.
    """
    if not header_value:
        return False
    media_type, *parameters = header_value.split(";")
    media_type = media_type.strip().lower()
    if media_type != "application/json" and not _JSON_SUFFIX_MEDIA_TYPE.fullmatch(
        media_type
    ):
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in _UTF8_CHARSETS:
            return False
    return True


async def read_limited_body(request: Request, max_bytes: int) -> bytes:
    """Read the body, stopping as soon as it exceeds `max_bytes`.

    Raises BodyTooLargeError before reading anything when Content-Length already
    exceeds the limit, and InvalidContentLengthError when that header is invalid.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        declared = declared.strip()
        if not (declared.isascii() and declared.isdigit()):
            raise InvalidContentLengthError(declared)
        if int(declared) > max_bytes:
            raise BodyTooLargeError()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """Parse a UTF-8 JSON text, rejecting the non-standard NaN and Infinity.

    Pydantic's JSON parser accepts those constants, so this check runs first.
    Raises MalformedJsonError with the position of the first error.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJsonError(
            f"The body is not valid UTF-8 (invalid byte at offset {error.start})."
        ) from error
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise MalformedJsonError(
            f"The body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}."
        ) from error
    except RecursionError as error:
        raise MalformedJsonError("The body nests JSON values too deeply.") from error


def _reject_constant(name: str) -> NoReturn:
    raise MalformedJsonError(f"The body is not valid JSON: {name} is not allowed.")
