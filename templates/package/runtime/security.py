"""Credential checks for security schemes, and the body signature check.

Every comparison uses `hmac.compare_digest` and runs against every accepted
credential without stopping at the first match. So the response time does not
show which credential matched or how many leading characters were right.

The body check is HMAC by default. A team can replace it with its own
`BodyVerifier`, named by RECEIVER_SIGNATURE_VERIFIER or passed to
`create_receiver`, without editing generated code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from .settings import BLANK_SECRET_MESSAGE, ConfigurationError, import_reference
from .spec import SecuritySchemeSpec

SUPPORTED_HTTP_SCHEMES = ("basic", "bearer")
SUPPORTED_API_KEY_LOCATIONS = ("header", "query", "cookie")
GENERIC_SIGNATURE_FAILURE = "The request signature is missing or invalid."


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


class BodyVerifier(Protocol):
    """A check of the raw body and headers that runs after authentication."""

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Return whether the request is genuine.

        `headers` is case-insensitive. An exception makes the receiver respond with
        503, so the sender tries again later.
        """
        ...


@dataclass(frozen=True)
class SignatureVerifier:
    """Checks an HMAC signature of the raw request body.

    The header value may be hex or base64 (standard or URL-safe alphabet), with an
    optional "<algorithm>=" prefix such as "sha256=".
    """

    header: str
    secret: bytes
    algorithm: str = "sha256"
    """Name of the hash function in `hashlib`, such as "sha256"."""

    def __post_init__(self) -> None:
        if not self.secret.strip():
            raise ConfigurationError(BLANK_SECRET_MESSAGE)

    @property
    def failure_detail(self) -> str:
        """Return the problem detail for a request that fails the check."""
        return (
            f"The {self.header} header is missing or is not a valid "
            f"HMAC-{self.algorithm.upper()} signature of the body."
        )

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Return whether the signature header contains a valid signature of `body`."""
        header_value = headers.get(self.header)
        if not header_value:
            return False
        presented = _decode_signature(header_value, self.algorithm)
        if presented is None:
            return False
        expected = hmac.new(self.secret, body, self.algorithm).digest()
        return hmac.compare_digest(presented, expected)


@dataclass(frozen=True)
class _FunctionVerifier:
    """Adapts a plain function `(body, headers) -> bool` to `BodyVerifier`."""

    function: Callable[[bytes, Mapping[str, str]], object]

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return self.function(body, headers) is True


def load_verifier(reference: str) -> BodyVerifier:
    """Import the team's verifier named by RECEIVER_SIGNATURE_VERIFIER.

    The target is an object with a `verify(body, headers)` method, a class
    called without arguments to make one, or a function `(body, headers)`
    that returns True for a genuine request. Raises ConfigurationError.
    """
    target = import_reference("RECEIVER_SIGNATURE_VERIFIER", reference)
    if isinstance(target, type):
        try:
            target = target()
        except Exception as error:
            raise ConfigurationError(
                f"invalid RECEIVER_SIGNATURE_VERIFIER={reference!r}: creating it "
                f"failed: {type(error).__name__}: {error}"
            ) from error
    setting = f"invalid RECEIVER_SIGNATURE_VERIFIER={reference!r}"
    if callable(getattr(target, "verify", None)):
        check_verifier(target, setting)
        verifier: BodyVerifier = target
        return verifier
    if callable(target):
        check_verifier_function(target, setting)
        return _FunctionVerifier(target)
    raise ConfigurationError(
        f"{setting}: expected a function "
        "(body, headers) -> bool or an object with such a verify method"
    )


def check_verifier(verifier: BodyVerifier, setting: str) -> None:
    """Raise ConfigurationError unless `verifier.verify(body, headers)` can bind.

    Checked at start-up, so that a verifier with the wrong parameters stops the
    receiver instead of failing every request with 503. `setting` names where
    the verifier came from, for the message.
    """
    check_verifier_function(verifier.verify, setting)


def check_verifier_function(function: Callable[..., object], setting: str) -> None:
    """Raise ConfigurationError unless `function(body, headers)` can bind.

    An async function is rejected too: the receiver calls the verifier
    without awaiting it, and the coroutine it would get is not a verdict.
    """
    # An object whose class defines `async def __call__` is async as well.
    call = type(function).__call__
    if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call):
        raise ConfigurationError(
            f"{setting}: the verifier is an async function, but the receiver "
            "calls it without awaiting; make it a plain function that returns "
            "True or False"
        )
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        # Some callables written in C have no signature to read; they are
        # checked by the first request instead.
        return
    try:
        signature.bind(b"", {})
    except TypeError as error:
        raise ConfigurationError(
            f"{setting}: the receiver calls it as (body, headers), but its "
            f"parameters are {signature}: {error}"
        ) from None


def _decode_signature(value: str, algorithm: str) -> bytes | None:
    digest_size = hashlib.new(algorithm).digest_size
    text = value.strip()
    prefix = f"{algorithm}="
    if text[: len(prefix)].lower() == prefix:
        text = text[len(prefix) :].strip()
    if len(text) == 2 * digest_size and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    padded = text + "=" * (-len(text) % 4)
    for altchars in (b"+/", b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None
