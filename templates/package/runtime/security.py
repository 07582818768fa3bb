"""Credential checks for security schemes, and the HMAC body signature check.

Every comparison uses `hmac.compare_digest` and runs against every accepted
credential without stopping at the first match. So the response time does not
show which credential matched or how many leading characters were right.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.requests import Request

from .spec import SecuritySchemeSpec

SUPPORTED_HTTP_SCHEMES = ("basic", "bearer")
SUPPORTED_API_KEY_LOCATIONS = ("header", "query", "cookie")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def validate_scheme(scheme: SecuritySchemeSpec) -> None:
    """Raise ValueError when the runtime cannot check the scheme."""
    if scheme.type == "httpApiKey":
        if scheme.location not in SUPPORTED_API_KEY_LOCATIONS or not scheme.name:
            raise ValueError(
                f"security scheme {scheme.key!r}: httpApiKey needs a name and a "
                f"location in {SUPPORTED_API_KEY_LOCATIONS}, got "
                f"location={scheme.location!r} name={scheme.name!r}"
            )
    elif scheme.type == "http":
        if (scheme.scheme or "").lower() not in SUPPORTED_HTTP_SCHEMES:
            raise ValueError(
                f"security scheme {scheme.key!r}: unsupported http scheme "
                f"{scheme.scheme!r}, expected one of {SUPPORTED_HTTP_SCHEMES}"
            )
    else:
        raise ValueError(
            f"security scheme {scheme.key!r}: unsupported type {scheme.type!r}, "
            "expected 'httpApiKey' or 'http'"
        )


def credential_header_names(schemes: Sequence[SecuritySchemeSpec]) -> frozenset[str]:
    """Return the lower-case names of headers that carry credentials."""
    names = {"authorization", "cookie", "proxy-authorization"}
    for scheme in schemes:
        if scheme.type == "httpApiKey" and scheme.location == "header" and scheme.name:
            names.add(scheme.name.lower())
    return frozenset(names)


@dataclass(frozen=True)
class Authenticator:
    """Checks one route's security requirements against a request."""

    requirements: tuple[tuple[SecuritySchemeSpec, ...], ...]
    """Alternatives: a request passes when it passes every scheme of one of them."""
    credentials: Mapping[str, tuple[str, ...]]

    def authenticate(self, request: Request) -> bool:
        """Return whether the request passes at least one requirement."""
        if not self.requirements:
            return True
        passed_any = False
        for requirement in self.requirements:
            passed_all = True
            for scheme in requirement:
                passed = self._check(scheme, request)
                passed_all = passed_all and passed
            passed_any = passed_any or passed_all
        return passed_any

    def challenges(self) -> str | None:
        """Return the WWW-Authenticate value for the route's HTTP schemes, if any."""
        values: list[str] = []
        for requirement in self.requirements:
            for scheme in requirement:
                if scheme.type != "http":
                    continue
                if (scheme.scheme or "").lower() == "basic":
                    challenge = 'Basic realm="webhook", charset="UTF-8"'
                else:
                    challenge = 'Bearer realm="webhook"'
                if challenge not in values:
                    values.append(challenge)
        return ", ".join(values) or None

    def _check(self, scheme: SecuritySchemeSpec, request: Request) -> bool:
        presented = _presented_credential(scheme, request)
        accepted = self.credentials.get(scheme.key, ())
        if presented is None or not accepted:
            return False
        return matches_any(presented, accepted)


def matches_any(presented: bytes, accepted: Sequence[str]) -> bool:
    """Compare `presented` with every accepted value in constant time per value."""
    matched = False
    for candidate in accepted:
        equal = hmac.compare_digest(presented, candidate.encode("utf-8"))
        matched = matched or equal
    return matched


def _presented_credential(scheme: SecuritySchemeSpec, request: Request) -> bytes | None:
    if scheme.type == "httpApiKey" and scheme.name:
        if scheme.location == "header":
            value = request.headers.get(scheme.name)
        elif scheme.location == "query":
            value = request.query_params.get(scheme.name)
        elif scheme.location == "cookie":
            value = request.cookies.get(scheme.name)
        else:
            value = None
        return value.encode("utf-8") if value else None
    if scheme.type == "http":
        return _authorization_credential(request, (scheme.scheme or "").lower())
    return None


def _authorization_credential(request: Request, auth_scheme: str) -> bytes | None:
    header = request.headers.get("authorization", "")
    presented_scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if presented_scheme.lower() != auth_scheme or not token:
        return None
    if auth_scheme == "bearer":
        return token.encode("utf-8")
    try:
        return base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class SignatureVerifier:
    """Checks an HMAC-SHA256 signature of the raw request body.

    The header value may be hex or base64 (standard or URL-safe alphabet), with an
    optional "sha256=" prefix.
    """

    header: str
    secret: bytes

    def verify(self, body: bytes, header_value: str | None) -> bool:
        """Return whether `header_value` is a valid signature of `body`."""
        if not header_value:
            return False
        presented = _decode_signature(header_value)
        if presented is None:
            return False
        expected = hmac.new(self.secret, body, hashlib.sha256).digest()
        return hmac.compare_digest(presented, expected)


def _decode_signature(value: str) -> bytes | None:
    text = value.strip()
    if text[:7].lower() == "sha256=":
        text = text[7:].strip()
    if _HEX_SHA256.fullmatch(text):
        return bytes.fromhex(text)
    padded = text + "=" * (-len(text) % 4)
    for altchars in (b"+/", b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None
