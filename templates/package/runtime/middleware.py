"""ASGI middleware of the receiver: the access log and closing unread connections."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Final
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

INBOX_ROW_SCOPE_KEY: Final = "asyncapi_gen.inbox_row_id"
"""Scope key under which an endpoint puts the inbox row id of a stored message."""
MESSAGE_SCOPE_KEY: Final = "asyncapi_gen.message"
"""Scope key under which an endpoint puts the name of the message it received."""
IDEMPOTENCY_KEY_SCOPE_KEY: Final = "asyncapi_gen.idempotency_key"
"""Scope key under which an endpoint puts the message's idempotency key, as JSON
text."""
ACCESS_RECORD_ATTRIBUTE: Final = "access"
"""Log record attribute that contains the access line's fields as a dict."""
MAX_LOGGED_KEY_LENGTH: Final = 128
REQUEST_ID_HEADER: Final = b"x-request-id"
# A sender's request id is kept only when it is this kind of short token, so it
# cannot inject anything into logs or headers. Otherwise a new one is made.
_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._-]{1,64}")
_CLOSE_HEADER: Final = (b"connection", b"close")
# Characters that RFC 3986 allows in a path, and "%" of existing escapes. quote()
# percent-encodes every other byte, control characters included.
_PATH_SAFE: Final = "/:@!$&'()*+,;=%"


class AccessLogMiddleware:
    """Logs one line per HTTP request and gives each request an id.

    The line contains the method, path, status, latency, request id, message
    name, idempotency key and inbox row id. The same fields are on the log
    record as a dict under ACCESS_RECORD_ATTRIBUTE, for the JSON log format.
    The path is logged without the query string, because an API key can be
    sent there. The line is logged after the response, or when the application
    raises, as status 500. The request id is the sender's `X-Request-Id` when
    that is a short token, else a new one, and it is sent back in the same
    header.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()
        request_id = _request_id(scope)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            milliseconds = (time.perf_counter() - started) * 1000
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "path": _log_path(scope),
                "status": status,
                "latency_ms": round(milliseconds, 1),
                "message": scope.get(MESSAGE_SCOPE_KEY),
                "idempotency_key": _key_value(scope.get(IDEMPOTENCY_KEY_SCOPE_KEY)),
                "inbox_row": scope.get(INBOX_ROW_SCOPE_KEY),
            }
            details = f" request {request_id}"
            if fields["message"] is not None:
                details += f" message {fields['message']}"
            key_text = _short(scope.get(IDEMPOTENCY_KEY_SCOPE_KEY))
            if key_text is not None:
                details += f" key {key_text}"
            if fields["inbox_row"] is not None:
                details += f" inbox row {fields['inbox_row']}"
            logger.info(
                "%s %s %d %.1f ms%s",
                fields["method"],
                fields["path"],
                status,
                milliseconds,
                details,
                extra={ACCESS_RECORD_ATTRIBUTE: fields},
            )


def _key_value(key: object) -> object:
    """Return the idempotency key for a JSON log record.

    A string key is returned as the string itself, cut to MAX_LOGGED_KEY_LENGTH,
    so that a log collector can match it. Other JSON values are returned as
    their JSON text.
    """
    if not isinstance(key, str):
        return None
    value = json.loads(key)
    if isinstance(value, str):
        return _cut(value)
    return _short(key)


def _cut(text: str) -> str:
    if len(text) <= MAX_LOGGED_KEY_LENGTH:
        return text
    return text[: MAX_LOGGED_KEY_LENGTH - 3] + "..."


def _short(key: object) -> str | None:
    """Return an idempotency key for the log, cut to MAX_LOGGED_KEY_LENGTH.

    The key is JSON text with non-ASCII escaped, so it has no control
    characters that could start a forged log line.
    """
    if not isinstance(key, str):
        return None
    return _cut(key)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == REQUEST_ID_HEADER and _REQUEST_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


class CloseUnreadBodyMiddleware:
    """Adds `Connection: close` to a response sent before the body was read.

    Without it, uvicorn 0.55 keeps the connection for the next request and
    first reads and discards the rest of this request's body, which can be many
    GiB. Rejections sent before or during the body read, such as 401, 404, 413
    and 415, get the header. The server then closes the connection after the
    response.

    NOTE: uvicorn closes the socket at once, without lingering, so a client that
    is still sending the body can get a connection reset instead of the
    response.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_pending = _has_body(scope)

        async def receive_and_track() -> Message:
            nonlocal body_pending
            message = await receive()
            if message["type"] == "http.request" and not message.get(
                "more_body", False
            ):
                body_pending = False
            return message

        async def send_with_close(message: Message) -> None:
            if message["type"] == "http.response.start" and body_pending:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"connection" for name, _ in headers):
                    headers.append(_CLOSE_HEADER)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive_and_track, send_with_close)


def _has_body(scope: Scope) -> bool:
    """Return whether the request headers announce a body that is not empty."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length" and value.strip() != b"0":
            return True
    return False


def _log_path(scope: Scope) -> str:
    """Return the request path without the query string, percent-encoded.

    Some servers put the query string into `raw_path`, so it is cut off here.
    Encoding control characters keeps a path from starting a forged log line.
    """
    raw_path = scope.get("raw_path")
    if isinstance(raw_path, bytes):
        return quote(raw_path.partition(b"?")[0], safe=_PATH_SAFE)
    path: str = scope["path"]
    return quote(path, safe=_PATH_SAFE)
