"""Send a message to a receiver as the spec describes: route, credentials, signature.

The generated `sender` module calls this with the destinations written from
the spec. Needs httpx, which the receiver itself does not use.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx

from .spec import SecuritySchemeSpec

DEFAULT_TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True)
class Destination:
    """The route of one message and the credentials that route requires."""

    message: str
    """Message name from the spec ("BuyerLead")."""
    operation_id: str
    method: str
    path: str
    content_type: str
    security: tuple[tuple[str, ...], ...]
    """Alternatives of scheme keys; the sender satisfies the first it can."""


@dataclass
class OutgoingRequest:
    """A request ready to send; tests change its headers to break one rule."""

    method: str
    path: str
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def wire_content_type(declared: str) -> str:
    """Return the declared content type if it is JSON, else application/json.

    The receiver parses every body as JSON and rejects other media types with
    415, so a message declared as, say, text/plain is still sent as JSON.
    """
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return declared
    return "application/json"


def sign(body: bytes, secret: bytes, algorithm: str = "sha256") -> str:
    """Return the hex HMAC of `body`, the form the receiver checks."""
    return hmac.new(secret, body, algorithm).hexdigest()


def prepare(
    destination: Destination,
    body: bytes,
    *,
    schemes: Sequence[SecuritySchemeSpec],
    credentials: Mapping[str, str],
    signature_header: str | None = None,
    signing_secret: bytes | None = None,
    signature_algorithm: str = "sha256",
    extra_headers: Mapping[str, str] | None = None,
) -> OutgoingRequest:
    """Build the request for `body`, with every credential found in `credentials`.

    `credentials` maps a scheme key to its value: an API key, a bearer token or
    "user:password" for basic. A scheme without a value is left out, so the
    receiver returns 401 rather than the sender failing. `extra_headers`, such
    as the headers of a spec example, are sent too, except those that carry
    the content type, a credential or the signature.
    """
    request = OutgoingRequest(
        method=destination.method,
        path=destination.path,
        content=body,
        headers={"content-type": wire_content_type(destination.content_type)},
    )
    reserved = _reserved_headers(schemes, signature_header)
    for header, header_value in (extra_headers or {}).items():
        if header.lower() not in reserved:
            request.headers[header] = header_value
    by_key = {scheme.key: scheme for scheme in schemes}
    cookies: list[str] = []
    for key in _chosen_requirement(destination.security, credentials):
        value = credentials.get(key)
        if value is None or key not in by_key:
            continue
        scheme = by_key[key]
        http_scheme = (scheme.scheme or "").lower()
        if scheme.type == "http" and http_scheme == "basic":
            token = base64.b64encode(value.encode("utf-8")).decode("ascii")
            request.headers["authorization"] = f"Basic {token}"
        elif scheme.type == "http":
            request.headers["authorization"] = f"Bearer {value}"
        elif scheme.location == "query" and scheme.name:
            request.params[scheme.name] = value
        elif scheme.location == "cookie" and scheme.name:
            cookies.append(f"{scheme.name}={value}")
        elif scheme.name:
            request.headers[scheme.name] = value
    if cookies:
        request.headers["cookie"] = "; ".join(cookies)
    if signature_header and signing_secret is not None:
        request.headers[signature_header] = sign(
            body, signing_secret, signature_algorithm
        )
    return request


def _reserved_headers(
    schemes: Sequence[SecuritySchemeSpec], signature_header: str | None
) -> set[str]:
    """Return the lower-case names that only the sender itself may set."""
    names = {
        "authorization",
        "content-length",
        "content-type",
        "cookie",
        "host",
        "transfer-encoding",
    }
    names |= {
        scheme.name.lower()
        for scheme in schemes
        if scheme.type == "httpApiKey" and scheme.location == "header" and scheme.name
    }
    if signature_header:
        names.add(signature_header.lower())
    return names


def deliver(
    client_or_url: httpx.Client | str,
    request: OutgoingRequest,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> httpx.Response:
    """Send `request` with the client, or with a new one for the base URL given."""
    if isinstance(client_or_url, httpx.Client):
        return _send(client_or_url, request)
    with httpx.Client(base_url=client_or_url, timeout=timeout) as client:
        return _send(client, request)


def _send(client: httpx.Client, request: OutgoingRequest) -> httpx.Response:
    return client.request(
        request.method,
        request.path,
        content=request.content,
        headers=request.headers,
        params=request.params,
    )


def _chosen_requirement(
    alternatives: tuple[tuple[str, ...], ...], credentials: Mapping[str, str]
) -> tuple[str, ...]:
    """Return the first alternative with a value for every scheme, else the first."""
    for requirement in alternatives:
        if all(credentials.get(key) is not None for key in requirement):
            return requirement
    return alternatives[0] if alternatives else ()


def credentials_from_env(
    environ: Mapping[str, str], schemes: Sequence[SecuritySchemeSpec]
) -> dict[str, str]:
    """Return the first accepted credential of each scheme's receiver variable.

    The receiver reads a comma-separated list from each scheme's variable. Its
    first entry is the current credential, so a sender presents that one.
    """
    found: dict[str, str] = {}
    for scheme in schemes:
        entries = [e.strip() for e in environ.get(scheme.env_var, "").split(",")]
        first = next((entry for entry in entries if entry), None)
        if first is not None:
            found[scheme.key] = first
    return found
