"""ASGI middleware of the receiver: the access log and closing unread connections."""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

INBOX_ROW_SCOPE_KEY: Final = "asyncapi_gen.inbox_row_id"
"""Scope key under which an endpoint puts the inbox row id of a stored message."""
_CLOSE_HEADER: Final = (b"connection", b"close")
# Characters that RFC 3986 allows in a path, and "%" of existing escapes. quote()
# percent-encodes every other byte, control characters included.
_PATH_SAFE: Final = "/:@!$&'()*+,;=%"


class AccessLogMiddleware:
    """Logs one line per HTTP request: method, path, status and inbox row id.

    The path is logged without the query string, because an API key can be
    sent there. The line is logged after the response, or when the
    application raises, as status 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            row_id = scope.get(INBOX_ROW_SCOPE_KEY)
            stored = "" if row_id is None else f" inbox row {row_id}"
            logger.info("%s %s %d%s", scope["method"], _log_path(scope), status, stored)


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
