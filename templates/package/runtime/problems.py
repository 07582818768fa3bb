"""RFC 9457 problem responses, and validation errors that never echo input values.

Payloads carry personal data, so a problem names where a value is wrong and why,
but never what the value was. Pydantic's `input` and `ctx` are never copied.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_core.core_schema import ErrorType
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:asyncapi-gen:problem:"
MALFORMED_JSON = PROBLEM_TYPE_PREFIX + "malformed-json"
VALIDATION_FAILED = PROBLEM_TYPE_PREFIX + "validation-failed"
INVALID_SIGNATURE = PROBLEM_TYPE_PREFIX + "invalid-signature"
MAX_LISTED_ERRORS = 50

# Messages of these error types are free text from a validator (email-validator,
# custom validators) and can quote the input, so only their fixed prefix is kept.
_FREE_TEXT_ERROR_TYPES = frozenset({"value_error", "assertion_error"})
# Other built-in messages are built from the schema's constraints, except the
# tag and parser messages that _safe_reason shortens. Custom error types
# (PydanticCustomError) may contain anything, so they get a generic reason.
_BUILT_IN_ERROR_TYPES = frozenset(get_args(ErrorType)) - _FREE_TEXT_ERROR_TYPES
_DISCRIMINATOR_ERROR_TYPES = frozenset({"union_tag_invalid", "union_tag_not_found"})


class ProblemResponse(JSONResponse):
    """JSON response with the `application/problem+json` media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    status: int,
    detail: str,
    *,
    problem_type: str = "about:blank",
    title: str | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """Build a problem response. The title defaults to the HTTP status phrase."""
    body: dict[str, Any] = {
        "type": problem_type,
        "title": title or _status_phrase(status),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [dict(error) for error in errors]
    return ProblemResponse(body, status_code=status, headers=headers)


def validation_problem(
    error: ValidationError,
    *,
    discriminator: str | None,
    allowed_tags: Sequence[str],
    undiscriminated_union: bool = False,
) -> ProblemResponse:
    """Build the 422 problem for a payload that failed validation.

    With a discriminated union pydantic puts the selected tag first in each
    location, and that tag is stripped so that pointers address the body.
    With `undiscriminated_union` pydantic validates the payload against every
    member and puts the member's label first in each location. Only the errors
    of the closest member (see `_closest_member_errors`) are listed, without
    the label.
    """
    details = error.errors(include_url=False, include_input=False)
    summary = ""
    if undiscriminated_union:
        details, member_count = _closest_member_errors(details)
        if member_count > 1:
            summary = (
                f"The payload matches none of the {member_count} message types. "
                "The errors of the closest one are listed. "
            )
    entries = [
        _error_entry(detail, discriminator=discriminator, allowed_tags=allowed_tags)
        for detail in details[:MAX_LISTED_ERRORS]
    ]
    count = len(details)
    if count > MAX_LISTED_ERRORS:
        summary += (
            f"The payload has {count} errors. The first {MAX_LISTED_ERRORS} are listed."
        )
    elif count == 1:
        summary += "The payload has 1 error."
    else:
        summary += f"The payload has {count} errors."
    return problem_response(
        422,
        summary,
        problem_type=VALIDATION_FAILED,
        title="Payload validation failed",
        errors=entries,
    )


def describe_validation_error(error: ValidationError) -> str:
    """Summarize a validation error for logs and the inbox.

    The summary has the error count and the location and type of each error
    ("ValidationError: 1 error: contact.email [value_error]"). It leaves out
    messages too, because validators can quote the input in them.
    """
    details = error.errors(include_url=False, include_input=False)
    parts = [
        f"{_field_name(detail['loc']) or '(body)'} [{detail['type']}]"
        for detail in details[:MAX_LISTED_ERRORS]
    ]
    if len(details) > MAX_LISTED_ERRORS:
        parts.append(f"and {len(details) - MAX_LISTED_ERRORS} more")
    noun = "error" if len(details) == 1 else "errors"
    return f"ValidationError: {len(details)} {noun}: {', '.join(parts)}"


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Render Starlette's HTTP exceptions, such as 404 and 405, as problems."""
    if not isinstance(exc, HTTPException):
        raise TypeError(f"expected HTTPException, got {type(exc).__name__}")
    phrase = _status_phrase(exc.status_code)
    detail = exc.detail if exc.detail and exc.detail != phrase else None
    if detail is None:
        detail = _default_detail(request, exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    """Render an unexpected exception as a 500 problem without internal details."""
    # Starlette's ServerErrorMiddleware re-raises after this response, so the
    # server logs the traceback.
    return problem_response(500, "The server failed to process the request.")


def _default_detail(request: Request, status: int) -> str:
    if status == 404:
        return f"No endpoint at {request.url.path}."
    if status == 405:
        return f"Method {request.method} is not allowed at {request.url.path}."
    return _status_phrase(status)


def _closest_member_errors(
    details: Sequence[ErrorDetails],
) -> tuple[list[ErrorDetails], int]:
    """Return the errors of the closest union member with its label removed.

    The label is the first location element: the class name of a model member,
    or a type tag such as "function-after[check(), ClosedEvent]" when the model
    has a validator. The closest member is the one whose errors reach deepest
    into the body, then the one with fewer errors, then the one declared first.
    Errors without a location (a union-level error) are kept as they are. Also
    returns the number of members that failed.
    """
    unlabelled: list[ErrorDetails] = []
    by_member: dict[int | str, list[ErrorDetails]] = {}
    for detail in details:
        location = detail["loc"]
        if not location:
            unlabelled.append(detail)
            continue
        stripped = detail.copy()
        stripped["loc"] = location[1:]
        by_member.setdefault(location[0], []).append(stripped)
    if not by_member:
        return unlabelled, 0

    def closeness(errors: list[ErrorDetails]) -> tuple[int, int]:
        return max(len(error["loc"]) for error in errors), -len(errors)

    # max() returns the first of equal candidates, and dicts keep insertion
    # order, which is pydantic's order of the members.
    closest = max(by_member.values(), key=closeness)
    return unlabelled + closest, len(by_member)


def _error_entry(
    detail: ErrorDetails,
    *,
    discriminator: str | None,
    allowed_tags: Sequence[str],
) -> dict[str, str]:
    location = tuple(detail["loc"])
    if discriminator is not None and detail["type"] in _DISCRIMINATOR_ERROR_TYPES:
        allowed = ", ".join(repr(tag) for tag in allowed_tags)
        if detail["type"] == "union_tag_not_found":
            reason = f"missing discriminator '{discriminator}'"
        else:
            reason = f"unknown value of discriminator '{discriminator}'"
        return {
            "pointer": _json_pointer((discriminator,)),
            "field": discriminator,
            "reason": f"{reason}: expected one of {allowed}",
        }
    if discriminator is not None and location:
        location = location[1:]
    return {
        "pointer": _json_pointer(location),
        "field": _field_name(location),
        "reason": _safe_reason(detail),
    }


def _safe_reason(detail: ErrorDetails) -> str:
    error_type = detail["type"]
    message = detail["msg"]
    if error_type in _FREE_TEXT_ERROR_TYPES:
        # "value is not a valid email address: <reason quoting the input>" and
        # "Value error, <custom text>" keep only the part before the separator.
        return message.split(":", 1)[0].split(",", 1)[0].strip()
    if error_type == "union_tag_invalid":
        # The built-in message quotes the tag found in the input.
        context = detail.get("ctx", {})
        expected = context.get("expected_tags", "")
        return f"tag does not match any of the expected tags: {expected}"
    if error_type.endswith("_parsing"):
        # Parser messages such as uuid_parsing can quote input characters after
        # the comma.
        return message.split(",", 1)[0]
    if error_type in _BUILT_IN_ERROR_TYPES:
        return message
    return "invalid value"


def _json_pointer(location: Sequence[int | str]) -> str:
    """Return the RFC 6901 pointer for a pydantic location."""
    escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in location)
    return "".join("/" + part for part in escaped)


def _field_name(location: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in location)


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
