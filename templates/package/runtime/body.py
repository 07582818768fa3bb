"""Request body intake: content type check, size-limited read and strict JSON parse."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final, NoReturn

from starlette.requests import Request

# RFC 6838 restricted-name characters, for structured "+json" media types.
_JSON_SUFFIX_MEDIA_TYPE: Final = re.compile(
    r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*\+json"
)
_UTF8_CHARSETS: Final = frozenset({"utf-8", "utf8"})
_SURROGATE: Final = re.compile("[\\ud800-\\udfff]")

# NOTE: 64 is a chosen bound, not read from the spec. A payload schema that nests
# deeper needs a higher value.
MAX_JSON_DEPTH: Final = 64
"""Maximum nesting of arrays and objects in a body. The top-level value is level 1.

Pydantic 2.14's validate_json fails with "recursion limit exceeded" somewhere
between 200 and 255 levels, and json.loads raises RecursionError near
sys.getrecursionlimit(), so this limit stays well below both."""
MAX_INTEGER_DIGITS: Final = 4300
"""Maximum digits of a JSON integer, CPython's default limit for converting a
decimal string to int (sys.get_int_max_str_digits)."""


class BodyTooLargeError(Exception):
    """The request body is larger than the configured maximum."""


class InvalidContentLengthError(Exception):
    """The Content-Length header is not a non-negative integer."""


class MalformedJsonError(Exception):
    """The body is not a UTF-8 JSON text accepted by `parse_json`.

    The message may name object keys and JSON pointers, but never a value.
    """


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
    """Parse a UTF-8 JSON text and return the value, or raise MalformedJsonError.

    Pydantic parses the body again, so this step rejects what its parser would
    accept and what another parser could read differently from the stored body.
    These are the non-standard NaN and Infinity, duplicate object keys, lone
    UTF-16 surrogate escapes, integers of more than MAX_INTEGER_DIGITS digits
    and nesting deeper than MAX_JSON_DEPTH. Pydantic keeps the last of
    duplicate keys, so a parser that keeps the first would see another message.
    The error message names keys and positions but never a value.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJsonError(
            f"The body is not valid UTF-8 (invalid byte at offset {error.start})."
        ) from error
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_integer,
            object_pairs_hook=_object_without_duplicate_keys,
        )
    except json.JSONDecodeError as error:
        raise MalformedJsonError(
            # Some messages of the json module end in "at" themselves, such as
            # "Invalid control character at".
            f"The body is not valid JSON: {error.msg.removesuffix(' at')} at line "
            f"{error.lineno} column {error.colno}."
        ) from error
    except RecursionError as error:
        raise MalformedJsonError(_too_deep_message()) from error
    _check_depth_and_strings(value)
    return value


def _reject_constant(name: str) -> NoReturn:
    raise MalformedJsonError(f"The body is not valid JSON: {name} is not allowed.")


def _parse_float(literal: str) -> float:
    value = float(literal)
    # 1e999 overflows to infinity, which JSON cannot carry and a handler
    # would receive as inf.
    if math.isinf(value):
        raise MalformedJsonError(
            "The body is not valid JSON for this receiver: a number is too large "
            "for a 64-bit float."
        )
    return value


def _parse_integer(literal: str) -> int:
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        raise MalformedJsonError(
            f"The body contains an integer of {digits} digits. The maximum is "
            f"{MAX_INTEGER_DIGITS}."
        )
    try:
        return int(literal)
    except ValueError as error:
        # PYTHONINTMAXSTRDIGITS or sys.set_int_max_str_digits can set a lower
        # limit than MAX_INTEGER_DIGITS.
        raise MalformedJsonError(
            f"The body contains an integer of {digits} digits, more than this "
            "server converts."
        ) from error


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, member in pairs:
        if key in result:
            # The key is not named: keys of a free-form object can be personal
            # data, like any submitted value.
            raise MalformedJsonError(
                "The body is not valid JSON: an object has the same key more than once."
            )
        result[key] = member
    return result


def _check_depth_and_strings(value: Any) -> None:
    """Raise MalformedJsonError for deep nesting or a string with a lone surrogate.

    json.loads turns a valid surrogate pair escape into one code point, so any
    surrogate code point left in a string came from a lone escape.
    """
    if isinstance(value, str) and _has_surrogate(value):
        raise MalformedJsonError(_surrogate_message("the top-level string"))
    # Each entry is an array or object, its nesting level and its JSON pointer.
    # Pointers are built for containers only, and keys are checked before a
    # pointer contains them, so a pointer never contains a surrogate.
    pending: list[tuple[dict[str, Any] | list[Any], int, str]] = []
    if isinstance(value, dict | list):
        pending.append((value, 1, ""))
    while pending:
        container, depth, pointer = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedJsonError(_too_deep_message())
        members = (
            container.items() if isinstance(container, dict) else enumerate(container)
        )
        for key, member in members:
            if isinstance(key, str) and _has_surrogate(key):
                where = (
                    f"the object at {pointer}" if pointer else "the top-level object"
                )
                raise MalformedJsonError(_surrogate_message(f"a key of {where}"))
            if isinstance(member, str):
                if _has_surrogate(member):
                    where = f"the string at {_child_pointer(pointer, key)}"
                    raise MalformedJsonError(_surrogate_message(where))
            elif isinstance(member, dict | list):
                pending.append((member, depth + 1, _child_pointer(pointer, key)))


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _child_pointer(pointer: str, key: str | int) -> str:
    escaped = str(key).replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{escaped}"


def _surrogate_message(where: str) -> str:
    return (
        f"The body is not valid JSON: {where} contains a lone UTF-16 surrogate "
        "escape (\\ud800 to \\udfff without its pair)."
    )


def _too_deep_message() -> str:
    return f"The body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels."
