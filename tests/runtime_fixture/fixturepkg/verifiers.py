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
