"""The endpoint of one route, which checks a request, stores it and acknowledges it.

The checks run in the order method (by the router), authentication, content type,
body size, signature, JSON syntax and payload validation. Credentials are
checked before any of the body is read.
"""

from __future__ import annotations

import enum
import json
import logging
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from .body import (
    BodyTooLargeError,
    InvalidContentLengthError,
    MalformedJsonError,
    is_json_content_type,
    parse_json,
    read_limited_body,
)
from .middleware import (
    IDEMPOTENCY_KEY_SCOPE_KEY,
    INBOX_ROW_SCOPE_KEY,
    MESSAGE_SCOPE_KEY,
)
from .problems import (
    INVALID_SIGNATURE,
    MALFORMED_JSON,
    problem_response,
    validation_problem,
)
from .security import GENERIC_SIGNATURE_FAILURE, Authenticator, BodyVerifier
from .spec import MessageSpec, RouteSpec
from .store import NewMessage, Rejected, StorageError, Store, utc_now
from .worker import Worker

logger = logging.getLogger(__name__)


class RequestRejectedError(Exception):
    """A check failed. `response` is the problem response to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class MessageEndpoint:
    """Receiver of the messages of one route. `handle` is the Starlette endpoint."""

    route: RouteSpec
    authenticator: Authenticator
    verifier: BodyVerifier | None
    max_body_bytes: int
    store: Store
    worker: Worker | None
    stored_headers: tuple[str, ...]
    """Lower-case names of the request headers stored with each message."""
    allowed_tags: list[str] = field(init=False)
    undiscriminated_union: bool = field(init=False)

    def __post_init__(self) -> None:
        self.allowed_tags = discriminator_values(self.route)
        self.undiscriminated_union = self.route.discriminator is None and is_union(
            self.route.adapter
        )

    async def handle(self, request: Request) -> Response:
        """Return 202 for a new message, 200 for a redelivery, or a problem."""
        try:
            self._authenticate(request)
            self._check_content_type(request)
            raw = await self._read_body(request)
            self._verify_signature(request, raw)
        except RequestRejectedError as rejection:
            return rejection.response
        try:
            payload = self._validate(raw)
        except RequestRejectedError as rejection:
            return await self._quarantine(request, raw, rejection.response)

        return await self._store(request, raw, payload)

    async def _quarantine(
        self, request: Request, raw: bytes, response: Response
    ) -> Response:
        """Keep an authenticated body that failed parsing or validation.

        The sender gets the rejection only once the body is kept, so an
        operator can fix and replay it; if it cannot be kept, the sender gets
        a 503 and sends it again.
        """
        rejected = Rejected(
            operation_id=self.route.operation_id,
            body=raw,
            headers=self._stored_headers(request),
            problem=json.loads(bytes(response.body)),
        )
        try:
            await self.store.add_rejected(rejected, utc_now())
        except StorageError as error:
            logger.error(
                "keeping a rejected body for %s failed: %s",
                self.route.operation_id,
                error,
            )
            return problem_response(
                503,
                "The request could not be recorded. Send it again later.",
            )
        return response

    def _stored_headers(self, request: Request) -> dict[str, str]:
        return {
            name: request.headers[name]
            for name in self.stored_headers
            if name in request.headers
        }

    def _authenticate(self, request: Request) -> None:
        if self.authenticator.authenticate(request):
            return
        challenge = self.authenticator.challenges()
        raise RequestRejectedError(
            problem_response(
                401,
                "The request lacks valid credentials.",
                headers={"WWW-Authenticate": challenge} if challenge else None,
            )
        )

    def _check_content_type(self, request: Request) -> None:
        if is_json_content_type(request.headers.get("content-type")):
            return
        raise RequestRejectedError(
            problem_response(
                415,
                "Send the body as application/json or another +json media type "
                "in UTF-8.",
            )
        )

    async def _read_body(self, request: Request) -> bytes:
        try:
            return await read_limited_body(request, self.max_body_bytes)
        except BodyTooLargeError:
            detail = f"The body exceeds the limit of {self.max_body_bytes} bytes."
            raise RequestRejectedError(problem_response(413, detail)) from None
        except InvalidContentLengthError:
            detail = "The Content-Length header is invalid."
            raise RequestRejectedError(problem_response(400, detail)) from None
        except ClientDisconnect:
            detail = "The client disconnected before the body was complete."
            raise RequestRejectedError(problem_response(400, detail)) from None

    def _verify_signature(self, request: Request, raw: bytes) -> None:
        verifier = self.verifier
        if verifier is None:
            return
        try:
            genuine = verifier.verify(raw, request.headers)
        except Exception as error:  # noqa: BLE001 - team code, answered with 503
            logger.error(
                "signature verifier failed on a request for %s: %s: %s",
                self.route.operation_id,
                type(error).__name__,
                error,
            )
            raise RequestRejectedError(
                problem_response(
                    503,
                    "The signature could not be checked. Send the request again later.",
                )
            ) from None
        if genuine is True:
            return
        raise RequestRejectedError(
            problem_response(
                401,
                getattr(verifier, "failure_detail", GENERIC_SIGNATURE_FAILURE),
                problem_type=INVALID_SIGNATURE,
                title="Invalid signature",
            )
        )

    def _validate(self, raw: bytes) -> object:
        try:
            parse_json(raw)
        except MalformedJsonError as error:
            raise RequestRejectedError(
                problem_response(
                    400,
                    str(error),
                    problem_type=MALFORMED_JSON,
                    title="Malformed JSON",
                )
            ) from None
        try:
            # JSON mode applies pydantic's rules for JSON input, which accept
            # strings for dates and similar types even in strict mode.
            # Strict, as JSON Schema is: lax mode would read "1" as 1.
            payload: object = self.route.adapter.validate_json(raw, strict=True)
        except ValidationError as error:
            raise RequestRejectedError(
                validation_problem(
                    error,
                    discriminator=self.route.discriminator,
                    allowed_tags=self.allowed_tags,
                    undiscriminated_union=self.undiscriminated_union,
                )
            ) from None
        return payload

    async def _store(self, request: Request, raw: bytes, payload: object) -> Response:
        message = message_for(self.route, payload)
        request.scope[MESSAGE_SCOPE_KEY] = message.name
        key = idempotency_key(message, raw)
        if key is not None:
            request.scope[IDEMPOTENCY_KEY_SCOPE_KEY] = key
        new = NewMessage(
            message=message.name,
            operation_id=self.route.operation_id,
            body=raw,
            headers=self._stored_headers(request),
            idempotency_key=key,
        )
        try:
            stored = await self.store.add_message(new, utc_now())
        except StorageError as error:
            logger.error(
                "storing a %s message for %s failed: %s",
                message.name,
                self.route.operation_id,
                error,
            )
            return problem_response(
                503,
                "The message could not be stored and was not accepted. Send it "
                "again later.",
            )

        request.scope[INBOX_ROW_SCOPE_KEY] = stored.id
        if stored.duplicate:
            return JSONResponse({"id": stored.id, "status": "duplicate"}, 200)
        if self.worker is not None:
            self.worker.notify()
        return JSONResponse({"id": stored.id, "status": "accepted"}, 202)


def idempotency_key(message: MessageSpec, raw: bytes) -> str | None:
    """Return the message's idempotency key, or None to use the body instead.

    The key is the JSON text of the configured property, so "7" and 7 differ.
    """
    if message.idempotency_field is None:
        return None
    document = json.loads(raw)
    if not isinstance(document, dict) or message.idempotency_field not in document:
        return None
    value = document[message.idempotency_field]
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def message_for(route: RouteSpec, payload: object) -> MessageSpec:
    """Return the message whose model produced `payload`.

    Raises TypeError when no message of the route declares the payload's type.
    """
    for message in route.messages:
        if type(payload) is message.payload_type:
            return message
    for message in route.messages:
        if isinstance(payload, message.payload_type):
            return message
    raise TypeError(
        f"route {route.operation_id!r} validated a {type(payload).__name__}, "
        "which none of its messages declares"
    )


def is_union(adapter: TypeAdapter[Any]) -> bool:
    """Return whether the adapter validates a union without discriminator.

    Pydantic tries each member of such a union. A discriminated union has the
    core schema type "tagged-union" instead.
    """
    schema: Mapping[str, Any] = adapter.core_schema
    if schema["type"] == "definitions":
        definitions = {
            definition["ref"]: definition
            for definition in schema["definitions"]
            if "ref" in definition
        }
        schema = schema["schema"]
        if schema["type"] == "definition-ref":
            schema = definitions.get(schema["schema_ref"], schema)
    return bool(schema["type"] == "union")


def discriminator_values(route: RouteSpec) -> list[str]:
    """Return the discriminator values that the route's models accept, in order."""
    if route.discriminator is None:
        return []
    values: list[str] = []
    for message in route.messages:
        for value in _literal_values(message.payload_type, route.discriminator):
            if value not in values:
                values.append(value)
    return values


def _literal_values(model: type[BaseModel], json_name: str) -> list[str]:
    for name, model_field in model.model_fields.items():
        if json_name not in (name, model_field.alias, model_field.validation_alias):
            continue
        return [str(value) for value in _flatten_literal(model_field.annotation)]
    return []


def _flatten_literal(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Literal:
        return [
            value.value if isinstance(value, enum.Enum) else value
            for value in get_args(annotation)
        ]
    if origin in (Union, types.UnionType):
        flattened: list[Any] = []
        for argument in get_args(annotation):
            flattened.extend(_flatten_literal(argument))
        return flattened
    return []
