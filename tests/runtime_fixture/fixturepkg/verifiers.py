"""Team-written body verifiers for the fixture receiver."""

from __future__ import annotations

from collections.abc import Mapping


def length_header_verifier(body: bytes, headers: Mapping[str, str]) -> bool:
    """Accept a body whose X-Body-Length header contains its length in bytes.

    The header value "explode" raises, as a broken verifier would.
    """
    value = headers.get("X-Body-Length")
    if value == "explode":
        raise RuntimeError("verifier failed on purpose")
    return value == str(len(body))


class NotAVerifier:
    """Has no verify method, so loading it fails."""

    def __init__(self) -> None:
        self.name = "not a verifier"


def body_only_verifier(body: bytes) -> bool:
    """Takes one parameter where the receiver passes two, so start-up fails."""
    return bool(body)


def keyword_verifier(body: bytes, headers: Mapping[str, str], *, strict: bool) -> bool:
    """Needs a keyword the receiver never passes, so start-up fails."""
    return strict


class ShortVerifyMethod:
    """Its verify method takes the body only, so start-up fails."""

    def verify(self, body: bytes) -> bool:
        return bool(body)


class FlexibleVerifier:
    """Accepts any arguments, which the receiver's two fit."""

    def verify(self, *args: object, **kwargs: object) -> bool:
        return True


async def async_verifier(body: bytes, headers: Mapping[str, str]) -> bool:
    """An async function, which the receiver cannot await, so start-up fails."""
    return True


class AsyncVerifyMethod:
    """Its verify method is async, so start-up fails."""

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        return True
